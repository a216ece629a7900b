"""The configuration token: one value that changes with every change to policy data or the holder directory.

Web processes keep what they build from that data (the policy snapshot, the holder directory) under the token they
read, and read the token once per request (:func:`consent.selectors.configuration_token`): a change in any process,
or in plain SQL, is seen by every process on its next request. The token is set by database triggers installed by
the migrations, in the transaction of the change (:class:`consent.models.ConfigurationState`).
"""

from __future__ import annotations

from typing import Any

# The tables :func:`consent.selectors.policy_snapshot_build` reads.
POLICY_TABLES = (
    "consent_sector",
    "consent_organisation",
    "consent_datacategory",
    "consent_categoryfield",
    "consent_purpose",
    "consent_legalbasis",
    "consent_sharingrule",
    "consent_sharingrule_categories",
    "consent_sharingrule_purposes",
)

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION consent_configuration_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE consent_configurationstate SET token = md5(random()::text || clock_timestamp()::text || txid_current()::text)
    WHERE id = 1;
    RETURN NULL;
END;
$$;
"""


def _pg_statements(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_configuration_touch ON {table}",
        f"""
        CREATE TRIGGER {table}_configuration_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION consent_configuration_touch()
        """,
    ]


def _sqlite_statements(table: str) -> list[str]:
    statements = []
    for operation in ("INSERT", "UPDATE", "DELETE"):
        name = f"{table}_configuration_touch_{operation.lower()}"
        statements += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"""
            CREATE TRIGGER {name} AFTER {operation} ON {table}
            BEGIN UPDATE consent_configurationstate SET token = lower(hex(randomblob(16))) WHERE id = 1; END
            """,  # noqa: S608  # table names from this module's constants, never from input
        ]
    return statements


def install(schema_editor: Any, tables: tuple[str, ...]) -> None:
    """Make every change to ``tables`` set a fresh configuration token (used by migrations)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
        statements = [s for table in tables for s in _pg_statements(table)]
    elif vendor == "sqlite":
        statements = [s for table in tables for s in _sqlite_statements(table)]
    else:
        raise NotImplementedError(f"no configuration-token triggers for {vendor}")
    for statement in statements:
        schema_editor.execute(statement)


def remove(schema_editor: Any, tables: tuple[str, ...]) -> None:
    """Drop the triggers :func:`install` made."""
    vendor = schema_editor.connection.vendor
    for table in tables:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_configuration_touch ON {table}")
        else:
            for operation in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_configuration_touch_{operation}")
