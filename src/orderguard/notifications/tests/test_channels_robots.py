"""The IM robot channels against real local servers that speak each provider's protocol and
verify its signature (bad input: a wrong webhook, an expired secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import unquote

import pytest

from orderguard.notifications.channels.base import Outgoing, SendResult, channel_for
from orderguard.notifications.channels.robots import (
    DingTalkChannel,
    FeishuChannel,
    SlackChannel,
    WeComChannel,
    clip_utf8,
    dingtalk_sign,
    feishu_sign,
)
from orderguard.notifications.testing.servers import RobotServer

ROBOTS = ("wecom", "dingtalk", "feishu", "slack")

TEXT = Outgoing(key="stockout:7:a1", recipient="", subject="缺货通知", text="TS-RED-M：3 个订单缺货")
CARD = Outgoing(
    key="stockout:7:a2",
    recipient="",
    subject="缺货通知",
    text="TS-RED-M：3 个订单缺货",
    markdown="**TS-RED-M** 缺货\n> 受影响订单：3\n> 在库 2 / 安全库存 10",
)


def test_wecom_sends_text_and_markdown_as_documented(robot_server: RobotServer):
    channel = channel_for("wecom", robot_server.config_for("wecom"))

    assert channel.send(TEXT) == SendResult(ok=True, status_code=200)
    assert channel.send(CARD) == SendResult(ok=True, status_code=200)

    text, card = robot_server.received("wecom")
    assert text.query == {"key": "wecom-test-key"}
    assert text.body == {"msgtype": "text", "text": {"content": "缺货通知\nTS-RED-M：3 个订单缺货"}}
    assert card.body == {"msgtype": "markdown", "markdown": {"content": CARD.markdown}}
    channel.close()


def test_wecom_text_is_cut_to_its_2048_byte_limit_on_a_character(robot_server: RobotServer):
    channel = channel_for("wecom", robot_server.config_for("wecom"))
    long = Outgoing(key="k", recipient="", subject="", text="缺" * 1000)  # 3000 bytes

    assert channel.send(long).ok
    content = robot_server.received("wecom")[0].body["text"]["content"]
    assert len(content.encode()) <= 2048
    assert content == "缺" * 681 + "..."
    assert clip_utf8("短", 2048) == "短"
    channel.close()


def test_dingtalk_signs_the_address_with_a_millisecond_timestamp_the_server_verifies(
    robot_server: RobotServer,
):
    moment = time.time()
    channel = DingTalkChannel(robot_server.config_for("dingtalk"), clock=lambda: moment)

    assert channel.send(TEXT) == SendResult(ok=True, status_code=200)
    assert channel.send(CARD).ok

    text, card = robot_server.received("dingtalk")
    timestamp = int(moment * 1000)
    expected = base64.b64encode(
        hmac.new(
            b"SECdingtalk-test-secret", f"{timestamp}\nSECdingtalk-test-secret".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert text.query == {
        "access_token": "dingtalk-test-token",
        "timestamp": str(timestamp),
        "sign": expected,
    }
    assert dingtalk_sign("SECdingtalk-test-secret", timestamp) == expected
    assert text.body == {"msgtype": "text", "text": {"content": "缺货通知\nTS-RED-M：3 个订单缺货"}}
    assert card.body == {"msgtype": "markdown", "markdown": {"title": "缺货通知", "text": CARD.markdown}}
    channel.close()


def test_dingtalk_sign_is_url_encoded_in_the_query(robot_server: RobotServer):
    """A base64 sign holds + / =; unencoded, a + would arrive as a space and never match."""
    channel = DingTalkChannel(robot_server.config_for("dingtalk"))
    url = channel.signed_url()
    raw_sign = url.rpartition("&sign=")[2]
    assert "+" not in raw_sign and "/" not in raw_sign and "=" not in raw_sign
    assert base64.b64decode(unquote(raw_sign))
    channel.close()


def test_dingtalk_with_a_wrong_secret_is_refused_for_good(robot_server: RobotServer):
    channel = channel_for("dingtalk", robot_server.config_for("dingtalk", secret="SECsomeone-elses"))

    result = channel.send(TEXT)

    assert result == SendResult(
        ok=False, status_code=200, error="errcode 310000: sign not match", retryable=False
    )
    assert robot_server.received() == []
    channel.close()


def test_dingtalk_with_an_expired_timestamp_is_refused_for_good(robot_server: RobotServer):
    two_hours_ago = time.time() - 7200
    channel = DingTalkChannel(robot_server.config_for("dingtalk"), clock=lambda: two_hours_ago)

    result = channel.send(TEXT)

    assert (result.ok, result.retryable, result.error) == (
        False,
        False,
        "errcode 310000: timestamp is invalid or expired",
    )
    assert robot_server.received() == []
    channel.close()


def test_feishu_signs_the_body_with_a_second_timestamp_the_server_verifies(robot_server: RobotServer):
    moment = time.time()
    channel = FeishuChannel(robot_server.config_for("feishu"), clock=lambda: moment)

    assert channel.send(TEXT) == SendResult(ok=True, status_code=200)
    assert channel.send(CARD).ok

    text, card = robot_server.received("feishu")
    timestamp = int(moment)
    key = f"{timestamp}\nfeishu-test-secret".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert feishu_sign("feishu-test-secret", timestamp) == expected
    assert text.body == {
        "timestamp": str(timestamp),
        "sign": expected,
        "msg_type": "text",
        "content": {"text": "缺货通知\nTS-RED-M：3 个订单缺货"},
    }
    assert card.body["msg_type"] == "interactive"
    assert card.body["card"] == {
        "elements": [{"tag": "markdown", "content": CARD.markdown}],
        "header": {"title": {"tag": "plain_text", "content": "缺货通知"}},
    }
    channel.close()


def test_feishu_without_a_secret_sends_no_signature(robot_server: RobotServer):
    robot_server.feishu_secret = ""
    channel = channel_for("feishu", robot_server.config_for("feishu", secret=""))

    assert channel.send(TEXT).ok
    assert robot_server.received("feishu")[0].body == {
        "msg_type": "text",
        "content": {"text": "缺货通知\nTS-RED-M：3 个订单缺货"},
    }
    channel.close()


@pytest.mark.parametrize("age", [0, 7200], ids=["wrong secret", "expired"])
def test_feishu_with_a_wrong_secret_or_an_old_timestamp_is_refused_for_good(robot_server: RobotServer, age):
    then = time.time() - age
    secret = "not-the-secret" if age == 0 else "feishu-test-secret"
    channel = FeishuChannel(robot_server.config_for("feishu", secret=secret), clock=lambda: then)

    result = channel.send(TEXT)

    assert result == SendResult(
        ok=False,
        status_code=200,
        error="code 19021: sign match fail or timestamp is not within one hour from current time",
        retryable=False,
    )
    assert robot_server.received() == []
    channel.close()


def test_slack_posts_text_and_an_mrkdwn_section(robot_server: RobotServer):
    channel = channel_for("slack", robot_server.config_for("slack"))

    assert channel.send(TEXT) == SendResult(ok=True, status_code=200)
    assert channel.send(CARD).ok

    text, card = robot_server.received("slack")
    plain = "缺货通知\nTS-RED-M：3 个订单缺货"
    assert text.body == {
        "text": plain,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": plain}}],
    }
    assert card.body == {
        "text": plain,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": CARD.markdown}}],
    }
    channel.close()


@pytest.mark.parametrize(
    ("kind", "config", "error"),
    [
        ("wecom", {"webhook_query": "key=nobody"}, "errcode 93000: invalid webhook url"),
        ("dingtalk", {"webhook_query": "access_token=nobody"}, "errcode 300001: token is not exist"),
        (
            "feishu",
            {"path": "/feishu/open-apis/bot/v2/hook/nobody"},
            "code 19001: param invalid: incoming webhook access token invalid",
        ),
        ("slack", {"path": "/slack/services/T1/B1/nobody"}, "HTTP 404: no_service"),
    ],
)
def test_a_webhook_the_provider_does_not_know_fails_for_good(robot_server: RobotServer, kind, config, error):
    base = robot_server.config_for(kind)
    if "webhook_query" in config:
        webhook = base["webhook"].partition("?")[0] + "?" + config["webhook_query"]
    else:
        webhook = robot_server.base_url + config["path"]
    channel = channel_for(kind, {**base, "webhook": webhook})

    result = channel.send(TEXT)

    assert (result.ok, result.retryable, result.error) == (False, False, error)
    assert robot_server.received() == []
    channel.close()


@pytest.mark.parametrize("kind", ROBOTS)
def test_a_server_error_is_retryable_and_the_next_send_goes_through(robot_server: RobotServer, kind):
    channel = channel_for(kind, robot_server.config_for(kind))
    robot_server.fail(kind, "status", status=503)

    failed = channel.send(TEXT)
    sent = channel.send(TEXT)

    assert (failed.ok, failed.status_code, failed.retryable) == (False, 503, True)
    assert failed.error.startswith("HTTP 503")
    assert sent.ok
    assert robot_server.count(kind) == 1
    assert robot_server.requests[kind] == 2
    channel.close()


@pytest.mark.parametrize("kind", ROBOTS)
def test_a_server_that_does_not_answer_in_time_is_a_retryable_timeout(robot_server: RobotServer, kind):
    channel = channel_for(kind, robot_server.config_for(kind, timeout=0.3))
    robot_server.fail(kind, "timeout", delay=5.0)

    started = time.monotonic()
    result = channel.send(TEXT)
    elapsed = time.monotonic() - started

    assert (result.ok, result.status_code, result.retryable) == (False, None, True)
    assert result.error == "timeout: ReadTimeout"
    assert 0.25 < elapsed < 3  # the channel's timeout, not the server's 5 s stall
    assert channel.send(TEXT).ok  # a fresh connection: the stalled one was given up
    channel.close()


@pytest.mark.parametrize("kind", ROBOTS)
def test_a_dropped_connection_is_retryable(robot_server: RobotServer, kind):
    channel = channel_for(kind, robot_server.config_for(kind))
    robot_server.fail(kind, "drop")

    result = channel.send(TEXT)

    assert (result.ok, result.status_code, result.retryable) == (False, None, True)
    assert result.error.startswith("connection failed: RemoteProtocolError")
    assert robot_server.count(kind) == 0
    assert channel.send(TEXT).ok
    channel.close()


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [
        ("wecom", 200, "errcode 45009: api freq out of limit"),
        ("dingtalk", 200, "errcode 130101: send too fast"),
        ("feishu", 200, "code 9499: too many request"),
        ("slack", 429, "HTTP 429: rate_limited"),
    ],
)
def test_a_rate_limit_is_retryable(robot_server: RobotServer, kind, status, error):
    channel = channel_for(kind, robot_server.config_for(kind))
    robot_server.fail(kind, "rate_limit")

    assert channel.send(TEXT) == SendResult(ok=False, status_code=status, error=error, retryable=True)
    channel.close()


@pytest.mark.parametrize(
    ("kind", "mode", "status", "error"),
    [
        ("wecom", "invalid_webhook", 200, "errcode 93000: invalid webhook url"),
        ("dingtalk", "bad_sign", 200, "errcode 310000: sign not match"),
        (
            "feishu",
            "invalid_webhook",
            200,
            "code 19001: param invalid: incoming webhook access token invalid",
        ),
        ("slack", "bad_sign", 403, "HTTP 403: invalid_token"),
        ("slack", "invalid_webhook", 404, "HTTP 404: no_service"),
    ],
)
def test_injected_refusals_fail_for_good_with_the_providers_reason(robot_server, kind, mode, status, error):
    channel = channel_for(kind, robot_server.config_for(kind))
    robot_server.fail(kind, mode)

    assert channel.send(TEXT) == SendResult(ok=False, status_code=status, error=error, retryable=False)
    channel.close()


def test_failing_until_healed_then_sending_again(robot_server: RobotServer):
    channel = channel_for("wecom", robot_server.config_for("wecom"))
    robot_server.fail("/wecom/cgi-bin/webhook/send", "status", times=None)

    results = [channel.send(TEXT).ok for _ in range(3)]
    robot_server.heal()

    assert results == [False, False, False]
    assert channel.send(TEXT).ok
    channel.close()


@pytest.mark.parametrize("kind", ROBOTS)
def test_one_channel_sends_many_messages_over_one_kept_alive_connection(robot_server: RobotServer, kind):
    channel = channel_for(kind, robot_server.config_for(kind))

    results = [channel.send(TEXT) for _ in range(20)]

    assert all(r.ok for r in results)
    assert robot_server.count(kind) == 20
    assert robot_server.connections == 1
    channel.close()


def test_a_robot_that_is_not_listening_is_retryable(robot_server: RobotServer):
    config = robot_server.config_for("wecom")
    robot_server.stop()
    channel = channel_for("wecom", config)

    result = channel.send(TEXT)

    assert (result.ok, result.status_code, result.retryable) == (False, None, True)
    assert result.error.startswith("connection failed: ConnectError")
    channel.close()


def test_channel_classes_are_registered_by_kind():
    from orderguard.notifications.channels.base import channel_class

    assert [channel_class(kind) for kind in ROBOTS] == [
        WeComChannel,
        DingTalkChannel,
        FeishuChannel,
        SlackChannel,
    ]
