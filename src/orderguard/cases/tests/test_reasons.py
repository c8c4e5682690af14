"""The reason codes of events, cases and stock movements in words (H1.3: a log people read)."""

from __future__ import annotations

from django.utils import translation

from orderguard.cases.reasons import reason_text
from orderguard.cases.services import CloseReason


def test_a_known_code_is_said_in_the_active_language():
    with translation.override("zh-hans"):
        assert reason_text("transfer_arrived") == "调拨已到货"
        assert reason_text(CloseReason.STOCK_ARRIVED) == "库存已到"
    with translation.override("en"):
        assert reason_text("transfer_arrived") == "Transfer arrived"
    with translation.override("zh-hant"):
        assert reason_text("transfer_arrived") == "調撥已到貨"


def test_a_code_with_a_reference_names_the_record():
    with translation.override("zh-hans"):
        assert reason_text("decision:12") == "商家决定 #12"
        assert reason_text("transfer_cancelled:3") == "调拨 #3 已取消"
    with translation.override("en"):
        assert reason_text("transfer:7") == "Transfer #7"


def test_text_a_person_typed_and_unknown_codes_stay_as_they_are():
    assert reason_text("PO-DEMO-1") == "PO-DEMO-1"
    assert reason_text("盘点差异") == "盘点差异"
    assert reason_text("decision:x") == "decision:x"
    assert reason_text("nonsense:5") == "nonsense:5"
    assert reason_text("") == "" and reason_text(None) == ""


def test_every_close_reason_of_the_checks_has_words():
    codes = [v for k, v in vars(CloseReason).items() if k.isupper()]
    with translation.override("en"):
        assert all(reason_text(c) != c for c in codes), codes
