from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION inventory_stockmovement_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'stock movements are append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER inventory_stockmovement_append_only
BEFORE UPDATE OR DELETE ON inventory_stockmovement
FOR EACH ROW EXECUTE FUNCTION inventory_stockmovement_forbid_change();
"""

ALLOW = """
DROP TRIGGER IF EXISTS inventory_stockmovement_append_only ON inventory_stockmovement;
DROP FUNCTION IF EXISTS inventory_stockmovement_forbid_change();
"""


class Migration(migrations.Migration):
    """The stock ledger is append-only: corrections are new movements."""

    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunSQL(FORBID, ALLOW)]
