"""Channel configurations: every kind checks its own in the constructor and says, per field,
what is wrong; secrets are described so admin and API can mask them."""

from __future__ import annotations

import pytest

from orderguard.notifications.channels import email, robots, sms
from orderguard.notifications.channels.base import REGISTRY, ConfigError, channel_for
from orderguard.notifications.channels.fields import config_fields
from orderguard.notifications.endpoints import config_masked, config_merge

HOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
DING = "https://oapi.dingtalk.com/robot/send?access_token=abc"


def _errors(kind: str, config: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        channel_for(kind, config)
    return caught.value.errors


@pytest.mark.parametrize(
    ("kind", "required"),
    [
        ("email", ["host"]),
        ("wecom", ["webhook"]),
        ("dingtalk", ["webhook"]),
        ("feishu", ["webhook"]),
        ("slack", ["webhook"]),
        ("sms_aliyun", ["access_key_id", "access_key_secret", "sign_name"]),
        ("sms_json", ["url"]),
    ],
)
def test_each_kind_names_its_missing_required_fields(kind, required):
    config = {"timeout": 3} if kind != "email" else {"port": 25}

    assert _errors(kind, config) == dict.fromkeys(required, "必填")


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu", "slack"])
def test_a_webhook_must_be_an_http_address(kind):
    assert _errors(kind, {"webhook": "ftp://robot.example/hook"}) == {"webhook": "须为 http 或 https 网址"}
    assert _errors(kind, {"webhook": "not a url"}) == {"webhook": "须为 http 或 https 网址"}


def test_robot_webhooks_must_carry_their_credential():
    assert _errors("wecom", {"webhook": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}) == {
        "webhook": "网址缺少 key 参数"
    }
    assert _errors("dingtalk", {"webhook": "https://oapi.dingtalk.com/robot/send"}) == {
        "webhook": "网址缺少 access_token 参数"
    }


def test_a_dingtalk_secret_has_its_documented_prefix():
    assert _errors("dingtalk", {"webhook": DING, "secret": "abc"}) == {"secret": "加签密钥以 SEC 开头"}
    channel_for("dingtalk", {"webhook": DING, "secret": "SECabc"}).close()


def test_unknown_fields_and_bad_numbers_are_reported_together():
    assert _errors(
        "slack", {"webhook": "https://hooks.slack.com/services/T/B/x", "timeout": "soon", "colour": 1}
    ) == {
        "colour": "未知的配置项",
        "timeout": "须为 0.05 到 120 之间的数",
    }


def test_email_settings_are_checked():
    assert _errors("email", {"host": "smtp.m.example", "port": 70000, "use_tls": True, "use_ssl": True}) == {
        "port": "须为 1 到 65535 之间的数",
        "use_ssl": "use_tls 与 use_ssl 只能选一个",
    }
    assert _errors("email", {"host": "smtp.m.example", "from_email": "nobody", "password": "x"}) == {
        "from_email": "不是邮件地址",
        "username": "必填",
    }
    assert _errors("email", {"host": "smtp.m.example", "use_tls": "yes"}) == {"use_tls": "须为是或否"}


def test_a_configuration_that_is_not_an_object_is_refused():
    assert _errors("slack", ["https://hooks.slack.com/services/T/B/x"]) == {"config": "配置必须是键值对象"}  # type: ignore[arg-type]


def test_every_kind_describes_its_fields_and_which_are_secret():
    described = {**email.CONFIG_FIELDS, **robots.CONFIG_FIELDS, **sms.CONFIG_FIELDS}

    assert set(described) == set(REGISTRY) - {"inbox"}
    assert {kind: [f.name for f in fields if f.secret] for kind, fields in described.items()} == {
        "email": ["password"],
        "wecom": ["webhook"],
        "dingtalk": ["webhook", "secret"],
        "feishu": ["webhook", "secret"],
        "slack": ["webhook"],
        "sms_aliyun": ["access_key_secret"],
        "sms_json": ["token", "signing_secret"],
    }
    assert config_fields("sms_json") == sms.CONFIG_FIELDS["sms_json"]


def test_secrets_are_masked_for_display_and_kept_when_the_mask_comes_back():
    stored = {"webhook": DING, "secret": "SEC1234567890ab", "timeout": 5}

    shown = config_masked(stored)
    edited = config_merge(stored, {**shown, "timeout": 8})

    assert shown == {
        "webhook": "https://oapi.dingtalk.com/robot/send?access_token=****",
        "secret": "****90ab",
        "timeout": 5,
    }
    assert edited == {"webhook": DING, "secret": "SEC1234567890ab", "timeout": 8}
    assert config_masked({"webhook": DING, "secret": ""})["secret"] == ""
    assert config_merge(stored, {"webhook": HOOK})["webhook"] == HOOK


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_field_a_kind_declares_secret_is_masked(kind):
    secret = "abcdefghijklmnopqrstuvwxyz0123"
    declared = {f.name: f for f in config_fields(kind) if f.secret}
    # a webhook address carries its token in the query or the path
    url = f"https://hook.example/send/{secret}?key={secret}"

    shown = config_masked({n: url if f.value == "url" else secret for n, f in declared.items()})

    assert {name: secret in str(value) for name, value in shown.items()} == dict.fromkeys(declared, False)


def test_the_error_lists_every_field_in_its_message():
    error = ConfigError({"webhook": "必填", "secret": "加签密钥以 SEC 开头"})

    assert str(error) == "webhook: 必填; secret: 加签密钥以 SEC 开头"
