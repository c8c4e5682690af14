"""Project-wide test fixtures. Factories live in each app's tests/factories.py."""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
_RUN_LOCK: list[object] = []  # the open lock file, held for the whole run


def require_service(host: str, port: int, name: str) -> None:
    """Skip a test whose service is not running here; under CI a missing service fails it."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError:
        message = f"{name} is not reachable on {host}:{port}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """A second test run in the same var directory while one is going gets test databases of its
    own. Django recreates the test database when a run starts: the run already going keeps its
    open connection on the old SQLite file, but the new connections its threaded tests open (two
    people acting at once, two deadline scans) reach the new file, and fail on missing tables or
    rows. The first run holds `test-db.lock` and keeps the usual names (and `--reuse-db`)."""
    from django.conf import settings

    lock = open(settings.VAR_DIR / "test-db.lock", "a+")  # noqa: SIM115 - held until the run ends
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        for db in settings.DATABASES.values():
            test = db.setdefault("TEST", {})
            name = str(test.get("NAME") or f"test_{db['NAME']}")
            stem, dot, ext = name.rpartition(".") if name.endswith(".sqlite3") else (name, "", "")
            test["NAME"] = f"{stem}_run{os.getpid()}{dot}{ext}"
        return
    _RUN_LOCK.append(lock)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def channel(db):
    from orderguard.orders.tests.factories import ChannelFactory

    return ChannelFactory()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language: a request made in English (its cookie or its
    user's choice) leaves English active in the thread, as Django's LocaleMiddleware does."""
    from django.utils import translation

    yield
    translation.activate("zh-hans")


@pytest.fixture(autouse=True)
def _no_sms_quiet_hours(settings):
    """SMS quiet hours (21:00-08:00 Beijing time by default) would hold a test's SMS until the
    morning whenever the suite runs in the evening; the tests of quiet hours set them."""
    settings.OUTBOX_SMS_QUIET_HOURS = ""


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests make many users; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
