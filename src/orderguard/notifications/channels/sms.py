"""SMS through an HTTP gateway: Alibaba Cloud SMS (阿里云短信 SendSms) and a generic JSON gateway.

SMS providers in China send only approved templates: a message with `sms_template` goes as the
template code and its variables (`sms_params`); the gateway, not this module, knows a template's
variables and refuses a message that leaves one out, and that refusal fails the message with the
gateway's reason.

Alibaba Cloud SendSms (RPC style, API version 2017-05-25), signed as documented in
https://www.alibabacloud.com/help/en/sms/signature-method and
https://help.aliyun.com/document_detail/56189.html (HTTP协议及签名):
1. every parameter but `Signature` (common ones: AccessKeyId, Action, Format, RegionId,
   SignatureMethod=HMAC-SHA1, SignatureNonce, SignatureVersion=1.0, Timestamp in UTC ISO 8601,
   Version; and PhoneNumbers, SignName, TemplateCode, TemplateParam as JSON, OutId), sorted by
   name, each name and value percent-encoded (RFC 3986: unreserved A-Z a-z 0-9 - _ . ~ kept,
   everything else %XY of its UTF-8 bytes, space as %20), joined `name=value` with `&`;
2. StringToSign = "GET" + "&" + percentEncode("/") + "&" + percentEncode(that query);
3. Signature = base64(HMAC-SHA1(key=AccessKeySecret + "&", StringToSign)), percent-encoded
   into the query. `aliyun_signature` reproduces the documented example (AccessKeySecret
   "testsecret" gives CT9X0VtwR86fNWSnsc6v8YGOjuE=, https://developer.aliyun.com/ask/210168).
The answer is JSON `{"Code": "OK", "BizId", "RequestId", "Message"}`; any other Code is a
refusal: throttling and business limits (isv.BUSINESS_LIMIT_CONTROL, Throttling*, isp.*) may
pass later, everything else (isv.MOBILE_NUMBER_ILLEGAL, isv.TEMPLATE_MISSING_PARAMETERS,
InvalidAccessKeyId.NotFound, SignatureDoesNotMatch, ...) fails the message at once.

The JSON gateway: POST `url` with `{"to", "template", "params", "text", "key"}` (UTF-8 JSON),
`Authorization: Bearer <token>` when a token is set, and when a signing secret is set a header
(`signature_header`, default X-Signature) `sha256=<hex HMAC-SHA256(secret, exact body bytes)>`.
A 2xx answer whose JSON has `ok_field` (default "ok") true is sent (its "id" is the provider id;
with `ok_field` empty any 2xx is sent); a refusal carries "reason" (or "error"/"message"): 4xx
and a 2xx refusal are final, 429 and 5xx may pass later.

Config (see `CONFIG_FIELDS`):
- sms_aliyun: access_key_id*, access_key_secret* (secret), sign_name*, endpoint (default
  https://dysmsapi.aliyuncs.com/), region_id (default cn-hangzhou), timeout, proxy.
- sms_json: url*, token (secret), signing_secret (secret), signature_header, ok_field,
  timeout, proxy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from orderguard.notifications.channels.base import Outgoing, SendResult
from orderguard.notifications.channels.fields import ConfigChecker, ConfigField
from orderguard.notifications.channels.transport import (
    http_client,
    http_failure,
    json_body,
    request,
    status_retryable,
)

Clock = Callable[[], float]

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
_TIMEOUT = ConfigField("timeout", value="float", default=5.0)
_PROXY = ConfigField("proxy", value="url")


def percent_encode(value: str) -> str:
    """Alibaba Cloud's percentEncode: RFC 3986, only A-Z a-z 0-9 - _ . ~ left as they are."""
    return quote(value, safe="~")


def aliyun_string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(query)}"


