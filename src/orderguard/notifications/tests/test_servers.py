"""The local provider stand-ins themselves: what they refuse on their own, how they are told to
fail, and the separate-process mode the benchmark uses."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from orderguard.notifications.channels.base import Outgoing, channel_for
from orderguard.notifications.testing.servers import RobotServer

TEXT = Outgoing(key="k", recipient="", subject="", text="到货")


def test_messages_in_a_wrong_format_are_refused_as_the_provider_would(robot_server: RobotServer):
    post = httpx.Client(timeout=2)
    wecom = robot_server.url_for("wecom")

    wrong_type = post.post(wecom, json={"msgtype": "voice"}).json()
    empty = post.post(wecom, json={"msgtype": "text", "text": {"content": " "}}).json()
    slack = post.post(robot_server.url_for("slack"), json={"blocks": [{"type": "divider"}]})
    untitled = post.post(
        channel_for("dingtalk", robot_server.config_for("dingtalk")).signed_url(),  # type: ignore[attr-defined]
        json={"msgtype": "markdown", "markdown": {"text": "**x**"}},
    ).json()

    assert wrong_type == {"errcode": 40008, "errmsg": "invalid message type"}
    assert empty == {"errcode": 44004, "errmsg": "empty content"}
    assert (slack.status_code, slack.text) == (400, "invalid_blocks")
    assert untitled == {"errcode": 40035, "errmsg": "missing title"}
    assert robot_server.received() == []
    assert robot_server.requests == {"wecom": 2, "slack": 1, "dingtalk": 1}
    post.close()


def test_a_failure_is_set_by_kind_or_by_path_and_counts_down(robot_server: RobotServer):
    channel = channel_for("slack", robot_server.config_for("slack"))
    robot_server.fail("/slack/services/T000/B000/slack-test-token", "status", times=2)

    assert [channel.send(TEXT).ok for _ in range(3)] == [False, False, True]
    with pytest.raises(ValueError, match="unknown mode"):
        robot_server.fail("slack", "explode")
    with pytest.raises(ValueError, match="no kind serves"):
        robot_server.fail("/nowhere", "drop")
    channel.close()


def test_a_phone_refusal_applies_only_to_sms(robot_server: RobotServer):
    with pytest.raises(ValueError, match="reject_phone does not apply to wecom"):
        robot_server.fail("wecom", "reject_phone")

    robot_server.fail("sms_json", "reject_phone")


def test_stopping_the_server_wakes_a_stalled_answer(robot_server: RobotServer):
    channel = channel_for("wecom", robot_server.config_for("wecom", timeout=0.2))
    robot_server.fail("wecom", "timeout", delay=30)
    assert channel.send(TEXT).error == "timeout: ReadTimeout"

    started = time.monotonic()
    robot_server.stop()

    assert time.monotonic() - started < 1
    channel.close()


def test_templates_can_be_added(robot_server: RobotServer):
    robot_server.add_template("SMS_OUTAGE", ["eta"])
    channel = channel_for("sms_json", robot_server.config_for("sms_json"))
    message = Outgoing(key="k", recipient="13800138000", subject="", text="", sms_template="SMS_OUTAGE")

    refused = channel.send(message)
    sent = channel.send(Outgoing(**{**_fields(message), "sms_params": {"eta": "14:00"}}))

    assert (refused.ok, refused.error, sent.ok) == (False, "HTTP 400: missing template variable: eta", True)
    assert robot_server.stats() == {
        "received": {"sms_json": 1},
        "requests": {"sms_json": 2},
        "connections": 1,
    }
    channel.close()


def test_the_servers_run_in_a_process_of_their_own():
    """`python -m orderguard.notifications.testing.servers`: one JSON line, then serving."""
    process = subprocess.Popen(
        [sys.executable, "-m", "orderguard.notifications.testing.servers"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        configs = started["configs"]
        results = [channel_for(kind, configs[kind]).send(TEXT).ok for kind in ("wecom", "feishu")]
        email = channel_for("email", configs["email"]).send(
            Outgoing(key="k", recipient="ops@m.example", subject="s", text="t")
        )
        stats = httpx.get(started["stats_url"]).json()
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)

    assert sorted(configs) == ["dingtalk", "email", "feishu", "slack", "sms_aliyun", "sms_json", "wecom"]
    assert results == [True, True]
    assert email.ok
    assert stats["received"] == {"wecom": 1, "feishu": 1}
    assert process.returncode == 0


def _fields(message: Outgoing) -> dict:
    return {name: getattr(message, name) for name in message.__dataclass_fields__}


def test_concurrent_senders_are_all_recorded(robot_server: RobotServer):
    """The benchmark drains from several workers at once: nothing accepted goes unrecorded."""
    import threading

    channels = [channel_for("dingtalk", robot_server.config_for("dingtalk")) for _ in range(4)]
    results: list[bool] = []
    lock = threading.Lock()

    def send_many(channel) -> None:
        for i in range(50):
            ok = channel.send(Outgoing(key=f"k{i}", recipient="", subject="", text=f"第 {i} 条")).ok
            with lock:
                results.append(ok)

    workers = [threading.Thread(target=send_many, args=(c,)) for c in channels]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert results == [True] * 200
    assert robot_server.count("dingtalk") == 200
    assert robot_server.connections == 4
    for channel in channels:
        channel.close()
