"""The SMS channels against a local gateway that verifies Alibaba Cloud's RPC signature and the
JSON gateway's HMAC, knows its templates' variables and refuses bad phones (SMS with
templates; bad input: a template with a missing variable, a phone the gateway rejects)."""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import time

import pytest

from orderguard.notifications.channels.base import Outgoing, SendResult, channel_for
from orderguard.notifications.channels.sms import (
    AliyunSmsChannel,
    aliyun_signature,
    aliyun_string_to_sign,
    gateway_signature,
    percent_encode,
)
from orderguard.notifications.testing.servers import RobotServer

SMS = Outgoing(
    key="buyer-sms:O-1001:1",
    recipient="13800138000",
    subject="",
    text="您的订单 O-1001 缺货，预计 11 月 25 日补货发出。",
    sms_template="SMS_STOCKOUT",
    sms_params={"order": "O-1001", "sku": "TS-RED-M"},
)


def test_the_signature_reproduces_alibaba_clouds_documented_example():
    """The example of the RPC signature documentation: AccessKeySecret testsecret."""
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "TimeStamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }

    assert aliyun_string_to_sign(params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
        "%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert aliyun_signature(params, "testsecret") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="
    params["Timestamp"] = params.pop("TimeStamp")
    assert aliyun_signature(params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_percent_encoding_follows_rfc_3986_as_alibaba_cloud_requires():
    assert percent_encode("a b*c~d-e_f.g") == "a%20b%2Ac~d-e_f.g"
    assert percent_encode('{"sku":"仓"}') == "%7B%22sku%22%3A%22%E4%BB%93%22%7D"
    assert percent_encode("+/=") == "%2B%2F%3D"


def test_aliyun_sends_a_signed_template_sms_the_gateway_verifies(robot_server: RobotServer):
    channel = channel_for("sms_aliyun", robot_server.config_for("sms_aliyun"))

    result = channel.send(SMS)

    assert (result.ok, result.status_code, result.retryable) == (True, 200, True)
    assert len(result.provider_id) == 20  # the gateway's BizId
    [request] = robot_server.received("sms_aliyun")
    assert request.method == "GET"
    query = dict(request.query)
    assert query.pop("Signature")  # verified by the gateway against its own computation
    nonce = query.pop("SignatureNonce")
    stamp = query.pop("Timestamp")
    assert len(nonce) == 32
    assert abs(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) - time.time()) < 60
    assert query == {
        "AccessKeyId": "LTAI-test-id",
        "Action": "SendSms",
        "Format": "JSON",
        "OutId": "buyer-sms:O-1001:1",
        "PhoneNumbers": "13800138000",
        "RegionId": "cn-hangzhou",
        "SignName": "仓库通知",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_STOCKOUT",
        "TemplateParam": '{"order":"O-1001","sku":"TS-RED-M"}',
        "Version": "2017-05-25",
    }
    channel.close()


def test_aliyun_each_send_carries_its_own_nonce(robot_server: RobotServer):
    """The gateway refuses a nonce it has seen (SignatureNonceUsed): three sends all pass."""
    channel = channel_for("sms_aliyun", robot_server.config_for("sms_aliyun"))

    assert [channel.send(SMS).ok for _ in range(3)] == [True, True, True]
    assert len({r.query["SignatureNonce"] for r in robot_server.received()}) == 3
    assert robot_server.connections == 1
    channel.close()


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"access_key_secret": "wrong-secret"}, 400, "SignatureDoesNotMatch"),
        ({"access_key_id": "LTAI-nobody"}, 404, "InvalidAccessKeyId.NotFound"),
        ({"sign_name": "别人的签名"}, 200, "isv.SMS_SIGNATURE_ILLEGAL"),
    ],
)
def test_aliyun_bad_credentials_fail_for_good(robot_server: RobotServer, overrides, status, code):
    channel = channel_for("sms_aliyun", robot_server.config_for("sms_aliyun", **overrides))

    result = channel.send(SMS)

    assert (result.ok, result.status_code, result.retryable) == (False, status, False)
    assert result.error.startswith(f"{code}: ")
    assert robot_server.received() == []
    channel.close()


def test_aliyun_a_request_signed_too_long_ago_is_refused(robot_server: RobotServer):
    hour_ago = time.time() - 3600
    channel = AliyunSmsChannel(robot_server.config_for("sms_aliyun"), clock=lambda: hour_ago)

    result = channel.send(SMS)

    assert (result.ok, result.status_code, result.retryable) == (False, 400, False)
    assert result.error == "InvalidTimeStamp.Expired: Specified time stamp or date value is expired."
    channel.close()


def test_aliyun_a_template_variable_left_out_fails_with_the_gateways_reason(robot_server: RobotServer):
    channel = channel_for("sms_aliyun", robot_server.config_for("sms_aliyun"))
    missing = Outgoing(**{**_fields(SMS), "sms_params": {"order": "O-1001"}})

    result = channel.send(missing)

    assert result == SendResult(
        ok=False,
        status_code=200,
        error="isv.TEMPLATE_MISSING_PARAMETERS: missing template variable: sku",
        retryable=False,
    )
    assert robot_server.received() == []
    channel.close()


def test_aliyun_a_phone_the_gateway_rejects_fails_for_good(robot_server: RobotServer):
    channel = channel_for("sms_aliyun", robot_server.config_for("sms_aliyun"))

    real = channel.send(Outgoing(**{**_fields(SMS), "recipient": "12345"}))
    robot_server.fail("sms_aliyun", "reject_phone")
    injected = channel.send(SMS)

    assert real == SendResult(
        ok=False,
        status_code=200,
        error="isv.MOBILE_NUMBER_ILLEGAL: invalid phone number '12345'",
        retryable=False,
    )
    assert injected == SendResult(
        ok=False, status_code=200, error="isv.MOBILE_NUMBER_ILLEGAL: 非法手机号", retryable=False
    )
    channel.close()


