"""Production settings (OG_PRODUCTION=1): Django's deploy check passes, and an unsafe
configuration refuses to start. Each case imports the settings in a fresh process, as the
server would."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3]
PRINT_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
names = [
    "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE", "LANGUAGE_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY", "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE", "SILENCED_SYSTEM_CHECKS",
    "AXES_FAILURE_LIMIT", "AXES_LOCKOUT_PARAMETERS", "AXES_RESET_ON_SUCCESS",
]
values = {name: getattr(settings, name) for name in names}
values["AXES_COOLOFF_TIME"] = settings.AXES_COOLOFF_TIME.total_seconds()
print(json.dumps(values))
"""


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python args` with only the given OrderGuard variables (none inherited from this run)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OG_", "DJANGO_", "DATABASE_URL"))}
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "orderguard.config.settings",
            "OG_VAR_DIR": str(tmp_path),
            "PYTHONPATH": str(SRC),
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, *args], env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def production(**extra: str) -> dict[str, str]:
    return {
        "OG_PRODUCTION": "1",
        "OG_SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
        "OG_ALLOWED_HOSTS": "og.example.com",
        "OG_METRICS_TOKEN": secrets.token_urlsafe(24),
        **extra,
    }


def check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run(["-m", "django", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **env)


def settings_of(tmp_path: Path, **env: str) -> dict[str, object]:
    result = run(["-c", PRINT_SETTINGS], tmp_path, **env)
    assert (result.returncode, result.stderr) == (0, "")
    values: dict[str, object] = json.loads(result.stdout)
    return values


def refusal(result: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    """Exit status and the last line of the traceback."""
    return result.returncode, result.stderr.strip().splitlines()[-1]


def test_the_deploy_check_passes_with_production_settings(tmp_path):
    result = check_deploy(tmp_path, **production())

    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "System check identified no issues (0 silenced).\n",
        "",
    )


def test_production_turns_on_https_only_cookies_hsts_and_the_redirect(tmp_path):
    values = settings_of(tmp_path, **production())

    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_REDIRECT_EXEMPT": ["^healthz$", "^readyz$", "^api/v1/health$"],
        "SECURE_PROXY_SSL_HEADER": None,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "LANGUAGE_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_AGE": 43200,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": False,
        "SILENCED_SYSTEM_CHECKS": [],
        "AXES_FAILURE_LIMIT": 5,
        "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]],
        "AXES_RESET_ON_SUCCESS": True,
        "AXES_COOLOFF_TIME": 900.0,
    }


def test_behind_a_tls_proxy_the_redirect_is_left_to_it_and_its_header_is_trusted(tmp_path):
    env = production(OG_SECURE_SSL_REDIRECT="0", OG_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https")

    values = settings_of(tmp_path, **env)
    result = check_deploy(tmp_path, **env)

    assert (values["SECURE_SSL_REDIRECT"], values["SECURE_PROXY_SSL_HEADER"]) == (
        False,
        ["HTTP_X_FORWARDED_PROTO", "https"],
    )
    assert values["SILENCED_SYSTEM_CHECKS"] == ["security.W008"]
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "System check identified no issues (1 silenced).\n",
        "",
    )


def test_lockout_and_session_age_come_from_the_environment(tmp_path):
    values = settings_of(
        tmp_path, OG_LOGIN_FAILURE_LIMIT="3", OG_LOGIN_LOCKOUT_MINUTES="60", OG_SESSION_AGE_SECONDS="3600"
    )

    assert (values["AXES_FAILURE_LIMIT"], values["AXES_COOLOFF_TIME"], values["SESSION_COOKIE_AGE"]) == (
        3,
        3600.0,
        3600,
    )


def test_the_embedded_profile_keeps_plain_http(tmp_path):
    values = settings_of(tmp_path)

    assert (
        values["SECURE_SSL_REDIRECT"],
        values["SESSION_COOKIE_SECURE"],
        values["CSRF_COOKIE_SECURE"],
        values["SECURE_HSTS_SECONDS"],
    ) == (False, False, False, 0)


SECRET_REFUSED = (
    "django.core.exceptions.ImproperlyConfigured: OG_PRODUCTION=1 needs OG_SECRET_KEY: a random "
    "secret of at least 50 characters, e.g. "
    '`python -c "import secrets; print(secrets.token_urlsafe(64))"`.'
)


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    env = production()
    del env["OG_SECRET_KEY"]

    assert refusal(check_deploy(tmp_path, **env)) == (1, SECRET_REFUSED)


def test_production_with_a_short_or_trivial_secret_key_refuses_to_start(tmp_path):
    for key in ("s3cret-but-short", "a" * 64, "django-insecure-" + secrets.token_urlsafe(48)):
        assert refusal(check_deploy(tmp_path, **production(OG_SECRET_KEY=key))) == (1, SECRET_REFUSED)


def test_production_with_debug_on_refuses_to_start(tmp_path):
    result = check_deploy(tmp_path, **production(OG_DEBUG="1"))

    assert refusal(result) == (
        1,
        "django.core.exceptions.ImproperlyConfigured: OG_PRODUCTION=1 with OG_DEBUG on: "
        "DEBUG shows code and settings.",
    )


def test_a_malformed_proxy_header_refuses_to_start(tmp_path):
    result = check_deploy(tmp_path, **production(OG_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"))

    assert refusal(result) == (
        1,
        "django.core.exceptions.ImproperlyConfigured: OG_SECURE_PROXY_SSL_HEADER is "
        '"HEADER,value", e.g. "HTTP_X_FORWARDED_PROTO,https".',
    )


def test_production_refuses_to_start_with_metrics_open_to_anyone(tmp_path):
    env = production()
    del env["OG_METRICS_TOKEN"]
    refused = check_deploy(tmp_path, **env)
    allowed = check_deploy(tmp_path, **env, OG_METRICS_PUBLIC="1")

    assert refused.returncode == 1
    assert "OG_PRODUCTION=1 needs OG_METRICS_TOKEN" in refused.stderr
    assert (allowed.returncode, allowed.stdout.strip()) == (
        0,
        "System check identified no issues (0 silenced).",
    ), allowed.stderr
