"""Which store errors mean "try again later", not "this mail is bad" (store.db.is_store_unavailable, issue 15)."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import IntegrityError, OperationalError

from store.db import is_store_unavailable


class _DriverOperationalError(Exception):
    """Stands for psycopg.OperationalError: only its class name is looked at."""


_DriverOperationalError.__name__ = "OperationalError"


def test_a_connection_the_server_closed_counts_as_the_store_being_away() -> None:
    error = OperationalError("SELECT 1", {}, _DriverOperationalError("server closed the connection unexpectedly"))
    assert is_store_unavailable(error)


def test_a_bare_driver_error_for_a_refused_connection_counts_as_the_store_being_away() -> None:
    assert is_store_unavailable(_DriverOperationalError("connection refused"))


def test_a_locked_sqlite_database_counts_as_the_store_being_busy() -> None:
    assert is_store_unavailable(sqlite3.OperationalError("database is locked"))


def test_a_duplicate_key_is_the_data_s_problem_not_the_store_s() -> None:
    assert not is_store_unavailable(IntegrityError("INSERT", {}, Exception("duplicate key")))


def test_a_bug_in_our_code_is_not_the_store_being_away() -> None:
    assert not is_store_unavailable(KeyError("missing"))
