"""Indexes for order search and the newest-first listing (orders.selectors.orders_search).

`phone_tail` is a stored generated column: adding it fills it for every existing order.
"""

import django.db.models.functions.text
from django.db import migrations, models

LISTING = "order_merchant_paid_idx"
# staff list every merchant's orders newest first: without it, a sort of the whole table
STAFF_LISTING = "order_paid_idx"
PREFIX = "order_merchant_poid_prefix_idx"


class EngineIndexes(migrations.RunSQL):
    """Indexes Django cannot declare for both engines: ``NULLS LAST`` in an index (SQLite has
    no such clause, but sorts NULL lowest so plain DESC is the same order) and PostgreSQL's
    ``varchar_pattern_ops``, which lets ``LIKE 'prefix%'`` use the index under any collation."""

    def __init__(self) -> None:
        super().__init__(sql="", reverse_sql="")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(
                f"CREATE INDEX {LISTING} ON orders_order (merchant_id, paid_at DESC NULLS LAST, id DESC)"
            )
            schema_editor.execute(
                f"CREATE INDEX {STAFF_LISTING} ON orders_order (paid_at DESC NULLS LAST, id DESC)"
            )
            schema_editor.execute(
                f"CREATE INDEX {PREFIX} ON orders_order (merchant_id, platform_order_id varchar_pattern_ops)"
            )
        elif vendor == "sqlite":
            schema_editor.execute(
                f"CREATE INDEX {LISTING} ON orders_order (merchant_id, paid_at DESC, id DESC)"
            )
            schema_editor.execute(f"CREATE INDEX {STAFF_LISTING} ON orders_order (paid_at DESC, id DESC)")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        schema_editor.execute(f"DROP INDEX IF EXISTS {LISTING}")
        schema_editor.execute(f"DROP INDEX IF EXISTS {STAFF_LISTING}")
        schema_editor.execute(f"DROP INDEX IF EXISTS {PREFIX}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_order_anonymised_at")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="phone_tail",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Right("phone_normalised", 4),
                output_field=models.CharField(blank=True, max_length=4),
                verbose_name="电话后四位",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["merchant", "phone_tail"], name="order_merchant_phone_tail_idx"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["merchant", "recipient_name"], name="order_merchant_recipient_idx"),
        ),
        migrations.AddIndex(
            model_name="orderline",
            index=models.Index(fields=["sku_code", "order"], name="orderline_sku_code_idx"),
        ),
        EngineIndexes(),
    ]
