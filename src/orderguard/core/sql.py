"""SQL that differs per database engine, used by migrations, and a lookup that writes its
values into the SQL so that partial indexes can be matched."""

from __future__ import annotations

import json
import re
from typing import Any

from django.db import models
from django.db.migrations.operations.base import Operation
from django.db.migrations.operations.special import RunSQL
from django.db.models.lookups import In, Lookup

_PLAIN = re.compile(r"^[a-z0-9_]+$")


@models.CharField.register_lookup
class InLiterals(In):
    """`field__in_literals=("a", "b")`: `IN ('a', 'b')` with the values in the SQL, not bound.

    For filters that must match a partial index's predicate: SQLite uses a partial index only
    when the query's WHERE contains the predicate's terms as written, and a bound parameter is
    not matched against the index's literals. Only plain choice values (lower-case letters,
    digits, underscores) are accepted, so nothing from outside reaches the SQL text; give them
    in the order the index's condition lists them.
    """

    lookup_name = "in_literals"

    def process_rhs(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        values = list(self.rhs)
        if not values or not all(isinstance(v, str) and _PLAIN.match(v) for v in values):
            raise ValueError(f"in_literals takes plain choice values, got {values!r}")
        return "(" + ", ".join(f"'{v}'" for v in values) + ")", []


class InIds(Lookup):
    """`field__in_ids=[1, 2, ...]`: the field is one of these integer keys, the whole list
    bound as ONE value: ``= ANY(%s::bigint[])`` on PostgreSQL, ``IN (SELECT value FROM
    json_each(%s))`` on SQLite. For the thousands of keys a batch works on (the stock re-check,
    H1): a plain `__in` binds one value per key, which Django prepares one by one and the
    database parses one by one (a large share of a round's time at 5,000 keys), and which
    SQLite caps at its limit of bound values. Both forms use the column's index.
    """

    lookup_name = "in_ids"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[int]:
        return [int(v) for v in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", [*params, self.rhs]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*params, json.dumps(self.rhs)]


models.IntegerField.register_lookup(InIds)
models.ForeignKey.register_lookup(InIds)


class JsonKeyText(models.Func):
    """`JsonKeyText("data", "step")`: the text of a JSON field's top-level key, with the key
    written into the SQL (``json_extract("data", '$.step')`` on SQLite, ``("data" ->> 'step')``
    on PostgreSQL), so that an index on the same expression is matched: SQLite matches an
    expression index only against the expression as written, not one with a bound path. The
    key is a plain name (lower-case letters, digits, underscores)."""

    output_field = models.CharField()

    def __init__(self, field: str, key: str) -> None:
        if not _PLAIN.match(key):
            raise ValueError(f"JsonKeyText takes a plain key, got {key!r}")
        self.key = key
        super().__init__(models.F(field))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"({sql} ->> '{self.key}')", params
        return f"json_extract({sql}, '$.{self.key}')", params


def append_only_trigger(table: str) -> Operation:
    """A trigger that makes the database itself refuse UPDATE of an event table.

    DELETE stays possible at the SQL level (test teardown and retention jobs flush tables); the
    ORM refuses it. Works on SQLite and PostgreSQL; other engines get no trigger.
    """
    name = f"{table}_append_only"
    sqlite = (
        f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
    )
    postgres = (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
        f"RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql; "
        f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();"
    )

    class AppendOnlyTrigger(RunSQL):
        def database_forwards(self, app_label, schema_editor, from_state, to_state):
            vendor = schema_editor.connection.vendor
            sql = {"sqlite": sqlite, "postgresql": postgres}.get(vendor)
            if sql:
                schema_editor.execute(sql)

        def database_backwards(self, app_label, schema_editor, from_state, to_state):
            vendor = schema_editor.connection.vendor
            if vendor == "sqlite":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")
            elif vendor == "postgresql":
                schema_editor.execute(
                    f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}();"
                )

    return AppendOnlyTrigger(sql="", reverse_sql="")


# Rows SQLite samples per index when it gathers statistics: enough for the planner to tell a
# selective index from a poor one, and quick (well under a second) at millions of rows.
SQLITE_ANALYSIS_LIMIT = 1000


def database_analyze(*, using: str = "default") -> bool:
    """Refresh the planner's statistics on SQLite (`ANALYZE`, sampled); returns whether it ran.

    SQLite keeps no statistics by itself, and without them it may start the work queue from the
    wrong index and sort every open case (seconds at a million cases instead of milliseconds).
    PostgreSQL's autovacuum gathers its own: nothing to do there.
    """
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
    return True
