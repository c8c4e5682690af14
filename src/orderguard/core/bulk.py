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
- `insert(objs)` writes model instances with one `executemany` (SQLite) or one `COPY`
  (PostgreSQL).
- `new(model, **values)` makes an instance without `Model.__init__` (which walks every field
  and sends signals; the project has no pre/post-init receivers): same attributes, a tenth of
  the time.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from operator import attrgetter
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models.base import ModelState
from django.utils import timezone

Adapter = Callable[[Any], Any]
M = TypeVar("M", bound=models.Model)


def _sqlite_datetime(value: datetime | None) -> str | None:
    """What Django's SQLite backend stores for an aware datetime with USE_TZ: naive UTC text."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value)


@cache
def _blueprint(
    model: type[models.Model],
) -> tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]], dict[str, str]]:
    static: dict[str, Any] = {}
    dynamic: list[tuple[str, Callable[[], Any]]] = []
    relations: dict[str, str] = {}
    for f in model._meta.concrete_fields:
        if f.is_relation:
            relations[f.name] = f.attname
        if f.has_default() and callable(f.default):
            dynamic.append((f.attname, f.default))
        else:
            static[f.attname] = f.get_default()
    return static, dynamic, relations


def new(model: type[M], **values: Any) -> M:
    """An unsaved instance of `model` with field defaults and `values` (attnames such as
    ``order_id``, or relation names such as ``order`` given an instance)."""
    static, dynamic, relations = _blueprint(model)
    pk_name = model._meta.pk.attname
    obj = model.__new__(model)
    state = obj.__dict__
    state.update(static)
    for name, factory in dynamic:
        state[name] = factory()
    state["_state"] = ModelState()
    for key, value in values.items():
        if key == "pk":
            key = pk_name
        attname = relations.get(key)
        if attname is not None and attname != key:
            state[attname] = None if value is None else value.pk
            if value is not None:
                obj._state.fields_cache[key] = value
        else:
            state[key] = value
    return obj


def loaded(model: type[M], names: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[M]:
    """Saved instances of `model` from rows of `values_list(*names)` (attnames), as Django's
    `only(*names)` would give them (the other fields deferred: read from the database if
    touched) without `Model.__init__`: for the tens of thousands of orders and lines a stock
    re-check reads (H1)."""
    alias = connection.alias
    for row in rows:
        obj = model.__new__(model)
        state = ModelState()
        state.adding = False
        state.db = alias
        obj.__dict__.update(zip(names, row, strict=True))
        obj.__dict__["_state"] = state
        yield obj


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
    # wrap_database_errors: COPY is psycopg's own API, so its errors would otherwise escape
    # Django's exception classes (IntegrityError, DataError) that callers catch.
    with connection.wrap_database_errors, connection.cursor() as cur:
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


def _adapter(f: models.Field, vendor: str) -> Adapter | None:
    """How a Python value of field `f` is handed to the driver (None: as it is)."""
    ops = connection.ops
    target = getattr(f, "target_field", f) if f.is_relation else f
    if isinstance(f, models.DateTimeField):
        return None if vendor == "postgresql" else _sqlite_datetime
    if isinstance(f, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(f, models.JSONField):
        adapt_json = ops.adapt_json_value
        encoder = f.encoder

        def adapt(value: Any) -> Any:
            return None if value is None else adapt_json(value, encoder)

        return adapt
    if isinstance(target, (models.CharField, models.TextField, models.IntegerField, models.BooleanField)):
        # plain values (and keys of integer primary keys) go through the driver as they are
        return None

    def prep(value: Any) -> Any:
        return f.get_db_prep_save(value, connection)

    return prep


@cache
def _plan(
    model: type[models.Model], vendor: str, with_pk: bool
) -> tuple[str, str, list[tuple[str, Adapter | None]]]:
    # generated columns are the database's to write (INSERT naming one is an error)
    fields = [f for f in model._meta.concrete_fields if (with_pk or not f.primary_key) and not f.generated]
    plan = [(f.attname, _adapter(f, vendor)) for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})", f"COPY {table} ({columns}) FROM STDIN", plan


@cache
def _update_plan(
    model: type[models.Model], vendor: str, names: tuple[str, ...]
) -> tuple[str, list[tuple[str, Adapter | None]]]:
    by_name = {f.attname: f for f in model._meta.concrete_fields} | {
        f.name: f for f in model._meta.concrete_fields
    }
    fields = [by_name[n] for n in names]
    auto = [f for f in model._meta.concrete_fields if getattr(f, "auto_now", False) and f not in fields]
    fields += auto
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {quote(pk.column)} = %s"
    return sql, [(f.attname, _adapter(f, vendor)) for f in fields]


def update(objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write `fields` of saved instances with one `executemany` of a plain UPDATE by primary
    key (Django's `bulk_update` builds a CASE per row and field: minutes for a few thousand
    rows). `auto_now` fields are set to now, which `bulk_update` does not do."""
    if not objs:
        return
    model = type(objs[0])
    sql, plan = _update_plan(model, connection.vendor, tuple(fields))
    now = timezone.now()
    auto = [name for name, _a in plan[len(fields) :]]
    rows = []
    for obj in objs:
        for name in auto:
            setattr(obj, name, now)
        row = [getattr(obj, n) if a is None else a(getattr(obj, n)) for n, a in plan]
        row.append(obj.pk)
        rows.append(row)
    with connection.wrap_database_errors, connection.cursor() as cur:
        cur.executemany(sql, rows)


