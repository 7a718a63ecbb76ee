# The stock ledger is the largest table and takes writes from every order:
# the index is built CONCURRENTLY so intake is not blocked while it builds.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("inventory", "0006_bins_safety_stock_alerts"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="stockmovement",
            index=models.Index(
                condition=models.Q(("kind__in", ["allocate", "deallocate"])),
                fields=["sku", "warehouse", "created_at"],
                name="movement_demand_idx",
            ),
        ),
    ]
