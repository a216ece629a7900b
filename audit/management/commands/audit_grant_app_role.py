"""``manage.py audit_grant_app_role ROLE [--create [--password-env VAR]]``: the application's database role.

audit.md, "Immutability in the database": on PostgreSQL the application connects as a role that does not own the
audit tables and has no UPDATE or DELETE on them; migrations run as the owner. Run this as the owner (the role
``migrate`` runs as), after ``migrate``, and again after every later migration:

- ``CONNECT`` on the database and ``USAGE`` on the schema;
- on the append-only audit tables (:data:`audit.immutability.APPEND_ONLY_TABLES`, django-auditlog's included)
  ``SELECT`` and ``INSERT`` only;
- on :data:`audit.immutability.MUTABLE_AUDIT_TABLES` (the head row every append updates, the checkpoint mutex
  locked ``FOR UPDATE``) ``SELECT``, ``INSERT`` and ``UPDATE``;
- on every other table ``SELECT``, ``INSERT``, ``UPDATE`` and ``DELETE``; never ``TRUNCATE``, ``REFERENCES`` or
  ``TRIGGER``;
- ``USAGE`` and ``SELECT`` on every sequence (``nextval``, not ``setval``);
- default privileges, so tables and sequences that later migrations create are usable before the next run.

Existing privileges of the role on these tables are revoked first, so every run leaves exactly this set. The
command refuses a superuser, the owner itself or a member of the owner role (they would bypass the point), and
checks afterwards that the role can neither update, delete nor truncate any audit table.
"""

from __future__ import annotations

import os
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from psycopg import sql

from audit.immutability import APPEND_ONLY_TABLES, MUTABLE_AUDIT_TABLES

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

APPEND_ONLY_PRIVILEGES = ("SELECT", "INSERT")
MUTABLE_AUDIT_PRIVILEGES = ("SELECT", "INSERT", "UPDATE")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT")


def _privileges(names: tuple[str, ...]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(name) for name in names)


