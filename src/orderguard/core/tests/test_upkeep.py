"""Upkeep jobs: SQLite gets fresh planner statistics (PostgreSQL is left to autovacuum); expired
sessions are deleted."""

from __future__ import annotations

import pytest
from django.db import connection

from orderguard.cases.tests.factories import ExceptionCaseFactory
from orderguard.core.sql import database_analyze
from orderguard.monitoring.tasks import database_statistics

pytestmark = pytest.mark.django_db


def _stat_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return set()
        cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        return {row[0] for row in cursor.fetchall()}


def test_on_sqlite_the_cases_table_gets_statistics():
    if connection.vendor != "sqlite":
        pytest.skip("statistics are gathered by PostgreSQL's autovacuum")
    ExceptionCaseFactory.create_batch(3)
    assert "cases_exceptioncase" not in _stat_tables()

    assert database_analyze() is True

    assert "cases_exceptioncase" in _stat_tables()


def test_on_postgresql_nothing_runs():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    assert database_analyze() is False


def test_the_hourly_job_runs_the_analysis():
    if connection.vendor != "sqlite":
        pytest.skip("statistics are gathered by PostgreSQL's autovacuum")
    ExceptionCaseFactory()
    database_statistics.call_local()
    assert "cases_exceptioncase" in _stat_tables()


def test_expired_sessions_and_the_searches_they_hold_are_deleted():
    from datetime import timedelta

    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from orderguard.monitoring.tasks import sessions_clear_expired

    live, old = SessionStore(), SessionStore()
    live["search"] = old["search"] = "张三"
    live.create()
    old.create()
    Session.objects.filter(session_key=old.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    sessions_clear_expired.call_local()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
