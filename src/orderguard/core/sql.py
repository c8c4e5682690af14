"""SQL that differs per database engine, used by migrations."""

from __future__ import annotations

from django.db.migrations.operations.base import Operation
from django.db.migrations.operations.special import RunSQL


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
