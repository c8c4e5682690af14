"""Fast batch writes for the import path.

Django's `bulk_create` prepares every value through the full field machinery and
`bulk_update` builds one CASE expression per row and field; on 100k orders that is most of the
time. These two helpers keep the same types and adaptation rules (each field's own
`get_db_prep_save` for anything that is not a plain value, the backend's adapters for datetimes
and JSON) with a fraction of the work:

- `reserve_ids(model, n)` hands out primary keys before the rows exist, so an order, its lines,
  its stock movements and its cases can all be built in memory and written once, in any order
  (foreign keys are checked at commit: Django creates them DEFERRABLE INITIALLY DEFERRED on
  SQLite and PostgreSQL).
- `insert(objs)` writes model instances with one `executemany`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import connection, models
from django.utils import timezone

Adapter = Callable[[Any], Any]


def _sqlite_datetime(value: datetime | None) -> str | None:
    """What Django's SQLite backend stores for an aware datetime with USE_TZ: naive UTC text."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys of `model`'s table. Must run inside the transaction that
    inserts them: on SQLite that transaction holds the write lock (IMMEDIATE mode), so nobody
    else can take the same keys; on PostgreSQL the keys come from the table's sequence."""
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk
    assert pk is not None
    column = pk.column
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return [row[0] for row in cur.fetchall()]
        if connection.vendor == "sqlite":
            if not connection.in_atomic_block:
                raise RuntimeError("reserve_ids needs the transaction that inserts the rows")
            cur.execute(f'SELECT COALESCE(MAX("{column}"), 0) FROM "{table}"')
            highest = cur.fetchone()[0]
            cur.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [table])
            highest = max(highest, cur.fetchone()[0])
            return list(range(highest + 1, highest + 1 + count))
    raise NotImplementedError(f"reserve_ids on {connection.vendor}")


@cache
def _plan(
    model: type[models.Model], vendor: str, with_pk: bool
) -> tuple[str, list[tuple[str, Adapter | None]]]:
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    ops = connection.ops
    plan: list[tuple[str, Adapter | None]] = []
    for f in fields:
        adapter: Adapter | None
        target = getattr(f, "target_field", f) if f.is_relation else f
        if isinstance(f, models.DateTimeField):
            adapter = None if vendor == "postgresql" else _sqlite_datetime
        elif isinstance(f, models.DateField):
            adapter = ops.adapt_datefield_value
        elif isinstance(f, models.JSONField):
            adapt_json = ops.adapt_json_value
            encoder = f.encoder

            def adapter(value: Any, _adapt: Any = adapt_json, _encoder: Any = encoder) -> Any:
                return None if value is None else _adapt(value, _encoder)

        elif isinstance(
            target, (models.CharField, models.TextField, models.IntegerField, models.BooleanField)
        ):
            # plain values (and keys of integer primary keys) go through the driver as they are
            adapter = None
        else:

            def adapter(value: Any, _field: models.Field = f) -> Any:
                return _field.get_db_prep_save(value, connection)

        plan.append((f.attname, adapter))
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({marks})"
    return sql, plan


def insert(objs: Sequence[models.Model]) -> None:
    """Insert model instances of one model in one `executemany`; with primary keys when the
    instances have them (from `reserve_ids`), else the database assigns them (and the instances
    do not learn them). `auto_now`/`auto_now_add` fields are filled as `save()` would."""
    if not objs:
        return
    model = type(objs[0])
    with_pk = objs[0].pk is not None
    sql, plan = _plan(model, connection.vendor, with_pk)
    always = [f.attname for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    if_empty = [f.attname for f in model._meta.concrete_fields if getattr(f, "auto_now_add", False)]
    now = timezone.now()
    rows = []
    for obj in objs:
        for name in always:
            setattr(obj, name, now)
        for name in if_empty:
            if getattr(obj, name) is None:
                setattr(obj, name, now)
        rows.append(
            [getattr(obj, name) if adapt is None else adapt(getattr(obj, name)) for name, adapt in plan]
        )
    with connection.cursor() as cur:
        cur.executemany(sql, rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
