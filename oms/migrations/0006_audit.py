"""The audit trail (oms.models_audit.AuditEntry), append-only in the database.

A trigger refuses every UPDATE and DELETE of an entry, from the application or
from raw SQL, but one: deleting a user makes Django set `user_id` to NULL on
their entries (on_delete=SET_NULL), and an UPDATE that changes nothing else is
let through (the username copied in the entry still says who it was).

Retention is not built. It would be a job run by a privileged role, in one
transaction: `SET LOCAL session_replication_role = replica` (skips ordinary
triggers for that transaction only; needs a superuser) or `ALTER TABLE
oms_auditentry DISABLE TRIGGER oms_auditentry_append_only` (the table's
owner; locks the table until commit), then `DELETE ... WHERE at < <cut-off>`,
then `ENABLE TRIGGER`. For the trail to hold against the application itself,
the application should connect as a role that does not own the table (an owner
can disable the trigger, and row triggers do not see TRUNCATE).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

APPEND_ONLY = """
CREATE FUNCTION oms_auditentry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.user_id IS NOT NULL AND NEW.user_id IS NULL
       AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only: % of oms_auditentry refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER oms_auditentry_append_only BEFORE UPDATE OR DELETE ON oms_auditentry
    FOR EACH ROW EXECUTE FUNCTION oms_auditentry_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER oms_auditentry_append_only ON oms_auditentry;
DROP FUNCTION oms_auditentry_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("oms", "0005_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                (
                    "username",
                    models.CharField(
                        blank=True,
                        help_text="As it was at the time; for a failed sign-in, the name tried.",
                        max_length=150,
                    ),
                ),
                (
                    "roles",
                    models.JSONField(
                        blank=True, default=list, help_text="Role codes (oms.roles) at the time."
                    ),
                ),
                ("address", models.GenericIPAddressField(blank=True, null=True)),
                ("user_agent", models.CharField(blank=True, max_length=300)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("request", "Request"),
                            ("login", "Sign-in"),
                            ("login_failed", "Failed sign-in"),
                            ("logout", "Sign-out"),
                        ],
                        max_length=16,
                    ),
                ),
                ("method", models.CharField(blank=True, max_length=8)),
                ("path", models.CharField(blank=True, max_length=500)),
                (
                    "url_name",
                    models.CharField(blank=True, help_text="The resolved URL name.", max_length=120),
                ),
                (
                    "target_type",
                    models.CharField(
                        blank=True,
                        help_text="Model label of the object acted on, e.g. orders.order.",
                        max_length=64,
                    ),
                ),
                ("target_id", models.CharField(blank=True, max_length=64)),
                (
                    "status",
                    models.PositiveSmallIntegerField(
                        blank=True, help_text="HTTP status of the answer.", null=True
                    ),
                ),
                (
                    "submitted",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text="What was submitted, secrets redacted, capped at about 4 KB.",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "audit entries",
                "ordering": ["-at", "-id"],
                "indexes": [
                    models.Index(fields=["username", "-at"], name="audit_username_idx"),
                    models.Index(fields=["target_type", "target_id", "-at"], name="audit_target_idx"),
                ],
            },
        ),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