def aliyun_signature(params: Mapping[str, str], access_key_secret: str, method: str = "GET") -> str:
    """The RPC signature of `params` (every parameter but Signature itself)."""
    string_to_sign = aliyun_string_to_sign(params, method)
    digest = hmac.new(f"{access_key_secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def gateway_signature(secret: str, body: bytes) -> str:
    """The JSON gateway's signature header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _failed(exc: Exception) -> SendResult:
    return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500], retryable=False)


class AliyunSmsChannel:
    kind: ClassVar[str] = "sms_aliyun"
    fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("access_key_id", required=True),
        ConfigField("access_key_secret", required=True, secret=True),
        ConfigField("sign_name", required=True),
        ConfigField("endpoint", value="url", default=ALIYUN_ENDPOINT),
        ConfigField("region_id", default="cn-hangzhou"),
        _TIMEOUT,
        _PROXY,
    )
    RETRY_CODES: ClassVar[frozenset[str]] = frozenset(
        {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "SignatureNonceUsed", "ServiceUnavailable"}
    )

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        clock: Clock = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        check = ConfigChecker(config, self.fields)
        self.access_key_id = check.text("access_key_id")
        self.access_key_secret = check.text("access_key_secret")
        self.sign_name = check.text("sign_name")
        self.endpoint = check.url("endpoint")
        self.region_id = check.text("region_id")
        timeout = check.number("timeout", minimum=0.05, maximum=120)
        proxy = check.url("proxy")
        check.done()
        self.clock = clock
        self.client = http_client(timeout=timeout, proxy=proxy, transport=transport)

    def close(self) -> None:
        self.client.close()

    def params(self, message: Outgoing) -> dict[str, str]:
        """The signed request's parameters, Signature last."""
        moment = datetime.fromtimestamp(self.clock(), UTC)
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": message.key
            if len(message.key) <= 64
            else hashlib.sha256(message.key.encode()).hexdigest(),
            "PhoneNumbers": message.recipient,
            "RegionId": self.region_id,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": message.sms_template,
            "TemplateParam": json.dumps(dict(message.sms_params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(params, self.access_key_secret)
        return params

    def send(self, message: Outgoing) -> SendResult:
        if not message.sms_template:
            return SendResult(
                ok=False, error="Alibaba Cloud SMS sends templates only: no template code", retryable=False
            )
        if not message.recipient:
            return SendResult(ok=False, error="no phone number", retryable=False)
        try:
            params = self.params(message)
            query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items())
            separator = "&" if "?" in self.endpoint else "?"
            answer = request(self.client, "GET", f"{self.endpoint}{separator}{query}")
            if isinstance(answer, SendResult):
                return answer
            return self.read(answer)
        except Exception as exc:  # an adapter never raises
            return _failed(exc)

    def read(self, response: httpx.Response) -> SendResult:
        body = json_body(response)
        if body is None or "Code" not in body:
            return http_failure(response)
        code = str(body["Code"])
        if code == "OK" and response.status_code < 300:
            return SendResult(
                ok=True, status_code=response.status_code, provider_id=str(body.get("BizId", ""))
            )
        retryable = (
            code in self.RETRY_CODES
            or code.startswith(("Throttling", "isp."))
            or (response.status_code >= 500 and code != "OK")
        )
        return SendResult(
            ok=False,
            status_code=response.status_code,
            error=f"{code}: {body.get('Message', '')}"[:500],
            retryable=retryable,
        )


class JsonSmsChannel:
    kind: ClassVar[str] = "sms_json"
    fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("url", required=True, value="url"),
        ConfigField("token", secret=True),
        ConfigField("signing_secret", secret=True),
        ConfigField("signature_header", default="X-Signature"),
        ConfigField("ok_field", default="ok"),
        _TIMEOUT,
        _PROXY,
    )

    def __init__(self, config: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None) -> None:
        check = ConfigChecker(config, self.fields)
        self.url = check.url("url")
        self.token = check.text("token")
        self.signing_secret = check.text("signing_secret")
        self.signature_header = check.text("signature_header")
        # "" on purpose: any 2xx answer is a sent message
        self.ok_field = "" if config.get("ok_field") == "" else check.text("ok_field")
        timeout = check.number("timeout", minimum=0.05, maximum=120)
        proxy = check.url("proxy")
        check.done()
        self.client = http_client(timeout=timeout, proxy=proxy, transport=transport)

    def close(self) -> None:
        self.client.close()

    def body(self, message: Outgoing) -> bytes:
        payload = {
            "to": message.recipient,
            "template": message.sms_template,
            "params": dict(message.sms_params),
            "text": message.text,
            "key": message.key,
        }
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    def send(self, message: Outgoing) -> SendResult:
        if not message.recipient:
            return SendResult(ok=False, error="no phone number", retryable=False)
        try:
            body = self.body(message)
            headers = {"Content-Type": "application/json; charset=utf-8"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            if self.signing_secret:
                headers[self.signature_header] = gateway_signature(self.signing_secret, body)
            answer = request(self.client, "POST", self.url, content=body, headers=headers)
            if isinstance(answer, SendResult):
                return answer
            return self.read(answer)
        except Exception as exc:  # an adapter never raises
            return _failed(exc)

    def read(self, response: httpx.Response) -> SendResult:
        body = json_body(response) or {}
        reason = str(body.get("reason") or body.get("error") or body.get("message") or "")[:300]
        if response.status_code >= 300:
            return http_failure(response, reason)
        if not self.ok_field or body.get(self.ok_field) is True:
            return SendResult(ok=True, status_code=response.status_code, provider_id=str(body.get("id", "")))
        return SendResult(
            ok=False,
            status_code=response.status_code,
            error=reason or f"no {self.ok_field}=true in the answer",
            retryable=bool(body.get("retryable", False)) or status_retryable(response.status_code),
        )


CONFIG_FIELDS: dict[str, tuple[ConfigField, ...]] = {
    cls.kind: cls.fields for cls in (AliyunSmsChannel, JsonSmsChannel)
}
