"""Real servers on 127.0.0.1 that speak every channel's protocol, for tests and benchmarks.

`RobotServer`: one threaded HTTP/1.1 server (keep-alive, no per-request sleeps) answering, on
its own path each, as the providers do:

    kind        path                                        checks
    wecom       /wecom/cgi-bin/webhook/send?key=K           key, message format
    dingtalk    /dingtalk/robot/send?access_token=T         token, timestamp (ms, 1 h) + sign
    feishu      /feishu/open-apis/bot/v2/hook/T             token, timestamp (s, 1 h) + sign
    slack       /slack/services/T                           token, text/blocks
    sms_aliyun  /aliyun/ (GET, RPC query)                   AccessKeyId, signature, nonce,
                                                            timestamp (15 min), template, phone
    sms_json    /sms/send                                   bearer token, HMAC of the body,
                                                            template, phone

A request that passes is recorded (`received()`), thread-safe; one that fails a check gets the
provider's refusal (93000, 310000, 19021, SignatureDoesNotMatch, isv.TEMPLATE_MISSING_PARAMETERS,
isv.MOBILE_NUMBER_ILLEGAL, ...). `config_for(kind)` is a channel configuration that passes.
`fail(kind_or_path, mode, times=N)` makes the next N requests of that kind fail (times=None: until
`heal()`); modes are in `FAIL_MODES`.

`SmtpServer`: aiosmtpd on 127.0.0.1 (aiosmtpd is a dev dependency: importing this module needs
only the standard library, starting an SmtpServer needs aiosmtpd), recording every message,
with optional AUTH, failure injection (`fail("reject_rcpt" | "tempfail" | "reject_data" |
"drop")`) and `down()` / `up()` on the same port.

Both are context managers; `start()` returns the server.
"""

from __future__ import annotations

import base64
import calendar
import email
import email.policy
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

KINDS = ("wecom", "dingtalk", "feishu", "slack", "sms_aliyun", "sms_json")
PREFIXES = {
    "wecom": "/wecom/",
    "dingtalk": "/dingtalk/",
    "feishu": "/feishu/",
    "slack": "/slack/",
    "sms_aliyun": "/aliyun/",
    "sms_json": "/sms/",
}
FAIL_MODES = (
    "status",  # answer HTTP `status` (default 500)
    "timeout",  # answer nothing for `delay` seconds (default 1.0), then close
    "drop",  # close the connection without an answer
    "bad_sign",  # the provider's answer to a wrong or expired secret/signature
    "invalid_webhook",  # the provider's answer to an unknown webhook / key / token
    "rate_limit",  # the provider's rate-limit answer
    "reject_phone",  # SMS: the gateway refuses the phone number
)
PHONE = re.compile(r"^(?:(?:\+?86)?1[3-9]\d{9}|\+[1-9]\d{7,14})$")


@dataclass(frozen=True, slots=True)
class Received:
    """One request the server accepted."""

    kind: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: Any  # the parsed JSON body (None for a GET)
    raw: bytes
    at: float


@dataclass
class _Failure:
    mode: str
    remaining: int | None
    status: int = 500
    delay: float = 1.0


def _percent(value: str) -> str:
    return quote(value, safe="~")


def aliyun_sign(params: Mapping[str, str], secret: str) -> str:
    """Alibaba Cloud's RPC signature, computed independently of the adapter."""
    canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()))
    string_to_sign = "GET&" + _percent("/") + "&" + _percent(canonical)
    return base64.b64encode(
        hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    ).decode()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    app: RobotServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.app._connected()

    def do_POST(self) -> None:
        self.server.app._handle(self)

    def do_GET(self) -> None:
        self.server.app._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        if isinstance(body, str):
            data, content_type = body.encode(), "text/plain; charset=utf-8"
        head = (
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(data)}\r\n"
            f"Connection: keep-alive\r\n\r\n"
        ).encode()
        self.wfile.write(head + data)  # one write: no small-packet stall