def insert(objs: Sequence[models.Model]) -> None:
    """Insert model instances of one model in one `executemany`; with primary keys when the
    instances have them (from `reserve_ids`), else the database assigns them (and the instances
    do not learn them). `auto_now`/`auto_now_add` fields are filled as `save()` would."""
    if not objs:
        return
    model = type(objs[0])
    with_pk = objs[0].pk is not None
    sql, copy_sql, plan = _plan(model, connection.vendor, with_pk)
    always = [f.attname for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    if_empty = [f.attname for f in model._meta.concrete_fields if getattr(f, "auto_now_add", False)]
    now = timezone.now()
    names = [name for name, _adapt in plan]
    getter = attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))
    adapted = [(i, adapt) for i, (_name, adapt) in enumerate(plan) if adapt is not None]
    rows = []
    for obj in objs:
        for name in always:
            setattr(obj, name, now)
        for name in if_empty:
            if getattr(obj, name) is None:
                setattr(obj, name, now)
        row = list(getter(obj))
        for i, adapt in adapted:
            row[i] = adapt(row[i])
        rows.append(row)
    # wrap_database_errors: COPY is psycopg's own API, so its errors would otherwise escape
    # Django's exception classes (IntegrityError, DataError) that callers catch.
    with connection.wrap_database_errors, connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cur.executemany(sql, rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_rows(
    model: type[models.Model],
    *,
    common: Mapping[str, Any],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    """Insert rows of `model` without making instances, as `insert` would write them: `common`
    values (attnames) shared by every row and adapted once, `names` the attnames each of `rows`
    gives in that order; any other field takes its default (a callable one per row), an
    `auto_now`/`auto_now_add` one now. The database assigns the keys. For the tens of thousands
    of ledger and event rows one stock re-check writes (H1). Returns the number of rows."""
    sql, copy_sql, plan = _plan(model, connection.vendor, False)
    static, dynamic, _relations = _blueprint(model)
    factories = dict(dynamic)
    auto = {
        f.attname
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    }
    now = timezone.now()
    position = {name: i for i, (name, _adapt) in enumerate(plan)}
    varying = [(position[name], plan[position[name]][1]) for name in names]
    given = set(names)
    base: list[Any] = []
    per_row: list[tuple[int, Callable[[], Any], Adapter | None]] = []
    for i, (name, adapt) in enumerate(plan):
        if name in given:
            base.append(None)
            continue
        if name in common:
            value = common[name]
        elif name in auto:
            value = now
        elif name in factories:
            per_row.append((i, factories[name], adapt))
            base.append(None)
            continue
        else:
            value = static[name]
        base.append(value if adapt is None else adapt(value))
    prepared = []
    for values in rows:
        row = base.copy()
        for (i, adapt), value in zip(varying, values, strict=True):
            row[i] = value if adapt is None else adapt(value)
        for i, factory, adapt in per_row:
            value = factory()
            row[i] = value if adapt is None else adapt(value)
        prepared.append(row)
    if not prepared:
        return 0
    with connection.wrap_database_errors, connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.copy(copy_sql) as copy:
                for row in prepared:
                    copy.write_row(row)
        else:
            cur.executemany(sql, prepared)
    return len(prepared)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch builds and drops hundreds of thousands of
    small objects (rows, plans, findings): each collection walks every live object, a quarter
    of a 20,000-order stock re-check's time (H1). Reference counting still frees everything
    that is not a cycle; collection resumes (if it was on) when the block ends."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
