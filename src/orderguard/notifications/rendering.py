"""Templates per topic and language: Django template syntax where every variable must exist.

A message queued with a context is rendered when it is sent, from the topic's
`NotificationTemplate` in the message's language, else the built-in default below. A variable
the context lacks raises `MissingVariable` naming it, so that message fails with the reason
and the others carry on (a template edited with a typo breaks only its own topic).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError

from orderguard.notifications.models import NotificationTemplate, Topic

LANGUAGES = ("zh-hans", "en", "zh-hant")
DEFAULT_LANGUAGE = "zh-hans"

_MARK = "\x00MISSING:%s\x00"
_MARK_RE = re.compile("\x00MISSING:(.*?)\x00")
_TEXT = Engine(string_if_invalid=_MARK, autoescape=False)
_HTML = Engine(string_if_invalid=_MARK, autoescape=True)


class TemplateFailed(Exception):
    """A template that cannot be rendered; `reason` is shown on the message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MissingVariable(TemplateFailed):
    def __init__(self, name: str) -> None:
        super().__init__(f"missing variable {name}")
        self.name = name


@dataclass(frozen=True, slots=True)
class Words:
    subject: str
    body: str
    html: str = ""
    sms_template: str = ""


_STOCKOUT_ZH = Words(
    subject="缺货通知：{{ skus|length }} 个SKU，{{ orders }} 个订单",
    body=(
        "{% for s in skus %}{{ s.sku }}：{{ s.orders }} 个订单缺货，可用 {{ s.available }}，"
        "在库 {{ s.on_hand }}，安全库存 {{ s.safety_stock }}，预计补货 {{ s.eta|default:'未知' }}\n"
        "{% if s.order_ids %}  订单：{{ s.order_ids|join:'、' }}\n{% endif %}"
        "{% endfor %}"
    ),
)
_STOCKOUT_EN = Words(
    subject="Stock-out: {{ skus|length }} SKU(s), {{ orders }} order(s)",
    body=(
        "{% for s in skus %}{{ s.sku }}: {{ s.orders }} order(s) short, available {{ s.available }}, "
        "on hand {{ s.on_hand }}, safety stock {{ s.safety_stock }}, restock {{ s.eta|default:'unknown' }}\n"
        "{% if s.order_ids %}  orders: {{ s.order_ids|join:', ' }}\n{% endif %}"
        "{% endfor %}"
    ),
)
_ALERT_ZH = Words(
    subject=(
        "{% if alerts|length == 1 %}库存预警：{{ alerts.0.sku }} 低于安全库存"
        "{% else %}库存预警：{{ alerts|length }} 个SKU低于安全库存，请及时补货{% endif %}"
    ),
    body=(
        "{% for a in alerts %}[{{ a.warehouse }}] {{ a.sku }} {{ a.name }}：可用 {{ a.available }}，"
        "安全库存 {{ a.safety_stock }}，在途 {{ a.inbound }}，预计到货 {{ a.eta|default:'未知' }}\n"
        "{% endfor %}"
    ),
)
_ALERT_EN = Words(
    subject=(
        "{% if alerts|length == 1 %}Low stock: {{ alerts.0.sku }} below safety stock"
        "{% else %}Low stock: {{ alerts|length }} SKUs below safety stock, please restock{% endif %}"
    ),
    body=(
        "{% for a in alerts %}[{{ a.warehouse }}] {{ a.sku }} {{ a.name }}: available {{ a.available }}, "
        "safety stock {{ a.safety_stock }}, inbound {{ a.inbound }}, expected {{ a.eta|default:'unknown' }}\n"
        "{% endfor %}"
    ),
)

