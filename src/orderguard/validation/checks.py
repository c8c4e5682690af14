"""Checks v1: every D2 import check on one order, and the registry that explains each code.

`check_order` runs, in this order (the order of its findings): recipient name, phone, address,
each line (SKU resolution), special requests. It is pure: no database, the clock is passed in,
the merchant's catalogue comes as a `CatalogIndex`.

`RULES` lists every finding code the checks can produce with its exception type, default
severity and a plain-words text: a `gettext_lazy` msgid in Simplified Chinese (the UI language)
and an English template, both ``%(name)s``-formatted from the finding's data; codes whose data
carries a ``reason`` have a text per reason. `explain` renders a finding in the active language.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from orderguard.catalog.attributes import ATTRIBUTE_LABELS, SIZE
from orderguard.core.choices import ExceptionType, Severity
from orderguard.core.findings import Finding
from orderguard.inventory import findings as stock_checks
from orderguard.orders.schema import OrderIn
from orderguard.validation import abroad as abroad_checks
from orderguard.validation import address as address_checks
from orderguard.validation import names as name_checks
from orderguard.validation import phone as phone_checks
from orderguard.validation import platform as platform_checks
from orderguard.validation import product as product_checks
from orderguard.validation import special as special_checks
from orderguard.validation.abroad import check_abroad_address, is_abroad
from orderguard.validation.address import ParsedAddress, check_address, parse_address
from orderguard.validation.names import check_name
from orderguard.validation.phone import (
    PhoneKind,
    PhoneResult,
    check_area_code,
    check_phone,
    platform_phone_expiry,
)
from orderguard.validation.platform import check_platform_flags, encrypted_fields
from orderguard.validation.product import CatalogIndex, resolve_line
from orderguard.validation.special import COURIERS, check_special


@dataclass(frozen=True, slots=True)
class Rule:
    """What a finding code means. `reasons` holds texts for particular ``data["reason"]`` values."""

    code: str
    type: ExceptionType
    severity: Severity
    text: Promise
    text_en: str
    reasons: Mapping[str, tuple[Promise, str]] = field(default_factory=dict)


T2, T3, T5 = ExceptionType.RECIPIENT_ERROR, ExceptionType.PRODUCT_ERROR, ExceptionType.SPECIAL_REQUEST
BLOCKING, WARNING = Severity.BLOCKING, Severity.WARNING


def _rule(
    code: str,
    type_: ExceptionType,
    severity: Severity,
    text: Promise,
    text_en: str,
    reasons: Mapping[str, tuple[Promise, str]] | None = None,
) -> tuple[str, Rule]:
    return code, Rule(code, type_, severity, text, text_en, reasons or {})


RULES: Mapping[str, Rule] = dict(
    [
        # Recipient name (T2)
        _rule(name_checks.NAME_MISSING, T2, WARNING, _("收货人姓名为空"), "The recipient name is empty"),
        _rule(
            name_checks.NAME_MASKED,
            T2,
            WARNING,
            _("收货人姓名已被平台打码"),
            "The recipient name is masked by the platform",
        ),
        _rule(
            name_checks.NAME_INVALID,
            T2,
            WARNING,
            _("收货人姓名无效"),
            "The recipient name is not valid",
            {
                "too_long": (
                    _("收货人姓名过长：%(length)s 个字符"),
                    "The recipient name is too long: %(length)s characters",
                ),
                "contains_phone": (
                    _("收货人姓名中含有电话号码"),
                    "The recipient name contains a phone number",
                ),
                "no_letters": (
                    _("收货人姓名只有数字或符号"),
                    "The recipient name has only digits or symbols",
                ),
            },
        ),
        _rule(
            name_checks.NAME_PLACEHOLDER,
            T2,
            WARNING,
            _("收货人姓名像是占位文字（如“测试”“先生”“收件人”），不是真实姓名"),
            'The recipient name looks like a stand-in (such as "test", "Mr", "recipient"), not a real name',
        ),
        # Recipient phone (T2)
        _rule(phone_checks.PHONE_MISSING, T2, BLOCKING, _("收货人电话为空"), "The recipient phone is empty"),
        _rule(
            phone_checks.PHONE_MALFORMED,
            T2,
            BLOCKING,
            _("收货人电话含有非号码内容"),
            "The recipient phone contains something that is not a number",
        ),
        _rule(
            phone_checks.PHONE_BAD_LENGTH,
            T2,
            BLOCKING,
            _("手机号位数不对：%(digits)s 位"),
            "The phone has the wrong number of digits: %(digits)s",
            {
                "landline": (
                    _(
                        "固定电话 %(masked)s 位数不对：区号 %(area_code)s 后应为 7 到 8 位，实为 %(subscriber)s 位"
                    ),
                    "The landline %(masked)s has the wrong length: 7 or 8 digits should follow the area code %(area_code)s, not %(subscriber)s",
                )
            },
        ),
        _rule(
            phone_checks.PHONE_INVALID,
            T2,
            BLOCKING,
            _("号码 %(masked)s 不是有效号码（号段不存在）"),
            "%(masked)s is not a valid number (no such number range)",
            {"no_area_code": (_("固定电话 %(masked)s 缺少区号"), "The landline %(masked)s has no area code")},
        ),
        _rule(
            phone_checks.PHONE_MASKED,
            T2,
            WARNING,
            _("收货人电话已被平台打码（%(masked)s），需通过平台联系买家"),
            "The phone is masked by the platform (%(masked)s): contact the buyer through the platform",
        ),
        _rule(
            phone_checks.PHONE_VIRTUAL,
            T2,
            WARNING,
            _("收货人电话是平台虚拟号（%(masked)s），拨打时需加分机号"),
            "The phone is a platform virtual number (%(masked)s): dial it with its extension",
        ),
        _rule(
            phone_checks.PHONE_VIRTUAL_EXPIRED,
            T2,
            BLOCKING,
            _("虚拟号 %(masked)s 已于 %(expired_at)s 过期"),
            "The virtual number %(masked)s expired at %(expired_at)s",
        ),
        _rule(
            phone_checks.PHONE_VIRTUAL_EXPIRING,
            T2,
            WARNING,
            _("虚拟号 %(masked)s 将于 %(expires_at)s 过期（还剩约 %(hours_left)s 小时），请尽快联系"),
            "The virtual number %(masked)s expires at %(expires_at)s (about %(hours_left)s hours left): call soon",
        ),
        _rule(
            phone_checks.PHONE_SERVICE_NUMBER,
            T2,
            BLOCKING,
            _("收货人电话是服务号码，不是收货人的电话"),
            "The phone is a service number, not the recipient's",
            {
                "hotline": (
                    _("收货人电话是企业客服热线（400/800），不是收货人的电话"),
                    "The phone is a company hotline (400/800), not the recipient's",
                ),
                "service": (
                    _("收货人电话是 95/96 开头的服务号码，不是收货人的电话"),
                    "The phone is a 95/96 service number, not the recipient's",
                ),
                "short": (
                    _("收货人电话是短号（如 110、10086），不是收货人的电话"),
                    "The phone is a short service number (such as 110 or 10086), not the recipient's",
                ),
            },
        ),
        _rule(
            phone_checks.PHONE_AREA_CODE_MISMATCH,
            T2,
            WARNING,
            _("固定电话区号 %(area_code)s 属于%(area_place)s，与收货城市 %(city)s 不符"),
            "The landline's area code %(area_code)s is in %(area_place)s, not in the delivery city %(city)s",
        ),
        # Recipient address (T2)
        _rule(address_checks.ADDRESS_MISSING, T2, BLOCKING, _("收货地址为空"), "The address is empty"),
        _rule(
            address_checks.ADDRESS_NO_PROVINCE,
            T2,
            BLOCKING,
            _("地址缺少省份"),
            "The address has no province",
            {"unknown": (_("无法识别省份：%(given)s"), "Unknown province: %(given)s")},
        ),
        _rule(
            address_checks.ADDRESS_NO_CITY,
            T2,
            BLOCKING,
            _("地址缺少城市"),
            "The address has no city",
            {"unknown": (_("无法识别城市：%(given)s"), "Unknown city: %(given)s")},
        ),
        _rule(
            address_checks.ADDRESS_NO_DISTRICT,
            T2,
            BLOCKING,
            _("地址缺少区县"),
            "The address has no district or county",
            {
                "unknown": (
                    _("无法识别区县：%(given)s（可能已撤销或改名）"),
                    "Unknown district: %(given)s (it may have been abolished or renamed)",
                ),
                "placeholder": (_("区县是占位值：%(given)s"), "The district is a placeholder: %(given)s"),
                "ambiguous": (
                    _("多个城市都有区县 %(given)s，地址未写明是哪个城市"),
                    "Several cities have a district %(given)s and the address does not say which",
                ),
            },
        ),
        _rule(
            address_checks.ADDRESS_CONFLICT,
            T2,
            BLOCKING,
            _("地址前后矛盾：%(lower)s 不在 %(upper)s，而属于 %(belongs_to)s"),
            "The address contradicts itself: %(lower)s is not in %(upper)s but in %(belongs_to)s",
        ),
        _rule(
            address_checks.ADDRESS_NO_DETAIL, T2, BLOCKING, _("缺少详细地址"), "The street address is missing"
        ),
        _rule(
            address_checks.ADDRESS_NO_ROAD_OR_NUMBER,
            T2,
            BLOCKING,
            _("详细地址中没有道路、街巷、村组，也没有门牌号"),
            "The street address names no road, lane or village and has no house number",
        ),
        _rule(
            address_checks.ADDRESS_DETAIL_MASKED,
            T2,
            WARNING,
            _("详细地址已被平台打码，无法判断是否完整"),
            "The street address is masked by the platform and cannot be judged",
        ),
        _rule(
            address_checks.ADDRESS_NO_POSTCODE,
            T2,
            BLOCKING,
            _("境外地址缺少邮编（%(country)s）"),
            "The address abroad has no postcode (%(country)s)",
        ),
        # Addresses outside mainland China (T2; validation.abroad)
        _rule(
            abroad_checks.ADDRESS_COUNTRY_UNKNOWN,
            T2,
            BLOCKING,
            _("无法识别收货国家或地区代码：%(country)s"),
            "Unknown country or region code: %(country)s",
        ),
        _rule(
            abroad_checks.ADDRESS_NO_REGION,
            T2,
            BLOCKING,
            _("境外地址缺少州/省（%(country)s 要求填写）"),
            "The address abroad has no state or province (%(country)s requires one)",
        ),
        _rule(
            abroad_checks.ADDRESS_REGION_UNKNOWN,
            T2,
            BLOCKING,
            _("州/省 %(given)s 不是 %(country)s 的有效地区"),
            "%(given)s is not a state or province of %(country)s",
        ),
        _rule(
            abroad_checks.ADDRESS_POSTCODE_INVALID,
            T2,
            BLOCKING,
            _("邮编格式不符合 %(country)s 的规则（正确示例：%(example)s）"),
            "The postcode does not fit the format of %(country)s (for example %(example)s)",
        ),
        _rule(
            address_checks.ADDRESS_RENAMED_DIVISION,
            T2,
            WARNING,
            _("%(given)s 已于 %(since)s 撤销或更名，现为 %(current)s（建议改正）"),
            "%(given)s was abolished or renamed on %(since)s and is now %(current)s (suggested correction)",
        ),
        _rule(
            platform_checks.RECIPIENT_ENCRYPTED,
            T2,
            WARNING,
            _("收货人信息由平台加密，需经平台解密或通过平台联系买家；加密的字段未作检查"),
            "The recipient's details are encrypted by the platform: decrypt them through the platform or "
            "contact the buyer there; the encrypted fields were not checked",
        ),
        _rule(
            address_checks.ADDRESS_DIVISION_TYPO,
            T2,
            WARNING,
            _("%(given)s 疑似错字，应为 %(current)s（建议改正）"),
            "%(given)s looks like a typo for %(current)s (suggested correction)",
        ),
        _rule(
            address_checks.ADDRESS_LEVEL_SUGGESTED,
            T2,
            WARNING,
            _("地址未写全，可补全为：%(suggestion)s"),
            "The address leaves out a level; it can be completed as: %(suggestion)s",
        ),
        _rule(
            address_checks.ADDRESS_DETAIL_PLACEHOLDER,
            T2,
            BLOCKING,
            _("详细地址是占位内容（如“无”“不详”“测试”），不是真实地址"),
            "The street address is a placeholder (such as “none”, “unknown”, “test”), not a real address",
        ),
        _rule(
            address_checks.ADDRESS_DETAIL_TOO_SHORT,
            T2,
            WARNING,
            _("详细地址过短：只有 %(length)s 个字"),
            "The street address is too short: only %(length)s characters",
        ),
        _rule(
            address_checks.ADDRESS_NO_ROAD,
            T2,
            WARNING,
            _("详细地址有门牌号，但没有道路或小区名称"),
            "The street address has a number but names no road or place",
        ),
        _rule(
            address_checks.ADDRESS_NO_HOUSE_NUMBER,
            T2,
            WARNING,
            _("详细地址有道路，但没有门牌号"),
            "The street address names a road but has no house number",
        ),
        _rule(
            address_checks.ADDRESS_POSTCODE_MISMATCH,
            T2,
            WARNING,
            _("邮编不属于 %(province)s"),
            "The postcode is not one of %(province)s",
        ),
        _rule(
            address_checks.ADDRESS_TOO_LONG,
            T2,
            WARNING,
            _("地址过长（%(length)s 个字符），可能粘贴了其他内容"),
            "The address is too long (%(length)s characters): something else may have been pasted in",
        ),
        # Products (T3)
        _rule(
            product_checks.SKU_MISSING,
            T3,
            BLOCKING,
            _("第 %(line)s 行缺少商品编码"),
            "Line %(line)s has no SKU code",
        ),
        _rule(
            product_checks.SKU_UNKNOWN,
            T3,
            BLOCKING,
            _("第 %(line)s 行的商品编码 %(sku)s 在商品资料中不存在"),
            "Line %(line)s: the SKU code %(sku)s is not in the catalogue",
            {
                "similar": (
                    _("第 %(line)s 行的商品编码 %(sku)s 在商品资料中不存在，相近的编码：%(suggestions)s"),
                    "Line %(line)s: the SKU code %(sku)s is not in the catalogue; near codes: %(suggestions)s",
                )
            },
        ),
        _rule(
            product_checks.SKU_INACTIVE,
            T3,
            BLOCKING,
            _("第 %(line)s 行的商品 %(sku)s 已停用"),
            "Line %(line)s: the SKU %(sku)s is inactive",
        ),
        _rule(
            product_checks.SKU_ATTRIBUTES_MISMATCH,
            T3,
            BLOCKING,
            _("第 %(line)s 行的商品 %(sku)s 与订单规格不符：订购 %(ordered)s，商品资料为 %(stocked)s"),
            "Line %(line)s: the SKU %(sku)s does not match the order: ordered %(ordered)s, the SKU is %(stocked)s",
        ),
        _rule(
            product_checks.SKU_VARIANT_NOT_STOCKED,
            T3,
            BLOCKING,
            _("第 %(line)s 行款号 %(style)s 没有所订规格：订购 %(ordered)s，仓库只有 %(stocked_values)s"),
            "Line %(line)s: the style %(style)s has no such variant: ordered %(ordered)s, stocked %(stocked_values)s",
        ),
        _rule(
            product_checks.SKU_VARIANT_AMBIGUOUS,
            T3,
            BLOCKING,
            _("第 %(line)s 行款号 %(style)s 有多个规格符合订单，无法确定：%(candidates)s"),
            "Line %(line)s: several variants of the style %(style)s fit the order: %(candidates)s",
        ),
        _rule(
            product_checks.BUNDLE_COMPONENT_INACTIVE,
            T3,
            BLOCKING,
            _("第 %(line)s 行的组合商品 %(sku)s 含已停用的组件：%(components)s"),
            "Line %(line)s: the bundle %(sku)s has inactive components: %(components)s",
        ),
        # Special requests (T5)
        _rule(
            special_checks.SPECIAL_COURIER_REQUESTED,
            T5,
            BLOCKING,
            _("要求指定快递：%(courier_name)s（来自%(source_name)s）"),
            "A designated courier is requested: %(courier)s (from the %(source_name)s)",
        ),
        _rule(
            special_checks.SPECIAL_EXPRESS_REQUESTED,
            T5,
            BLOCKING,
            _("要求加急发货：“%(keyword)s”（来自%(source_name)s）"),
            'Expedited delivery is requested: "%(keyword)s" (from the %(source_name)s)',
        ),
        _rule(
            special_checks.SPECIAL_DELIVERY_TIME_REQUESTED,
            T5,
            BLOCKING,
            _("要求指定送货日期或时间：“%(keyword)s”（来自%(source_name)s）"),
            'A delivery date or time window is requested: "%(keyword)s" (from the %(source_name)s)',
        ),
        _rule(
            special_checks.SPECIAL_GIFT_WRAP_REQUESTED,
            T5,
            BLOCKING,
            _("要求礼品包装：“%(keyword)s”（来自%(source_name)s）"),
            'Gift packing is requested: "%(keyword)s" (from the %(source_name)s)',
        ),
        _rule(
            special_checks.SPECIAL_NO_PRICE_SLIP_REQUESTED,
            T5,
            BLOCKING,
            _("要求包裹内不放价格单或发票：“%(keyword)s”（来自%(source_name)s）"),
            'No price slip or invoice in the parcel is requested: "%(keyword)s" (from the %(source_name)s)',
        ),
        _rule(
            special_checks.SPECIAL_OTHER_REQUESTED,
            T5,
            BLOCKING,
            _("其他特殊需求：%(text)s"),
            "Another special request: %(text)s",
        ),
        # Flags the platform put on the order (validation.platform)
        _rule(
            platform_checks.ITEMS_INCOMPLETE,
            T3,
            BLOCKING,
            _("平台订单商品总数 %(expected)s 与明细 %(found)s 不符，可能缺少商品行"),
            "The platform's item count %(expected)s differs from the %(found)s in the item lines: a line may be missing",
        ),
        _rule(
            platform_checks.SKU_CHANGED_ON_PLATFORM,
            T3,
            BLOCKING,
            _("买家在平台上修改了商品：%(modified)s"),
            "The buyer changed the item on the platform: %(modified)s",
        ),
        _rule(
            platform_checks.PLATFORM_ANOMALY,
            T5,
            BLOCKING,
            _("平台标记了异常：%(text)s"),
            "The platform flags this order: %(text)s",
        ),
        # Stock (T1, found by allocation: inventory.services.stock_allocate)
        _rule(
            stock_checks.STOCK_SHORT,
            ExceptionType.OUT_OF_STOCK,
            BLOCKING,
            _("%(sku)s 缺货：需要 %(wanted)s，可用 %(free)s"),
            "%(sku)s is out of stock: %(wanted)s wanted, %(free)s available",
        ),
        _rule(
            stock_checks.STOCK_LOW,
            ExceptionType.OUT_OF_STOCK,
            WARNING,
            _("%(sku)s 低于安全库存：可用 %(available)s，安全库存 %(safety_stock)s"),
            "%(sku)s is below its safety stock: %(available)s available, safety stock %(safety_stock)s",
        ),
        _rule(
            stock_checks.STOCK_BACKORDER,
            ExceptionType.OUT_OF_STOCK,
            WARNING,
            _("%(sku)s 部分缺货：需要 %(wanted)s，已分配 %(allocated)s，其余待补货后发出"),
            "%(sku)s is partly out of stock: %(wanted)s wanted, %(allocated)s allocated, the rest ships when stock arrives",
        ),
    ]
)

# Findings that people make, not the checks (D4 sample audits, D5 customer-service reports):
# explained like the rules, but not rules (no merchant setting, never produced by
# `check_order`). `data["reason"]` is the audit's checklist item or the report's kind.
PERSON_FINDINGS: Mapping[str, Rule] = dict(
    [
        _rule(
            "AUDIT_FAILED",
            T2,
            BLOCKING,
            _("抽检未通过（%(day)s 的抽检）"),
            "Failed the sample audit (audit of %(day)s)",
            {
                "address": (
                    _("抽检未通过：地址不详细（%(day)s 的抽检）"),
                    "Sample audit: address not detailed (audit of %(day)s)",
                ),
                "recipient": (
                    _("抽检未通过：收件人信息不完整（%(day)s 的抽检）"),
                    "Sample audit: recipient incomplete (audit of %(day)s)",
                ),
                "items": (
                    _("抽检未通过：商品与库存或平台不符（%(day)s 的抽检）"),
                    "Sample audit: items do not match stock or the platform (audit of %(day)s)",
                ),
            },
        ),
        _rule(
            "SERVICE_REPORT",
            T5,
            BLOCKING,
            _("客服反馈（第 %(report)s 号）"),
            "Customer-service report no. %(report)s",
            {
                "special_courier": (
                    _("客服反馈特殊需求：指定快递（第 %(report)s 号）"),
                    "Special request reported by customer service: designated courier (report no. %(report)s)",
                ),
                "special_expedited": (
                    _("客服反馈特殊需求：加急发货（第 %(report)s 号）"),
                    "Special request reported by customer service: expedited delivery (report no. %(report)s)",
                ),
                "special_delivery_time": (
                    _("客服反馈特殊需求：指定送达时间（第 %(report)s 号）"),
                    "Special request reported by customer service: delivery time (report no. %(report)s)",
                ),
                "special_gift_packing": (
                    _("客服反馈特殊需求：礼品包装（第 %(report)s 号）"),
                    "Special request reported by customer service: gift packing (report no. %(report)s)",
                ),
                "special_no_price_slip": (
                    _("客服反馈特殊需求：不放价格单（第 %(report)s 号）"),
                    "Special request reported by customer service: no price slip (report no. %(report)s)",
                ),
                "special_other": (
                    _("客服反馈特殊需求：其他要求（第 %(report)s 号）"),
                    "Special request reported by customer service: other request (report no. %(report)s)",
                ),
                "address": (
                    _("客服反馈地址问题（第 %(report)s 号）"),
                    "Address problem reported by customer service (report no. %(report)s)",
                ),
                "product": (
                    _("客服反馈商品问题（第 %(report)s 号）"),
                    "Product problem reported by customer service (report no. %(report)s)",
                ),
                "other": (
                    _("客服反馈其他异常（第 %(report)s 号）"),
                    "Other anomaly reported by customer service (report no. %(report)s)",
                ),
            },
        ),
    ]
)


_SOURCE_NAMES: Mapping[str, tuple[Promise, str]] = {
    "buyer_note": (_("买家留言"), "buyer's note"),
    "seller_note": (_("卖家备注"), "seller's note"),
    "platform": (_("平台字段"), "platform's order data"),
}


class _Data(dict[str, Any]):
    """A value a finding does not carry (e.g. text withheld as possible personal data) reads
    as a dash rather than failing the whole explanation."""

    def __missing__(self, key: str) -> str:
        return "—"


def _label(key: str, english: bool) -> str:
    label = ATTRIBUTE_LABELS.get(key)
    return key if english or label is None else str(label)


def _show(value: Any, english: bool, key: str = "") -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{_label(str(k), english)}: {_show(v, english, str(k))}" for k, v in value.items())
    if isinstance(value, list | tuple):
        joiner = " / " if any(isinstance(v, Mapping) for v in value) else "/"
        return joiner.join(_show(v, english, key) for v in value)
    text = str(value)
    # Sizes are stored case-folded (xl); people read them in capitals.
    return text.upper() if key == SIZE and text.isascii() else text


def explain(finding: Finding, *, language: str | None = None) -> str:
    """The finding in plain words, in `language` or the active one (English for ``en*``,
    otherwise the gettext catalogue of the language, Simplified Chinese by default)."""
    rule = RULES.get(finding.code) or PERSON_FINDINGS.get(finding.code)
    if rule is None:
        return finding.code
    english = (language or translation.get_language() or "zh-hans").lower().startswith("en")
    with translation.override(language) if language else nullcontext():
        text, text_en = rule.text, rule.text_en
        reason = str(finding.data.get("reason", ""))
        if reason in rule.reasons:
            text, text_en = rule.reasons[reason]
        template = text_en if english else str(text)
        data = _Data({key: _show(value, english) for key, value in finding.data.items()})
        courier = finding.data.get("courier")
        if courier:
            data["courier_name"] = (
                COURIERS[courier][0] if courier in COURIERS else finding.data.get("given", courier)
            )
        suggestion = finding.data.get("suggestion")
        if isinstance(suggestion, Mapping):  # {"province": "浙江省", "city": "杭州市"} → 浙江省 杭州市
            data["suggestion"] = " ".join(str(name) for name in suggestion.values())
        source = str(finding.data.get("source", ""))
        if source in _SOURCE_NAMES:
            zh, en = _SOURCE_NAMES[source]
            data["source_name"] = en if english else str(zh)
        return template % data


# A merchant's setting that drops a rule's findings (`validation.models.RuleSetting.OFF`).
_OFF = "off"


@dataclass(frozen=True, slots=True)
class CheckResult:
    findings: list[Finding]
    parsed_address: ParsedAddress
    phone: PhoneResult
    resolved_sku_ids: list[int | None]

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.BLOCKING]

    @property
    def blocking_types(self) -> frozenset[ExceptionType]:
        """The exception types this order should open a case for."""
        return frozenset(f.type for f in self.findings if f.severity == Severity.BLOCKING)


def check_order(
    order: OrderIn,
    *,
    catalog: CatalogIndex,
    now: datetime,
    severity_overrides: Mapping[str, str] | None = None,
) -> CheckResult:
    """Run every D2 check on one order.

    Findings come in a stable order: recipient name, phone (its area code against the address's
    city last), address (outside mainland China: `validation.abroad`), lines (in line order),
    special requests. Fields a platform sent encrypted (`platform.encrypted_fields`) are not
    judged. A virtual number's expiry is `phone_expires_at`, else the one an adapter
    kept in `extra` (`phone.platform_phone_expiry`). `severity_overrides` (code → ``blocking``,
    ``warning`` or ``off``) applies a merchant's own choice per rule (`validation.rules`): a rule
    turned off leaves no finding.
    """
    encrypted = encrypted_fields(order.extra) if order.extra else frozenset()
    findings: list[Finding] = [] if "recipient_name" in encrypted else check_name(order.recipient_name)
    if "recipient_phone" in encrypted:
        phone = PhoneResult(normalised="", kind=PhoneKind.MASKED)  # RECIPIENT_ENCRYPTED says it
    else:
        phone = check_phone(
            order.recipient_phone,
            country=order.address.country,
            expires_at=order.phone_expires_at
            or (platform_phone_expiry(order.extra) if order.extra else None),
            now=now,
        )
    findings.extend(phone.findings)
    parsed = parse_address(order.address)
    findings.extend(
        check_area_code(
            phone, province=parsed.province_code and parsed.province, city=parsed.city_code and parsed.city
        )
    )
    if is_abroad(order.address.country):
        findings.extend(check_abroad_address(order.address))
    else:
        findings.extend(
            check_address(order.address, parsed, detail_readable="address.detail" not in encrypted)
        )
    resolved: list[int | None] = []
    for line_no, line in enumerate(order.lines, start=1):
        resolution = resolve_line(line, index=catalog, line_no=line_no)
        resolved.append(resolution.sku_id)
        findings.extend(resolution.findings)
    findings.extend(check_special(order))
    findings.extend(check_platform_flags(order))
    if severity_overrides:
        findings = [
            replace(f, severity=Severity(severity_overrides[f.code]))
            if f.code in severity_overrides and severity_overrides[f.code] != f.severity
            else f
            for f in findings
            if severity_overrides.get(f.code) != _OFF
        ]
    return CheckResult(findings=findings, parsed_address=parsed, phone=phone, resolved_sku_ids=resolved)