class Command(BaseCommand):
    """Create (if asked) and grant the restricted role the application runs as on PostgreSQL."""

    help = (
        "Grant ROLE what the application needs on PostgreSQL: SELECT and INSERT only on the audit tables. "
        "Run as the owner of the tables, after migrate, and again after every migration."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """ROLE; ``--create`` to create it as a login role; ``--password-env`` names the variable with its password."""
        parser.add_argument("role", help="The login role the application connects as (lowercase, no quotes).")
        parser.add_argument("--create", action="store_true", help="Create the role (LOGIN) first.")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="With --create: the environment variable holding the role's password (sent SCRAM-hashed).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The database alias (default: default).")

    def handle(self, *args: Any, **options: Any) -> None:
        """Validate, then create and grant in one transaction, and check the result before committing."""
        alias: str = options["database"]
        connection = connections[alias]
        if connection.vendor != "postgresql":
            raise CommandError(
                f"audit_grant_app_role is for PostgreSQL; this database is {connection.vendor}. On SQLite the "
                "triggers alone make the audit tables append-only."
            )
        role: str = options["role"]
        if not ROLE_NAME.match(role):
            raise CommandError(f"{role!r} is not a plain role name (lowercase letters, digits, '_').")
        password: str | None = None
        if options["password_env"]:
            if not options["create"]:
                raise CommandError("--password-env goes with --create; change an existing role's password in psql.")
            password = os.environ.get(options["password_env"])
            if not password:
                raise CommandError(f"the environment variable {options['password_env']} is not set or empty.")

        with transaction.atomic(using=alias, durable=True), connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_schema(), current_database()")
            owner, schema, database = cursor.fetchone()
            if role == owner:
                raise CommandError(f"{role} is the role this command runs as: the application must use another.")
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
            found = cursor.fetchone()
            if options["create"]:
                if found is not None:
                    raise CommandError(f"role {role} exists already; run without --create to grant again.")
                self._create(connection, cursor, role, password)
            elif found is None:
                raise CommandError(f"role {role} does not exist; pass --create to create it.")
            elif found[0]:
                raise CommandError(f"{role} is a superuser: privileges do not bind it. Use a plain login role.")

            cursor.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = %s", [schema])
            tables = dict(cursor.fetchall())
            audit_tables = (*APPEND_ONLY_TABLES, *MUTABLE_AUDIT_TABLES)
            missing = [t for t in audit_tables if t not in tables]
            if missing:
                raise CommandError(f"tables {', '.join(missing)} do not exist in schema {schema}: run migrate first.")
            for table in audit_tables:
                cursor.execute("SELECT pg_has_role(%s, %s, 'USAGE')", [role, tables[table]])
                if cursor.fetchone()[0]:
                    raise CommandError(f"{role} owns {table} (or is a member of its owner {tables[table]}).")
                cursor.execute("SELECT pg_has_role(current_user, %s, 'USAGE')", [tables[table]])
                if not cursor.fetchone()[0]:
                    raise CommandError(f"{table} belongs to {tables[table]}: run this command as that role.")

            grantee = sql.Identifier(role)
            cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), grantee))
            cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), grantee))
            for table in sorted(tables):
                privileges: tuple[str, ...]
                if table in APPEND_ONLY_TABLES:
                    privileges = APPEND_ONLY_PRIVILEGES
                elif table in MUTABLE_AUDIT_TABLES:
                    privileges = MUTABLE_AUDIT_PRIVILEGES
                else:
                    privileges = TABLE_PRIVILEGES
                name = sql.Identifier(schema, table)
                cursor.execute(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(name, grantee))
                cursor.execute(sql.SQL("GRANT {} ON TABLE {} TO {}").format(_privileges(privileges), name, grantee))
            cursor.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = %s", [schema])
            sequences = [row[0] for row in cursor.fetchall()]
            for sequence in sequences:
                name = sql.Identifier(schema, sequence)
                cursor.execute(sql.SQL("REVOKE ALL ON SEQUENCE {} FROM {}").format(name, grantee))
                cursor.execute(
                    sql.SQL("GRANT {} ON SEQUENCE {} TO {}").format(_privileges(SEQUENCE_PRIVILEGES), name, grantee)
                )
            cursor.execute(
                sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT {} ON TABLES TO {}").format(
                    sql.Identifier(schema), _privileges(TABLE_PRIVILEGES), grantee
                )
            )
            cursor.execute(
                sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT {} ON SEQUENCES TO {}").format(
                    sql.Identifier(schema), _privileges(SEQUENCE_PRIVILEGES), grantee
                )
            )
            self._check(cursor, role, schema)

        self.stdout.write(
            self.style.SUCCESS(
                f"{role}: SELECT, INSERT on {len(APPEND_ONLY_TABLES)} append-only audit tables; "
                f"SELECT, INSERT, UPDATE on {len(MUTABLE_AUDIT_TABLES)} mutable audit tables; "
                f"SELECT, INSERT, UPDATE, DELETE on {len(tables) - len(audit_tables)} other tables; "
                f"USAGE, SELECT on {len(sequences)} sequences in {database}.{schema}. "
                "Run again after every migrate."
            )
        )

    def _create(self, connection: Any, cursor: Any, role: str, password: str | None) -> None:
        """CREATE ROLE ... LOGIN, with the password SCRAM-hashed by libpq so the clear text reaches no log."""
        statement = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS").format(
            sql.Identifier(role)
        )
        if password is not None:
            verifier = connection.connection.pgconn.encrypt_password(
                password.encode("utf-8"), role.encode("utf-8"), b"scram-sha-256"
            )
            statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(verifier.decode("ascii")))
        cursor.execute(statement)

    def _check(self, cursor: Any, role: str, schema: str) -> None:
        """Refuse to commit if the role could still change history (through PUBLIC or a role it belongs to)."""
        for table in APPEND_ONLY_TABLES:
            for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
                cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, f"{schema}.{table}", privilege])
                if cursor.fetchone()[0]:
                    raise CommandError(
                        f"{role} still has {privilege} on {table} (granted to PUBLIC or to a role it is a member "
                        "of); revoke that first."
                    )