# topic -> language -> words. Every topic has zh-hans; a language missing falls back to it.
BUILTIN: Mapping[str, Mapping[str, Words]] = {
    Topic.STOCKOUT_NOTICE: {"zh-hans": _STOCKOUT_ZH, "en": _STOCKOUT_EN},
    Topic.STOCK_ALERT: {"zh-hans": _ALERT_ZH, "en": _ALERT_EN},
    Topic.OUTAGE: {
        "zh-hans": Words("故障通知：{{ title }}", "{{ title }}\n{{ detail }}\n状态：{{ state }}"),
        "en": Words("Outage: {{ title }}", "{{ title }}\n{{ detail }}\nState: {{ state }}"),
    },
    # the scheduled reports (analysis.delivery): the PDF and XLSX are attached
    Topic.REPORT: {
        "zh-hans": Words("{{ scope }} 异常订单报表 {{ period }}", "{{ summary }}\n\n{{ link }}"),
        "en": Words("Exception report {{ scope }} {{ period }}", "{{ summary }}\n\n{{ link }}"),
        "zh-hant": Words("{{ scope }} 異常訂單報表 {{ period }}", "{{ summary }}\n\n{{ link }}"),
    },
    Topic.OVERDUE: {
        "zh-hans": Words(
            "【{{ state }}】异常单 {{ case }}", "异常单 {{ case }}（{{ type }}）截止 {{ due }}。\n{{ link }}"
        ),
        "en": Words(
            "[{{ state }}] Case {{ case }}", "Case {{ case }} ({{ type }}) is due at {{ due }}.\n{{ link }}"
        ),
    },
    Topic.ESCALATION: {
        "zh-hans": Words(
            "【{{ state }}】异常单 {{ case }}",
            "异常单 {{ case }}（{{ type }}）{{ due }} 到期，仍未处理完。\n{{ link }}",
        ),
        "en": Words(
            "[{{ state }}] Case {{ case }}",
            "Case {{ case }} ({{ type }}) was due at {{ due }} and is still open.\n{{ link }}",
        ),
    },
    Topic.BUYER_SMS: {
        "zh-hans": Words("订单 {{ order }}", "您的订单 {{ order }}：{{ text }}"),
        "en": Words("Order {{ order }}", "Your order {{ order }}: {{ text }}"),
    },
    Topic.CASE_MERCHANT: {
        "zh-hans": Words("请协助处理订单 {{ order }}", "{{ text }}\n{{ link }}"),
        "en": Words("Please help with order {{ order }}", "{{ text }}\n{{ link }}"),
    },
    # the on-call alarm of an incident (incidents.services.TOPIC_ONCALL; staff, not merchants)
    "oncall_alarm": {
        "zh-hans": Words(
            "【{{ state }}·{{ severity }}】{{ title }}",
            "{{ title }}\n{{ detail }}\n发现于 {{ opened }}，响应截止 {{ due }}。\n{{ link }}",
        ),
        "en": Words(
            "[{{ state }} · {{ severity }}] {{ title }}",
            "{{ title }}\n{{ detail }}\nDetected {{ opened }}, respond by {{ due }}.\n{{ link }}",
        ),
    },
}
DIGEST: Mapping[str, Words] = {
    "zh-hans": Words(
        "{{ count }} 条通知：{{ first }} 等",
        "{% for e in events %}■ {{ e.subject }}\n{{ e.body }}\n{% endfor %}",
    ),
    "en": Words(
        "{{ count }} notifications: {{ first }} and more",
        "{% for e in events %}■ {{ e.subject }}\n{{ e.body }}\n{% endfor %}",
    ),
}

