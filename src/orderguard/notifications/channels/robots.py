"""Instant-messaging group robots: WeCom (企业微信), DingTalk (钉钉), Feishu (飞书), Slack.

Each robot is one webhook address posted a JSON message. A message with `markdown` goes as the
robot's markdown card; otherwise as text, with `subject` as its first line when there is one.

Formats and signatures as documented:
- WeCom group robot: POST the webhook (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...)
  `{"msgtype": "text", "text": {"content"}}` or `{"msgtype": "markdown", "markdown":
  {"content"}}`; text at most 2048 bytes, markdown 4096; answer `{"errcode": 0, "errmsg":
  "ok"}`. https://developer.work.weixin.qq.com/document/path/91770 (群机器人配置说明)
- DingTalk custom robot: POST https://oapi.dingtalk.com/robot/send?access_token=...; with 加签
  the query also carries `timestamp` (ms) and `sign` = urlEncode(base64(HmacSHA256(key=secret,
  message=timestamp + "\\n" + secret))); the timestamp must be within an hour of DingTalk's
  clock. `{"msgtype": "text", "text": {"content"}}` or `{"msgtype": "markdown", "markdown":
  {"title", "text"}}`; answer `{"errcode": 0}`, 310000 for a bad signature (also a missing
  keyword or an address not allowed). https://developers.dingtalk.com/document/robots/custom-robot-access
- Feishu custom bot: POST https://open.feishu.cn/open-apis/bot/v2/hook/...; with 签名校验 the
  body carries `timestamp` (seconds) and `sign` = base64(HmacSHA256(key=timestamp + "\\n" +
  secret, message=empty)); `{"msg_type": "text", "content": {"text"}}` or `{"msg_type":
  "interactive", "card": {"header", "elements": [{"tag": "markdown", "content"}]}}`; answer
  `{"code": 0}`, 19021 for a bad or expired signature.
  https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
- Slack incoming webhook: POST `{"text", "blocks": [{"type": "section", "text": {"type":
  "mrkdwn", "text"}}]}`; 200 "ok"; 400 invalid_payload, 403 invalid_token/action_prohibited,
  404 no_service/channel_not_found, 410 channel_is_archived, 429 rate limited, 5xx.
  https://api.slack.com/messaging/webhooks and
  https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks

Config (see `CONFIG_FIELDS`): `webhook` (required, secret: the address is the credential),
`secret` (DingTalk and Feishu signing secret, optional), `timeout` (seconds, default 5),
`proxy` (optional proxy URL).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import httpx
from django.utils.translation import gettext as _

from orderguard.notifications.channels.base import Outgoing, SendResult
from orderguard.notifications.channels.fields import ConfigChecker, ConfigField
from orderguard.notifications.channels.transport import (
    http_client,
    http_failure,
    json_body,
    request,
)

Clock = Callable[[], float]

_WEBHOOK = ConfigField("webhook", required=True, secret=True, value="url")
_SECRET = ConfigField("secret", secret=True)
_TIMEOUT = ConfigField("timeout", value="float", default=5.0)
_PROXY = ConfigField("proxy", value="url")


def clip_utf8(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes without splitting a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "..."


def _plain(message: Outgoing) -> str:
    return f"{message.subject}\n{message.text}" if message.subject else message.text


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign`: base64 HmacSHA256 keyed by the secret over "timestamp\\nsecret" (the
    caller url-encodes it into the query)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's `sign`: base64 HmacSHA256 keyed by "timestamp\\nsecret" over an empty message."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class _Robot:
    kind: ClassVar[str]
    fields: ClassVar[tuple[ConfigField, ...]] = (_WEBHOOK, _TIMEOUT, _PROXY)
    # provider codes a later try may pass (busy, rate limited); any other code is final
    retry_codes: ClassVar[frozenset[int]] = frozenset({-1})

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        clock: Clock = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        check = ConfigChecker(config, self.fields)
        self.webhook = check.url("webhook")
        self.secret = check.text("secret") if "secret" in check.fields else ""
        self.timeout = check.number("timeout", minimum=0.05, maximum=120)
        proxy = check.url("proxy")
        self.validate(check)
        check.done()
        self.clock = clock
        self.client = http_client(timeout=self.timeout, proxy=proxy, transport=transport)

    def validate(self, check: ConfigChecker) -> None:
        """Kind-specific checks beyond the fields' own."""

    def close(self) -> None:
        self.client.close()

    def send(self, message: Outgoing) -> SendResult:
        try:
            url, body = self.build(message)
            answer = request(self.client, "POST", url, json=body)
            if isinstance(answer, SendResult):
                return answer
            return self.read(answer)
        except Exception as exc:  # an adapter never raises: a bug here fails the message, loudly
            return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500], retryable=False)

    def build(self, message: Outgoing) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def read(self, response: httpx.Response) -> SendResult:
        """The JSON `{errcode, errmsg}` answer WeCom and DingTalk give."""
        body = json_body(response)
        if response.status_code >= 300 or body is None:
            return http_failure(response)
        code = body.get("errcode", 0)
        if code == 0:
            return SendResult(ok=True, status_code=response.status_code)
        return SendResult(
            ok=False,
            status_code=response.status_code,
            error=f"errcode {code}: {body.get('errmsg', '')}",
            retryable=code in self.retry_codes,
        )