class RobotServer:
    """The WeCom, DingTalk, Feishu, Slack, Alibaba Cloud SMS and JSON SMS gateway stand-in."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        wecom_key: str = "wecom-test-key",
        dingtalk_token: str = "dingtalk-test-token",
        dingtalk_secret: str = "SECdingtalk-test-secret",
        feishu_token: str = "feishu-test-token",
        feishu_secret: str = "feishu-test-secret",
        slack_token: str = "T000/B000/slack-test-token",
        aliyun_key_id: str = "LTAI-test-id",
        aliyun_key_secret: str = "aliyun-test-secret",
        aliyun_sign_name: str = "仓库通知",
        json_token: str = "json-test-token",
        json_secret: str = "json-test-secret",
        sms_templates: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.host, self._port = host, port
        self.wecom_key = wecom_key
        self.dingtalk_token, self.dingtalk_secret = dingtalk_token, dingtalk_secret
        self.feishu_token, self.feishu_secret = feishu_token, feishu_secret
        self.slack_token = slack_token
        self.aliyun_key_id, self.aliyun_key_secret = aliyun_key_id, aliyun_key_secret
        self.aliyun_sign_name = aliyun_sign_name
        self.json_token, self.json_secret = json_token, json_secret
        self.templates: dict[str, frozenset[str]] = {
            code: frozenset(names)
            for code, names in (sms_templates or {"SMS_STOCKOUT": ("order", "sku"), "SMS_PLAIN": ()}).items()
        }
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._failures: dict[str, _Failure] = {}
        self._nonces: set[str] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: Counter[str] = Counter()  # every request by kind, refused ones too
        self.connections = 0  # TCP connections accepted: keep-alive shows as few

    # --- life ------------------------------------------------------------------------------
    def start(self) -> RobotServer:
        self._httpd = _HTTPServer((self.host, self._port), _Handler)
        self._httpd.app = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="robot-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> RobotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start the server first"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- addresses and configurations ---------------------------------------------------------
    def url_for(self, kind: str) -> str:
        """The webhook (or endpoint) address of `kind` that the server accepts."""
        paths = {
            "wecom": f"/wecom/cgi-bin/webhook/send?key={self.wecom_key}",
            "dingtalk": f"/dingtalk/robot/send?access_token={self.dingtalk_token}",
            "feishu": f"/feishu/open-apis/bot/v2/hook/{self.feishu_token}",
            "slack": f"/slack/services/{self.slack_token}",
            "sms_aliyun": "/aliyun/",
            "sms_json": "/sms/send",
        }
        return self.base_url + paths[kind]

    def config_for(self, kind: str, **overrides: Any) -> dict[str, Any]:
        """A channel configuration of `kind` that this server accepts (timeout 0.5 s)."""
        config: dict[str, Any]
        if kind in ("wecom", "slack"):
            config = {"webhook": self.url_for(kind)}
        elif kind == "dingtalk":
            config = {"webhook": self.url_for(kind), "secret": self.dingtalk_secret}
        elif kind == "feishu":
            config = {"webhook": self.url_for(kind), "secret": self.feishu_secret}
        elif kind == "sms_aliyun":
            config = {
                "endpoint": self.url_for(kind),
                "access_key_id": self.aliyun_key_id,
                "access_key_secret": self.aliyun_key_secret,
                "sign_name": self.aliyun_sign_name,
            }
        elif kind == "sms_json":
            config = {"url": self.url_for(kind), "token": self.json_token, "signing_secret": self.json_secret}
        else:
            raise KeyError(kind)
        config["timeout"] = 0.5
        config.update(overrides)
        return config

    # --- control -------------------------------------------------------------------------------
    def fail(
        self, target: str, mode: str, *, times: int | None = 1, status: int = 500, delay: float = 1.0
    ) -> None:
        """Make the next `times` requests of a kind (or the kind owning a path) fail as `mode`."""
        if mode not in FAIL_MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {FAIL_MODES}")
        kind = self._kind_of(target)
        if mode == "reject_phone" and not kind.startswith("sms_"):
            raise ValueError(f"{mode} does not apply to {kind}")
        with self._lock:
            self._failures[kind] = _Failure(mode=mode, remaining=times, status=status, delay=delay)

    def heal(self, target: str | None = None) -> None:
        """Stop failing `target` (every kind when None)."""
        with self._lock:
            if target is None:
                self._failures.clear()
            else:
                self._failures.pop(self._kind_of(target), None)

    def add_template(self, code: str, variables: Iterable[str]) -> None:
        with self._lock:
            self.templates[code] = frozenset(variables)

    def received(self, kind: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if kind is None or r.kind == kind]

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            if kind is None:
                return len(self._received)
            return sum(1 for r in self._received if r.kind == kind)

    def wait_for(self, count: int, kind: str | None = None, timeout: float = 5.0) -> bool:
        """Wait until `count` messages (of `kind`) were accepted; False if time ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(kind) >= count:
                return True
            time.sleep(0.01)
        return self.count(kind) >= count

    def stats(self) -> dict[str, Any]:
        """Counts by kind: accepted messages, requests (refused ones too), connections."""
        with self._lock:
            return {
                "received": dict(Counter(r.kind for r in self._received)),
                "requests": dict(self.requests),
                "connections": self.connections,
            }

    def clear(self) -> None:
        """Forget what was received and counted (failures stay)."""
        with self._lock:
            self._received.clear()
            self.requests.clear()
            self.connections = 0

    # --- serving -------------------------------------------------------------------------------
    def _kind_of(self, target: str) -> str:
        if target in PREFIXES:
            return target
        for kind, prefix in PREFIXES.items():
            if target.startswith(prefix) or prefix.startswith(target.rstrip("/") + "/"):
                return kind
        raise ValueError(f"no kind serves {target!r}")

    def _connected(self) -> None:
        with self._lock:
            self.connections += 1

    def _take_failure(self, kind: str) -> _Failure | None:
        with self._lock:
            failure = self._failures.get(kind)
            if failure is None:
                return None
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    del self._failures[kind]
            return failure

    def _handle(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        kind = next((k for k, p in PREFIXES.items() if parts.path.startswith(p)), "")
        if parts.path == "/_stats":  # for a server in another process (`python -m ...servers`)
            handler.answer(200, self.stats())
            return
        if not kind:
            handler.answer(404, "not found")
            return
        with self._lock:
            self.requests[kind] += 1
        failure = self._take_failure(kind)
        if failure is not None:
            if failure.mode == "drop":
                handler.close_connection = True
                return
            if failure.mode == "timeout":
                self._stopping.wait(failure.delay)
                handler.close_connection = True
                return
            handler.answer(*self._injected(kind, failure))
            return
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body: Any = None
        if handler.command == "POST":
            try:
                body = json.loads(raw.decode() or "null")
            except (UnicodeDecodeError, json.JSONDecodeError):
                handler.answer(
                    400, "invalid_payload" if kind == "slack" else {"errcode": 40001, "errmsg": "bad json"}
                )
                return
        request = Received(
            kind=kind,
            method=handler.command,
            path=parts.path,
            query=query,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            raw=raw,
            at=time.time(),
        )
        status, answer = getattr(self, f"_serve_{kind}")(request)
        if status == 200 and _accepted(kind, answer):
            with self._lock:
                self._received.append(request)
        handler.answer(status, answer)

    def _injected(self, kind: str, failure: _Failure) -> tuple[int, Any]:
        """The provider's own answer for an injected failure."""
        mode = failure.mode
        if mode == "status":
            if kind == "slack":
                return failure.status, "rollup_error" if failure.status >= 500 else "invalid_payload"
            if kind == "sms_aliyun":
                return failure.status, _aliyun("InternalError", "The request processing has failed.")
            if kind == "feishu":
                return failure.status, _feishu(-1, "system busy")
            if kind == "sms_json":
                return failure.status, {"ok": False, "reason": "server error"}
            return failure.status, {"errcode": -1, "errmsg": "system busy"}
        answers: dict[str, dict[str, tuple[int, Any]]] = {
            "bad_sign": {
                "wecom": (200, {"errcode": 93000, "errmsg": "invalid webhook url"}),
                "dingtalk": (200, {"errcode": 310000, "errmsg": "sign not match"}),
                "feishu": (
                    200,
                    _feishu(19021, "sign match fail or timestamp is not within one hour from current time"),
                ),
                "slack": (403, "invalid_token"),
                "sms_aliyun": (400, _aliyun("SignatureDoesNotMatch", "Specified signature is not matched.")),
                "sms_json": (401, {"ok": False, "reason": "bad signature"}),
            },
            "invalid_webhook": {
                "wecom": (200, {"errcode": 93000, "errmsg": "invalid webhook url"}),
                "dingtalk": (200, {"errcode": 300001, "errmsg": "token is not exist"}),
                "feishu": (200, _feishu(19001, "param invalid: incoming webhook access token invalid")),
                "slack": (404, "no_service"),
                "sms_aliyun": (
                    404,
                    _aliyun("InvalidAccessKeyId.NotFound", "Specified access key is not found."),
                ),
                "sms_json": (404, {"ok": False, "reason": "no such gateway"}),
            },
            "rate_limit": {
                "wecom": (200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
                "dingtalk": (200, {"errcode": 130101, "errmsg": "send too fast"}),
                "feishu": (200, _feishu(9499, "too many request")),
                "slack": (429, "rate_limited"),
                "sms_aliyun": (200, _aliyun("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")),
                "sms_json": (429, {"ok": False, "reason": "rate limited"}),
            },
            "reject_phone": {
                "sms_aliyun": (200, _aliyun("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")),
                "sms_json": (400, {"ok": False, "reason": "invalid phone number"}),
            },
        }
        return answers[mode][kind]

    def _serve_wecom(self, r: Received) -> tuple[int, Any]:
        if r.query.get("key") != self.wecom_key:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        return 200, _im_format(r.body, field_name="content")

    def _serve_dingtalk(self, r: Received) -> tuple[int, Any]:
        if r.query.get("access_token") != self.dingtalk_token:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if self.dingtalk_secret:
            timestamp, sign = r.query.get("timestamp", ""), r.query.get("sign", "")
            if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3_600_000:
                return 200, {"errcode": 310000, "errmsg": "timestamp is invalid or expired"}
            expected = base64.b64encode(
                hmac.new(
                    self.dingtalk_secret.encode(),
                    f"{timestamp}\n{self.dingtalk_secret}".encode(),
                    hashlib.sha256,
                ).digest()
            ).decode()
            if not hmac.compare_digest(sign, expected):
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
        return 200, _im_format(r.body, field_name="text")

    def _serve_feishu(self, r: Received) -> tuple[int, Any]:
        if not r.path.endswith("/" + self.feishu_token):
            return 200, _feishu(19001, "param invalid: incoming webhook access token invalid")
        body = r.body if isinstance(r.body, dict) else {}
        if self.feishu_secret:
            timestamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 3600:
                return 200, _feishu(
                    19021, "sign match fail or timestamp is not within one hour from current time"
                )
            key = f"{timestamp}\n{self.feishu_secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if not hmac.compare_digest(sign, expected):
                return 200, _feishu(
                    19021, "sign match fail or timestamp is not within one hour from current time"
                )
        kind = body.get("msg_type")
        if kind == "text" and str((body.get("content") or {}).get("text", "")).strip():
            return 200, _feishu(0, "success")
        card = body.get("card") or {}
        if kind == "interactive" and any(e.get("tag") for e in card.get("elements") or []):
            return 200, _feishu(0, "success")
        return 200, _feishu(9499, "Bad Request")

    def _serve_slack(self, r: Received) -> tuple[int, Any]:
        if not r.path.endswith("/" + self.slack_token):
            return 404, "no_service"
        body = r.body if isinstance(r.body, dict) else {}
        if not body.get("text") and not body.get("blocks"):
            return 400, "no_text"
        for block in body.get("blocks") or []:
            if block.get("type") != "section" or (block.get("text") or {}).get("type") not in (
                "mrkdwn",
                "plain_text",
            ):
                return 400, "invalid_blocks"
        return 200, "ok"

    def _serve_sms_aliyun(self, r: Received) -> tuple[int, Any]:
        params = dict(r.query)
        signature = params.pop("Signature", "")
        if params.get("AccessKeyId") != self.aliyun_key_id:
            return 404, _aliyun("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return 400, _aliyun("InvalidParameter", "SignatureMethod/SignatureVersion")
        if not hmac.compare_digest(signature, aliyun_sign(params, self.aliyun_key_secret)):
            return 400, _aliyun(
                "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
            )
        try:
            moment = calendar.timegm(time.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            return 400, _aliyun("MissingTimestamp", "Timestamp is mandatory for this action.")
        if abs(time.time() - moment) > 900:
            return 400, _aliyun("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        with self._lock:
            nonce = params.get("SignatureNonce", "")
            if not nonce or nonce in self._nonces:
                return 400, _aliyun("SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(nonce)
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return 400, _aliyun("InvalidAction.NotFound", "Specified api is not found")
        if params.get("SignName") != self.aliyun_sign_name:
            return 200, _aliyun("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        problem = self._sms_problem(
            params.get("PhoneNumbers", ""),
            params.get("TemplateCode", ""),
            params.get("TemplateParam") or "{}",
        )
        if problem:
            return 200, _aliyun(*problem)
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": uuid.uuid4().hex[:20],
            "RequestId": str(uuid.uuid4()),
        }

    def _serve_sms_json(self, r: Received) -> tuple[int, Any]:
        if self.json_token and r.headers.get("authorization") != f"Bearer {self.json_token}":
            return 401, {"ok": False, "reason": "bad token"}
        if self.json_secret:
            expected = "sha256=" + hmac.new(self.json_secret.encode(), r.raw, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(r.headers.get("x-signature", ""), expected):
                return 401, {"ok": False, "reason": "bad signature"}
        body = r.body if isinstance(r.body, dict) else {}
        if body.get("template"):
            problem = self._sms_problem(
                str(body.get("to", "")), str(body["template"]), body.get("params") or {}
            )
            if problem:
                return 400, {"ok": False, "reason": problem[1], "code": problem[0]}
        elif not PHONE.match(str(body.get("to", ""))):
            return 400, {"ok": False, "reason": "invalid phone number"}
        elif not str(body.get("text", "")).strip():
            return 400, {"ok": False, "reason": "empty text"}
        return 200, {"ok": True, "id": uuid.uuid4().hex}

    def _sms_problem(self, phone: str, template: str, params: Any) -> tuple[str, str] | None:
        """Why a gateway refuses this SMS: (code, reason), or None."""
        if not PHONE.match(phone):
            return "isv.MOBILE_NUMBER_ILLEGAL", f"invalid phone number {phone!r}"
        if template not in self.templates:
            return "isv.SMS_TEMPLATE_ILLEGAL", f"unknown template {template!r}"
        if isinstance(params, str):
            try:
                params = json.loads(params)
            except json.JSONDecodeError:
                return "isv.INVALID_JSON_PARAM", "TemplateParam is not JSON"
        if not isinstance(params, dict):
            return "isv.INVALID_JSON_PARAM", "TemplateParam is not an object"
        missing = sorted(name for name in self.templates[template] if not str(params.get(name, "")).strip())
        if missing:
            return "isv.TEMPLATE_MISSING_PARAMETERS", "missing template variable: " + ", ".join(missing)
        return None


def _feishu(code: int, msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": {}}


def _aliyun(code: str, message: str) -> dict[str, Any]:
    return {"Code": code, "Message": message, "RequestId": str(uuid.uuid4())}


def _accepted(kind: str, answer: Any) -> bool:
    if kind == "slack":
        return answer == "ok"
    if kind == "sms_aliyun":
        return bool(answer.get("Code") == "OK")
    if kind == "sms_json":
        return bool(answer.get("ok"))
    if kind == "feishu":
        return bool(answer.get("code") == 0)
    return bool(answer.get("errcode") == 0)


def _im_format(body: Any, *, field_name: str) -> dict[str, Any]:
    """WeCom's and DingTalk's check of a text or markdown message."""
    if not isinstance(body, dict):
        return {"errcode": 40035, "errmsg": "invalid body"}
    kind = body.get("msgtype")
    if kind == "text" and str((body.get("text") or {}).get("content", "")).strip():
        return {"errcode": 0, "errmsg": "ok"}
    markdown = body.get("markdown") or {}
    if kind == "markdown" and str(markdown.get(field_name, "")).strip():
        if field_name == "text" and not str(markdown.get("title", "")).strip():  # DingTalk needs a title
            return {"errcode": 40035, "errmsg": "missing title"}
        return {"errcode": 0, "errmsg": "ok"}
    if kind not in ("text", "markdown"):
        return {"errcode": 40008, "errmsg": "invalid message type"}
    return {"errcode": 44004, "errmsg": "empty content"}


# --- SMTP ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage = field(repr=False)


class _SmtpHandler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        mode = self.owner._take("reject_rcpt")
        if mode:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.owner._take("drop"):
            server.transport.close()
            return "421 4.3.0 closing"
        if self.owner._take("tempfail"):
            return "451 4.3.0 try again later"
        if self.owner._take("reject_data"):
            return "554 5.7.1 message rejected"
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.owner._record(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), raw, message))
        return "250 OK"


class SmtpServer:
    """An SMTP server on 127.0.0.1 that records what it is sent and fails when told to."""

    MODES = ("reject_rcpt", "tempfail", "reject_data", "drop")

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, username: str = "", password: str = ""
    ) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.username, self.password = username, password
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []
        self._failures: dict[str, int | None] = {}
        self._controller: Any = None
        self.connections = 0  # sessions opened: a reused connection shows as one

    def start(self) -> SmtpServer:
        self.up()
        return self

    def up(self) -> None:
        """Listen (again) on the same port."""
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

        owner = self

        class _Session(SMTP):
            def connection_made(self, transport: Any) -> None:
                with owner._lock:
                    owner.connections += 1
                super().connection_made(transport)

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (
                data.login.decode() == owner.username and data.password.decode() == owner.password
            )
            return AuthResult(success=ok, handled=False)

        kwargs: dict[str, Any] = {}
        if self.username:
            kwargs = {"authenticator": authenticate, "auth_require_tls": False}

        class _Controller(Controller):
            def factory(self) -> SMTP:
                return _Session(self.handler, **self.SMTP_kwargs)

        self._controller = _Controller(_SmtpHandler(self), hostname=self.host, port=self.port, **kwargs)
        self._controller.start()
        with self._lock:
            self.connections = 0  # the controller's own start-up probe

    def down(self) -> None:
        """Stop listening: senders get connection refused until `up()`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def stop(self) -> None:
        self.down()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def config(self, **overrides: Any) -> dict[str, Any]:
        """An EmailChannel configuration that this server accepts. The timeout (5 s) only bounds a
        test that goes wrong: a loaded machine can take longer than half a second to answer, and
        no SMTP failure mode here is a silence (the timeout tests use a socket of their own)."""
        config: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "from_email": "orderguard@warehouse.example",
            "timeout": 5.0,
        }
        if self.username:
            config.update(username=self.username, password=self.password)
        config.update(overrides)
        return config

    def fail(self, mode: str, *, times: int | None = 1) -> None:
        """Fail the next `times` messages (None: until `heal()`): reject_rcpt (550),
        tempfail (451 after DATA), reject_data (554 after DATA), drop (connection closed)."""
        if mode not in self.MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {self.MODES}")
        with self._lock:
            self._failures[mode] = times

    def heal(self) -> None:
        with self._lock:
            self._failures.clear()

    def _take(self, mode: str) -> bool:
        with self._lock:
            if mode not in self._failures:
                return False
            left = self._failures[mode]
            if left is not None:
                if left <= 1:
                    del self._failures[mode]
                else:
                    self._failures[mode] = left - 1
            return True

    def _record(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._messages.append(mail)

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return True
            time.sleep(0.01)
        return len(self.messages) >= count

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self.connections = 0


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    """Serve the robots (and SMTP) from a process of their own, so a benchmark's sender does not
    share its interpreter with them: prints one JSON line with each kind's channel
    configuration, then serves until stdin closes or the process is stopped. GET /_stats on the
    HTTP port answers the counts."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m orderguard.notifications.testing.servers")
    parser.add_argument("--port", type=int, default=0, help="HTTP port (default: a free one)")
    parser.add_argument("--smtp-port", type=int, default=0, help="SMTP port (default: a free one)")
    parser.add_argument("--no-smtp", action="store_true", help="serve HTTP only (no aiosmtpd needed)")
    args = parser.parse_args(argv)
    robots = RobotServer(port=args.port).start()
    smtp = None if args.no_smtp else SmtpServer(port=args.smtp_port).start()
    configs: dict[str, Any] = {kind: robots.config_for(kind) for kind in KINDS}
    if smtp is not None:
        configs["email"] = smtp.config()
    print(json.dumps({"stats_url": f"{robots.base_url}/_stats", "configs": configs}), flush=True)
    try:
        sys.stdin.read()  # returns when stdin closes: the parent went away
    except KeyboardInterrupt:
        pass
    finally:
        robots.stop()
        if smtp is not None:
            smtp.stop()


if __name__ == "__main__":
    main()
