"""The scale-out profile by configuration only: a worker consuming from Redis answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from orderguard.conftest import require_service

pytestmark = pytest.mark.redis


def _env(tmp_path: Path, queue: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        REDIS_URL="redis://127.0.0.1:6379/15",
        OG_HUEY_NAME=queue,
        OG_VAR_DIR=str(tmp_path),
    )
    return env


def test_a_worker_on_redis_answers_the_health_check(tmp_path):
    require_service("127.0.0.1", 6379, "Redis")
    env = _env(tmp_path, f"og-test-{uuid.uuid4().hex[:8]}")
    cli = [sys.executable, "-m", "orderguard.cli"]
    subprocess.run([*cli, "setup"], env=env, check=True, timeout=120)
    worker = subprocess.Popen([*cli, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        out = subprocess.run(
            [*cli, "check", "--json", "--wait", "30"], env=env, capture_output=True, text=True, timeout=90
        )
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    report = json.loads(out.stdout)
    by_name = {c["name"]: c for c in report["components"]}
    assert out.returncode == 0, out.stdout + out.stderr
    assert report["ok"] is True
    assert by_name["queue"]["detail"].startswith("RedisHuey")
    assert by_name["worker"]["ok"] is True
    assert by_name["worker"]["detail"].startswith("answered ping from ")


def test_check_reports_a_missing_worker_as_unhealthy(tmp_path):
    require_service("127.0.0.1", 6379, "Redis")
    env = _env(tmp_path, f"og-test-{uuid.uuid4().hex[:8]}")
    cli = [sys.executable, "-m", "orderguard.cli"]
    subprocess.run([*cli, "setup"], env=env, check=True, timeout=120)

    out = subprocess.run(
        [*cli, "check", "--json", "--wait", "1"], env=env, capture_output=True, text=True, timeout=60
    )

    report = json.loads(out.stdout)
    by_name = {c["name"]: c for c in report["components"]}
    assert out.returncode == 1
    assert (report["ok"], by_name["database"]["ok"], by_name["queue"]["ok"], by_name["worker"]["ok"]) == (
        False,
        True,
        True,
        False,
    )