# Sample data for the admin's preview of each topic.
SAMPLES: Mapping[str, Mapping[str, Any]] = {
    Topic.STOCKOUT_NOTICE: {
        "merchant": "优优服饰",
        "orders": 3,
        "skus": [
            {
                "sku": "TS-RED-M",
                "orders": 2,
                "available": 0,
                "on_hand": 4,
                "safety_stock": 10,
                "eta": "2026-12-01",
            },
            {"sku": "PAN-20", "orders": 1, "available": 1, "on_hand": 1, "safety_stock": 5, "eta": None},
        ],
    },
    Topic.STOCK_ALERT: {
        "alerts": [
            {
                "warehouse": "SH1",
                "sku": "PAN-28",
                "name": "不粘锅 28cm",
                "available": 9,
                "safety_stock": 10,
                "inbound": 50,
                "eta": "2026-12-03",
            }
        ]
    },
    Topic.OUTAGE: {"title": "淘宝接口中断", "detail": "14:05 起订单同步失败", "state": "处理中"},
    Topic.REPORT: {
        "period": "2026-11-16 — 2026-11-22",
        "scope": "优优服饰",
        "title": "分析报表：优优服饰 2026-11-16 — 2026-11-22",
        "summary": "新增 120 件（上一时段 100 件），关闭 110 件，成功率 96.0%。",
        "link": "/reports/?from=2026-11-16&to=2026-11-22",
    },
    Topic.OVERDUE: {
        "case": "#1024",
        "type": "T2",
        "due": "2026-11-20 18:00",
        "state": "即将超时",
        "link": "/cases/1024/",
    },
    Topic.ESCALATION: {
        "case": "#1024",
        "type": "T2",
        "due": "2026-11-20 18:00",
        "state": "超时升级至组长",
        "link": "/cases/1024/",
    },
    Topic.BUYER_SMS: {"order": "TB20261120001", "text": "收货地址需要确认，请回复本短信"},
    "oncall_alarm": {
        "title": "渠道 tb-yoyo 停止来单",
        "detail": "已 6 分钟没有新订单，按历史此时段应有约 12 单",
        "state": "新故障",
        "severity": "严重",
        "opened": "11-20 14:06",
        "due": "11-20 14:36",
        "link": "/incidents/1/",
    },
    Topic.CASE_MERCHANT: {
        "order": "TB20261120001",
        "text": "电话和短信都未联系上买家，请通过平台联系买家并回复正确的收货信息。",
        "link": "/cases/1024/",
    },
}


@functools.lru_cache(maxsize=256)
def _compiled(html: bool, source: str) -> Template:
    return (_HTML if html else _TEXT).from_string(source)


def _render(engine: Engine, source: str, context: Mapping[str, Any]) -> str:
    try:
        text = _compiled(engine is _HTML, source).render(Context(dict(context), autoescape=engine.autoescape))
    except TemplateSyntaxError as exc:
        raise TemplateFailed(f"template error: {exc}") from None
    missing = _MARK_RE.search(text)
    if missing:
        raise MissingVariable(missing.group(1))
    return text


def words_for(*, topic: str, language: str) -> Words:
    """The words of `topic` in `language`: the admin's template, else the built-in one, else
    the built-in zh-Hans. A topic with none at all renders its context's `subject`/`body`."""
    row = NotificationTemplate.objects.filter(topic=topic, language=language).first()
    if row is not None:
        return Words(row.subject, row.body, row.html, row.sms_template)
    builtin = BUILTIN.get(topic, {})
    return builtin.get(language) or builtin.get(DEFAULT_LANGUAGE) or Words("{{ subject }}", "{{ body }}")


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str = ""
    sms_template: str = ""


def render_words(words: Words, context: Mapping[str, Any]) -> Rendered:
    """Render `words` with `context`; raises MissingVariable / TemplateFailed."""
    return Rendered(
        subject=" ".join(_render(_TEXT, words.subject, context).split())[:300],
        text=_render(_TEXT, words.body, context).strip(),
        html=_render(_HTML, words.html, context) if words.html else "",
        sms_template=words.sms_template,
    )


def render_message(*, topic: str, language: str, context: Mapping[str, Any]) -> Rendered:
    return render_words(words_for(topic=topic, language=language), context)


def render_digest(*, language: str, events: list[Rendered]) -> Rendered:
    words = DIGEST.get(language) or DIGEST[DEFAULT_LANGUAGE]
    context = {
        "count": len(events),
        "first": events[0].subject if events else "",
        "events": [{"subject": e.subject, "body": e.text} for e in events],
    }
    return render_words(words, context)


def template_preview(*, topic: str, subject: str, body: str, html: str = "") -> Rendered | TemplateFailed:
    """The template rendered with the topic's sample data, or why it cannot be."""
    try:
        return render_words(Words(subject, body, html), SAMPLES.get(topic, {}))
    except TemplateFailed as exc:
        return exc
