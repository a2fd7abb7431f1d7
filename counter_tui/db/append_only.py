"""Append-only guards: database triggers that reject UPDATE and DELETE on fact tables.

Facts are inserted, never changed (人事档案 regulation: materials may be added, never removed or
altered; corrections are new 认定 materials referencing the old one). The rule is enforced by
the database itself, on SQLite (BEFORE UPDATE/DELETE triggers raising ABORT) and PostgreSQL
(a trigger function raising an exception, plus a TRUNCATE guard), so no code path — ours, a
script or a hand-typed SQL statement — can change a fact quietly.
"""

from __future__ import annotations

APPEND_ONLY_TABLES = (
    "material",
    "page",
    "certificate",
    "service_event",
    "access_event",
    "custody_event",
    "consultation",
    "certificate_event",
    "signing_key_list",
    "chain_checkpoint",
)
ERROR_MARK = "append-only"
PG_FUNCTION = "counter_tui_append_only"


def sqlite_create(table: str) -> list[str]:
    """SQLite DDL creating the two guard triggers of ``table``."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_append_only_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is {ERROR_MARK}: {op} is not allowed'); END"
        for op in ("UPDATE", "DELETE")
    ]


def sqlite_drop(table: str) -> list[str]:
    """SQLite DDL dropping the guard triggers of ``table``."""
    return [f"DROP TRIGGER IF EXISTS {table}_append_only_{op}" for op in ("update", "delete")]


def postgresql_function() -> str:
    """PostgreSQL DDL of the shared trigger function."""
    return (
        f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '% is {ERROR_MARK}: % is not allowed', TG_TABLE_NAME, TG_OP "
        f"USING ERRCODE = 'integrity_constraint_violation'; END $$"
    )


def postgresql_create(table: str) -> list[str]:
    """PostgreSQL DDL creating the guard triggers of ``table``."""
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
        f"CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()",
    ]


def postgresql_drop(table: str) -> list[str]:
    """PostgreSQL DDL dropping the guard triggers of ``table``."""
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_append_only_truncate ON {table}",
    ]


def create_statements(dialect: str, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> list[str]:
    """All guard DDL for ``dialect`` ("sqlite" or "postgresql") on ``tables``.

    A migration passes its own frozen tuple: a table guarded later gets its own migration.
    """
    if dialect == "sqlite":
        return [sql for t in tables for sql in sqlite_create(t)]
    return [postgresql_function()] + [sql for t in tables for sql in postgresql_create(t)]


def drop_statements(dialect: str, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> list[str]:
    """All DDL removing the guards of ``tables`` for ``dialect`` (downgrades, tamper tests)."""
    if dialect == "sqlite":
        return [sql for t in tables for sql in sqlite_drop(t)]
    return [sql for t in tables for sql in postgresql_drop(t)] + [
        f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()"
    ]


def is_append_only_violation(exc: BaseException) -> bool:
    """Whether a database error was raised by one of the guards."""
    return ERROR_MARK in str(exc)
