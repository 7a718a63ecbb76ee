"""The dashboard's orders list: search by a channel's order reference and the start
of the ship-to name, and the flag filters newest first. Built concurrently:
orders keep coming in while a big orders table is indexed."""

import django.contrib.postgres.indexes
import django.db.models.fields.json
import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0007_order_delivered_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=models.Q(("external_id__isnull", False)),
                fields=["external_id"],
                name="order_external_id_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Lower(
                        django.db.models.fields.json.KeyTextTransform("name", "shipping_address")
                    ),
                    name="text_pattern_ops",
                ),
                name="order_ship_name_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=models.Q(("is_vip", True)), fields=["-id"], name="order_vip_recent_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=models.Q(("is_gift", True)), fields=["-id"], name="order_gift_recent_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=models.Q(("is_replacement", True)),
                fields=["-id"],
                name="order_replacement_recent_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=models.Q(("payment_terms_days__isnull", False)),
                fields=["-id"],
                name="order_account_recent_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=models.Q(("hold_reason__startswith", "Credit limit:"), ("status", "on_hold")),
                fields=["-id"],
                name="order_credit_hold_recent_idx",
            ),
        ),
    ]
