"""Database triggers that make audit tables append-only (audit.md, "Immutability in the database").

Used by migrations; kept here so that tests and the tamper drills can name the same tables and triggers.
"""

from __future__ import annotations

from typing import Any

APPEND_ONLY_TABLES = (
    "audit_auditentry",
    "audit_treenode",
    "audit_checkpoint",
    "audit_signingkeyrecord",
    "auditlog_logentry",
    "audit_auditfacet",
)

# Audit tables the application must be able to change: the head row is updated by every append, the mutex row
# is locked FOR UPDATE while a checkpoint is signed. Neither holds history. Used by ``audit_grant_app_role``.
MUTABLE_AUDIT_TABLES = (
    "audit_audithead",
    "audit_checkpointmutex",
)


def _pg_statements(table: str) -> list[str]:
    return [
        f"""
        CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
        """,
        f"""
        CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
        """,
    ]


PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def _sqlite_statements(table: str) -> list[str]:
    return [
        f"""
        CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, 'audit tables are append-only: UPDATE on {table} refused'); END;
        """,
        f"""
        CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, 'audit tables are append-only: DELETE on {table} refused'); END;
        """,
    ]


def install(schema_editor: Any, tables: tuple[str, ...]) -> None:
    """Create the triggers on ``tables`` for the connection's database (PostgreSQL or SQLite)."""
    vendor = schema_editor.connection.vendor
    statements: list[str] = []
    if vendor == "postgresql":
        statements.append(PG_FUNCTION)
        for table in tables:
            statements.extend(_pg_statements(table))
    elif vendor == "sqlite":
        for table in tables:
            statements.extend(_sqlite_statements(table))
    else:
        raise RuntimeError(f"append-only triggers are not written for {vendor}")
    for statement in statements:
        schema_editor.execute(statement, params=None)


def remove(schema_editor: Any, tables: tuple[str, ...]) -> None:
    vendor = schema_editor.connection.vendor
    for table in tables:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
