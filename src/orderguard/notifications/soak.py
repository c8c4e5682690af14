"""The outbox under fire: dispatcher processes killed with SIGKILL while messages drain.

    python -m orderguard.notifications.soak [--messages 10000] [--kills 20] [--workers 2]

Needs a migrated database (DATABASE_URL; `make soak` makes a fresh PostgreSQL one). It starts a
local HTTP receiver (its own process, recording every idempotency key it is sent), queues
`--messages` messages to it, starts `--workers` dispatcher processes (`python -m
orderguard.notifications.soak work`), and kills a random one with SIGKILL at random moments,
restarting it each time, until `--kills` kills happened while messages were still draining.
Then it checks: zero lost (every message sent and received), no key received that was never
queued, and duplicates only within the at-least-once bound (each kill can resend at most the
batch the killed worker had claimed), each recognisable by its key. Prints a JSON report;
exit status 1 when a check fails.

`drain_bench` (used by `make bench`) times one process draining messages to the receiver.

The `soak_http` channel below posts a message as JSON to a URL with its key in
`X-OrderGuard-Key`; it exists for these runs, where no robot's protocol is at stake.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

SOAK_KIND = "soak_http"


# --- the receiver ---------------------------------------------------------------------------
def receive(port_file: str | None, fail_rate: float, delay_ms: float, seed: int) -> None:
    """Serve until SIGTERM: POST records the key (and answers 500 for `fail_rate` of them, after
    recording nothing), GET /keys answers the count per key."""
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    rng = random.Random(seed)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body are two writes: without this, Nagle's algorithm holds the body
            # until the client's delayed ACK (40 ms a request)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def log_error(self, format: str, *args: Any) -> None:
            return None  # a dispatcher killed mid-request resets its connection: expected here

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(length)
            key = self.headers.get("X-OrderGuard-Key", "")
            if delay_ms:
                time.sleep(delay_ms / 1000)
            with lock:
                failing = fail_rate and rng.random() < fail_rate
                if not failing:
                    counts[key] += 1
            self._answer(500 if failing else 200, b'{"ok":false}' if failing else b'{"ok":true}')

        def do_GET(self) -> None:
            with lock:
                body = json.dumps(dict(counts)).encode()
            self._answer(200, body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            return None  # a dispatcher killed mid-request breaks its connection: expected here

    server = Server(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    port = server.server_address[1]
    if port_file:
        with open(port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(port_file + ".tmp", port_file)
    print(port, flush=True)
    server.serve_forever(poll_interval=0.1)


class Receiver:
    """The receiver in its own process (it would share the dispatcher's GIL otherwise)."""

    def __init__(self, *, fail_rate: float = 0.0, delay_ms: float = 0.0, seed: int = 1) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orderguard.notifications.soak",
                "receive",
                "--fail-rate",
                str(fail_rate),
                "--delay-ms",
                str(delay_ms),
                "--seed",
                str(seed),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def keys(self) -> Counter[str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", "/keys")
        data = json.loads(conn.getresponse().read())
        conn.close()
        return Counter(data)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- the channel ----------------------------------------------------------------------------
class SoakHttpChannel:
    """POST the message as JSON to `url`; one keep-alive connection per sending thread."""

    kind: ClassVar[str] = SOAK_KIND

    def __init__(self, config: Mapping[str, Any]) -> None:
        from orderguard.notifications.channels.base import ConfigError

        url = str(config.get("url", ""))
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ConfigError({"url": "an http:// address"})
        self.host, self.port, self.path = parts.hostname, parts.port or 80, parts.path or "/"
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def send(self, message: Any) -> Any:
        from orderguard.notifications.channels.base import SendResult

        body = json.dumps({"key": message.key, "recipient": message.recipient, "text": message.text}).encode()
        headers = {"Content-Type": "application/json", "X-OrderGuard-Key": message.key}
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")
                continue
            ok = 200 <= response.status < 300
            return SendResult(
                ok=ok, status_code=response.status, error="" if ok else f"HTTP {response.status}"
            )
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def register() -> None:
    from orderguard.notifications.channels.base import REGISTRY

    REGISTRY[SOAK_KIND] = "orderguard.notifications.soak:SoakHttpChannel"


# --- the dispatcher worker ------------------------------------------------------------------
def work(limit: int, threads: int) -> None:
    """Dispatch forever (until killed), as the periodic job does, without waiting a minute."""
    import django

    django.setup()
    register()
    from orderguard.notifications.services import outbox_dispatch

    print("ready", flush=True)
    while True:
        result = outbox_dispatch(limit=limit, threads=threads)
        if not (result.sent or result.retried or result.failed or result.deferred):
            time.sleep(0.05)


# --- the orchestration (runs where Django is set up) ----------------------------------------
def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if "postgresql" not in s["ENGINE"]:
        raise SystemExit("the soak needs PostgreSQL (DATABASE_URL)")
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _queue(endpoint_id: int, keys: list[str]) -> None:
    from orderguard.notifications.services import OutboxIn, outbox_enqueue

    for start in range(0, len(keys), 1000):
        outbox_enqueue(
            messages=[
                OutboxIn(
                    topic="report",
                    recipient="",
                    endpoint_id=endpoint_id,
                    context={"scope": "soak", "period": "soak", "summary": f"message {k}", "link": "/"},
                    idempotency_key=k,
                )
                for k in keys[start : start + 1000]
            ]
        )


def _left(prefix: str) -> int:
    from orderguard.notifications.models import OutboxMessage

    return (
        OutboxMessage.objects.filter(
            idempotency_key__startswith=prefix + ":", status__in=["pending", "sending"]
        )
        .only("pk")
        .count()
    )


def soak_run(
    *,
    messages: int = 10_000,
    kills: int = 20,
    workers: int = 2,
    limit: int = 100,
    threads: int = 4,
    claim_seconds: int = 3,
    fail_rate: float = 0.01,
    delay_ms: float = 2.0,
    seed: int = 7,
    timeout: float = 600.0,
) -> dict[str, Any]:
    """Run the soak against the configured (PostgreSQL) database; returns the report (its
    `ok` is whether every check passed)."""
    from orderguard.notifications.models import NotificationChannel, OutboxMessage

    register()
    rng = random.Random(seed)
    prefix = f"soak-{int(time.time() * 1000)}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orderguard.config.settings",
        "DATABASE_URL": _database_url(),
        "OG_OUTBOX_CLAIM_SECONDS": str(claim_seconds),
        "OG_OUTBOX_BACKOFF_SECONDS": "1",
        "OG_OUTBOX_MAX_ATTEMPTS": "50",
    }
    command = [sys.executable, "-m", "orderguard.notifications.soak", "work", "--limit", str(limit)]
    command += ["--threads", str(threads)]

    def spawn() -> subprocess.Popen[str]:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)

    def ready(proc: subprocess.Popen[str]) -> None:
        # a worker killed while it is still starting up tests nothing: wait until it dispatches
        assert proc.stdout is not None
        proc.stdout.readline()

    procs = [spawn() for _ in range(workers)]
    for proc in procs:
        ready(proc)
    receiver = Receiver(fail_rate=fail_rate, delay_ms=delay_ms, seed=seed)
    endpoint = NotificationChannel.objects.create(kind=SOAK_KIND, name=prefix, config={"url": receiver.url})
    keys = [f"{prefix}:{i}" for i in range(messages)]
    # the messages come in a share before each kill, so every kill lands while some drain
    shares = [keys[i * messages // (kills + 1) : (i + 1) * messages // (kills + 1)] for i in range(kills + 1)]
    started = time.monotonic()
    done_kills = 0
    try:
        for share in shares[:-1]:
            _queue(endpoint.pk, share)
            time.sleep(rng.uniform(0.05, 0.4))
            victim = rng.randrange(len(procs))
            os.kill(procs[victim].pid, signal.SIGKILL)
            procs[victim].wait()
            procs[victim] = spawn()
            ready(procs[victim])
            done_kills += 1
        _queue(endpoint.pk, shares[-1])
        while _left(prefix) and time.monotonic() - started < timeout:
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        for p in procs:
            p.kill()
            p.wait()
        received = receiver.keys()
        receiver.stop()
    statuses = Counter(
        OutboxMessage.objects.filter(idempotency_key__startswith=prefix + ":").values_list(
            "status", flat=True
        )
    )
    queued = set(keys)
    lost = sorted(k for k in keys if received[k] == 0)
    unknown = sorted(k for k in received if k not in queued)
    duplicates = {k: n for k, n in received.items() if n > 1}
    extra = sum(n - 1 for n in duplicates.values())
    bound = done_kills * limit
    report = {
        "messages": messages,
        "workers": workers,
        "kills": done_kills,
        "seconds": round(elapsed, 1),
        "statuses": dict(statuses),
        "received": sum(received.values()),
        "lost": len(lost),
        "lost_sample": lost[:10],
        "unknown_keys": len(unknown),
        "duplicates": extra,
        "duplicate_keys_sample": sorted(duplicates)[:10],
        "duplicate_bound": bound,
        "receiver_delay_ms": round(delay_ms, 1),
    }
    report["ok"] = (
        done_kills >= kills
        and not lost
        and not unknown
        and statuses.get("sent", 0) == messages
        and extra <= bound
    )
    return report


def drain_bench(*, messages: int = 10_000, limit: int = 500, threads: int | None = None) -> dict[str, Any]:
    """Messages/s one process drains to the local receiver (the job's own loop, real database)."""
    from django.conf import settings

    from orderguard.notifications.models import NotificationChannel
    from orderguard.notifications.services import outbox_dispatch

    register()
    receiver = Receiver()
    try:
        endpoint = NotificationChannel.objects.create(
            kind=SOAK_KIND, name="bench", config={"url": receiver.url}
        )
        prefix = f"bench-{int(time.time() * 1000)}"
        _queue(endpoint.pk, [f"{prefix}:{i}" for i in range(messages)])
        started = time.perf_counter()
        sent = 0
        while True:
            result = outbox_dispatch(limit=limit, threads=threads)
            sent += result.sent
            if not (result.sent or result.retried or result.deferred):
                break
        elapsed = time.perf_counter() - started
        received = sum(receiver.keys().values())
    finally:
        receiver.stop()
    return {
        "messages": messages,
        "sent": sent,
        "received": received,
        "seconds": round(elapsed, 2),
        "per_s": round(sent / elapsed),
        "threads": threads or settings.OUTBOX_SEND_THREADS,
        "batch": limit,
    }


def drain_bench_robots(
    *, messages: int = 10_000, kinds: tuple[str, ...] = ("wecom", "dingtalk")
) -> list[dict[str, Any]]:
    """Messages/s drained to the IM robots' own protocol servers (`testing.servers`, in a process
    of their own, checking every signature): the job's loop through the real adapters."""
    import subprocess
    import urllib.request

    from django.conf import settings

    from orderguard.notifications.models import NotificationChannel
    from orderguard.notifications.services import outbox_dispatch

    server = subprocess.Popen(
        [sys.executable, "-m", "orderguard.notifications.testing.servers", "--no-smtp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    out: list[dict[str, Any]] = []
    try:
        assert server.stdout is not None
        hello = json.loads(server.stdout.readline())
        for kind in kinds:
            config = {**hello["configs"][kind], "timeout": 5}
            endpoint = NotificationChannel.objects.create(kind=kind, name=f"bench {kind}", config=config)
            _queue(endpoint.pk, [f"bench-{kind}-{int(time.time() * 1000)}:{i}" for i in range(messages)])
            started = time.perf_counter()
            sent = failed = 0
            while True:
                result = outbox_dispatch(limit=500)
                sent += result.sent
                failed += result.failed
                if not (result.sent or result.retried or result.deferred or result.failed):
                    break
            elapsed = time.perf_counter() - started
            with urllib.request.urlopen(hello["stats_url"], timeout=5) as answer:
                stats = json.loads(answer.read())
            out.append(
                {
                    "kind": kind,
                    "messages": messages,
                    "sent": sent,
                    "failed": failed,
                    "received": stats["received"].get(kind, 0),
                    "seconds": round(elapsed, 2),
                    "per_s": round(sent / elapsed) if elapsed else 0,
                    "threads": settings.OUTBOX_SEND_THREADS,
                }
            )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)
    return out


def _fresh_database() -> None:
    """Without DATABASE_URL: a fresh PostgreSQL database (OG_SOAK_PG, OG_SOAK_DB), migrated."""
    if os.environ.get("DATABASE_URL"):
        return
    import psycopg

    admin = os.environ.get("OG_SOAK_PG", "postgres://postgres@127.0.0.1:5432")
    name = os.environ.get("OG_SOAK_DB", "orderguard_soak")
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = f"{admin}/{name}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="orderguard.notifications.soak")
    sub = p.add_subparsers(dest="command")
    r = sub.add_parser("receive")
    r.add_argument("--port-file")
    r.add_argument("--fail-rate", type=float, default=0.0)
    r.add_argument("--delay-ms", type=float, default=0.0)
    r.add_argument("--seed", type=int, default=1)
    w = sub.add_parser("work")
    w.add_argument("--limit", type=int, default=100)
    w.add_argument("--threads", type=int, default=4)
    for s in (p,):
        s.add_argument("--messages", type=int, default=10_000)
        s.add_argument("--kills", type=int, default=20)
        s.add_argument("--workers", type=int, default=2)
        s.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    if args.command == "receive":
        receive(args.port_file, args.fail_rate, args.delay_ms, args.seed)
        return 0
    if args.command == "work":
        work(args.limit, args.threads)
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderguard.config.settings")
    _fresh_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    report = soak_run(messages=args.messages, kills=args.kills, workers=args.workers, seed=args.seed)
    print(json.dumps(report, ensure_ascii=False))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