class WeComChannel(_Robot):
    kind = "wecom"
    # -1 system busy, 45009 api freq out of limit (20 messages/minute per robot)
    retry_codes = frozenset({-1, 45009})

    def validate(self, check: ConfigChecker) -> None:
        if self.webhook and "key=" not in urlsplit(self.webhook).query:
            check.fail("webhook", _("网址缺少 %(param)s 参数") % {"param": "key"})

    def build(self, message: Outgoing) -> tuple[str, dict[str, Any]]:
        if message.markdown:
            return self.webhook, {
                "msgtype": "markdown",
                "markdown": {"content": clip_utf8(message.markdown, 4096)},
            }
        return self.webhook, {"msgtype": "text", "text": {"content": clip_utf8(_plain(message), 2048)}}


class DingTalkChannel(_Robot):
    kind = "dingtalk"
    fields = (_WEBHOOK, _SECRET, _TIMEOUT, _PROXY)
    # -1 system busy, 130101 sending too fast (20 messages/minute per robot)
    retry_codes = frozenset({-1, 130101})

    def validate(self, check: ConfigChecker) -> None:
        if self.webhook and "access_token=" not in urlsplit(self.webhook).query:
            check.fail("webhook", _("网址缺少 %(param)s 参数") % {"param": "access_token"})
        if self.secret and not self.secret.startswith("SEC"):
            check.fail("secret", _("加签密钥以 SEC 开头"))

    def signed_url(self) -> str:
        if not self.secret:
            return self.webhook
        timestamp = int(self.clock() * 1000)
        parts = urlsplit(self.webhook)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("timestamp", "sign")]
        extra = f"timestamp={timestamp}&sign={quote_plus(dingtalk_sign(self.secret, timestamp))}"
        return urlunsplit(parts._replace(query="&".join(filter(None, [urlencode(query), extra]))))

    def build(self, message: Outgoing) -> tuple[str, dict[str, Any]]:
        if message.markdown:
            title = message.subject or message.text.split("\n", 1)[0][:64]
            body: dict[str, Any] = {
                "msgtype": "markdown",
                "markdown": {"title": title, "text": message.markdown},
            }
        else:
            body = {"msgtype": "text", "text": {"content": _plain(message)}}
        return self.signed_url(), body


class FeishuChannel(_Robot):
    kind = "feishu"
    fields = (_WEBHOOK, _SECRET, _TIMEOUT, _PROXY)
    # 9499 / 11232: too many requests (100/minute, 5/second per bot)
    retry_codes = frozenset({-1, 9499, 11232})

    def build(self, message: Outgoing) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any]
        if message.markdown:
            card: dict[str, Any] = {"elements": [{"tag": "markdown", "content": message.markdown}]}
            if message.subject:
                card["header"] = {"title": {"tag": "plain_text", "content": message.subject}}
            body = {"msg_type": "interactive", "card": card}
        else:
            body = {"msg_type": "text", "content": {"text": _plain(message)}}
        if self.secret:
            timestamp = int(self.clock())
            body = {"timestamp": str(timestamp), "sign": feishu_sign(self.secret, timestamp), **body}
        return self.webhook, body

    def read(self, response: httpx.Response) -> SendResult:
        body = json_body(response)
        if body is None:
            return http_failure(response)
        # the current answer is {"code", "msg"}; older bots answered {"StatusCode", "StatusMessage"}
        code = body.get("code", body.get("StatusCode", 0))
        said = f"code {code}: {body.get('msg', body.get('StatusMessage', ''))}"
        if response.status_code >= 300:
            return http_failure(response, said)
        if code == 0:
            return SendResult(ok=True, status_code=response.status_code)
        return SendResult(
            ok=False, status_code=response.status_code, error=said, retryable=code in self.retry_codes
        )


class SlackChannel(_Robot):
    kind = "slack"

    def build(self, message: Outgoing) -> tuple[str, dict[str, Any]]:
        text = _plain(message)
        section = message.markdown or text
        return (
            self.webhook,
            {
                "text": text,  # the notification's fallback and what screen readers read
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": section[:3000]}}],
            },
        )

    def read(self, response: httpx.Response) -> SendResult:
        said = response.text.strip()[:300]
        if response.status_code == 200 and said == "ok":
            return SendResult(ok=True, status_code=200)
        if response.status_code < 300:
            return SendResult(ok=False, status_code=response.status_code, error=f"unexpected answer: {said}")
        return http_failure(response, said)


CONFIG_FIELDS: dict[str, tuple[ConfigField, ...]] = {
    cls.kind: cls.fields for cls in (WeComChannel, DingTalkChannel, FeishuChannel, SlackChannel)
}