def test_aliyun_business_limit_and_server_errors_are_retryable(robot_server: RobotServer):
    channel = channel_for("sms_aliyun", robot_server.config_for("sms_aliyun"))

    robot_server.fail("sms_aliyun", "rate_limit")
    limited = channel.send(SMS)
    robot_server.fail("sms_aliyun", "status", status=500)
    broken = channel.send(SMS)
    robot_server.fail("sms_aliyun", "timeout", delay=1.0)
    slow = channel.send(SMS)
    robot_server.fail("sms_aliyun", "drop")
    dropped = channel.send(SMS)

    assert limited == SendResult(
        ok=False, status_code=200, error="isv.BUSINESS_LIMIT_CONTROL: 触发分钟级流控Permits:1", retryable=True
    )
    assert (broken.status_code, broken.retryable, broken.error) == (
        500,
        True,
        "InternalError: The request processing has failed.",
    )
    assert (slow.ok, slow.retryable, slow.error) == (False, True, "timeout: ReadTimeout")
    assert (dropped.ok, dropped.retryable) == (False, True)
    assert channel.send(SMS).ok
    channel.close()


def test_aliyun_sends_templates_only(robot_server: RobotServer):
    channel = channel_for("sms_aliyun", robot_server.config_for("sms_aliyun"))

    result = channel.send(Outgoing(**{**_fields(SMS), "sms_template": ""}))

    assert result == SendResult(
        ok=False, error="Alibaba Cloud SMS sends templates only: no template code", retryable=False
    )
    assert robot_server.requests["sms_aliyun"] == 0
    channel.close()


def test_json_gateway_posts_the_message_signed_and_with_its_token(robot_server: RobotServer):
    channel = channel_for("sms_json", robot_server.config_for("sms_json"))

    result = channel.send(SMS)

    assert (result.ok, result.status_code, len(result.provider_id)) == (True, 200, 32)
    [request] = robot_server.received("sms_json")
    assert request.body == {
        "to": "13800138000",
        "template": "SMS_STOCKOUT",
        "params": {"order": "O-1001", "sku": "TS-RED-M"},
        "text": SMS.text,
        "key": "buyer-sms:O-1001:1",
    }
    assert request.headers["authorization"] == "Bearer json-test-token"
    expected = "sha256=" + hmac.new(b"json-test-secret", request.raw, hashlib.sha256).hexdigest()
    assert request.headers["x-signature"] == expected == gateway_signature("json-test-secret", request.raw)
    assert json.loads(request.raw) == request.body
    channel.close()


def test_json_gateway_sends_plain_text_without_a_template(robot_server: RobotServer):
    channel = channel_for("sms_json", robot_server.config_for("sms_json"))

    assert channel.send(Outgoing(key="k", recipient="+8613800138000", subject="", text="到货了")).ok
    assert robot_server.received()[0].body["template"] == ""
    channel.close()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"signing_secret": "not-the-secret"}, "HTTP 401: bad signature"),
        ({"token": "not-the-token"}, "HTTP 401: bad token"),
    ],
)
def test_json_gateway_wrong_secrets_fail_for_good(robot_server: RobotServer, overrides, error):
    channel = channel_for("sms_json", robot_server.config_for("sms_json", **overrides))

    assert channel.send(SMS) == SendResult(ok=False, status_code=401, error=error, retryable=False)
    assert robot_server.received() == []
    channel.close()


def test_json_gateway_refusals_carry_the_gateways_reason(robot_server: RobotServer):
    channel = channel_for("sms_json", robot_server.config_for("sms_json"))

    missing = channel.send(Outgoing(**{**_fields(SMS), "sms_params": {"sku": "TS-RED-M"}}))
    bad_phone = channel.send(Outgoing(**{**_fields(SMS), "recipient": "0000"}))
    robot_server.fail("sms_json", "reject_phone")
    injected = channel.send(SMS)

    assert missing == SendResult(
        ok=False, status_code=400, error="HTTP 400: missing template variable: order", retryable=False
    )
    assert bad_phone == SendResult(
        ok=False, status_code=400, error="HTTP 400: invalid phone number '0000'", retryable=False
    )
    assert injected == SendResult(
        ok=False, status_code=400, error="HTTP 400: invalid phone number", retryable=False
    )
    assert robot_server.received() == []
    channel.close()


@pytest.mark.parametrize(
    ("mode", "status", "error"),
    [
        ("status", 500, "HTTP 500: server error"),
        ("rate_limit", 429, "HTTP 429: rate limited"),
        ("timeout", None, "timeout: ReadTimeout"),
    ],
)
def test_json_gateway_transient_failures_are_retryable(robot_server: RobotServer, mode, status, error):
    channel = channel_for("sms_json", robot_server.config_for("sms_json"))
    robot_server.fail("/sms/send", mode)

    assert channel.send(SMS) == SendResult(ok=False, status_code=status, error=error, retryable=True)
    assert channel.send(SMS).ok
    channel.close()


def test_json_gateway_success_field_is_configurable(robot_server: RobotServer):
    strict = channel_for("sms_json", robot_server.config_for("sms_json", ok_field="accepted"))
    lenient = channel_for("sms_json", robot_server.config_for("sms_json", ok_field=""))

    assert strict.send(SMS) == SendResult(
        ok=False, status_code=200, error="no accepted=true in the answer", retryable=False
    )
    assert lenient.send(SMS).ok
    strict.close()
    lenient.close()


def _fields(message: Outgoing) -> dict:
    return {name: getattr(message, name) for name in message.__dataclass_fields__}
