from orderguard.core.choices import ExceptionType, Severity
from orderguard.validation.names import check_name


def summary(findings):
    return [(f.code, f.severity, f.data) for f in findings]


def test_ordinary_names_pass():
    for name in ("张三", "欧阳娜娜", "John Smith", "阿卜杜·热合曼", "张三1"):
        assert (name, check_name(name)) == (name, [])


def test_empty_name_is_missing():
    for raw in ("", "   ", None, "无", "未知", "NULL"):
        assert (raw, summary(check_name(raw))) == (raw, [("NAME_MISSING", Severity.BLOCKING, {})])


def test_masked_names_are_a_warning():
    for raw in ("林**", "*三", "林*明", "***", "林＊＊"):
        findings = check_name(raw)
        assert (raw, [(f.code, f.severity) for f in findings]) == (raw, [("NAME_MASKED", Severity.WARNING)])


def test_name_of_only_digits_or_punctuation_is_invalid():
    for raw in ("123", "...", "-", "12-34"):
        assert (raw, summary(check_name(raw))) == (
            raw,
            [("NAME_INVALID", Severity.BLOCKING, {"reason": "no_letters", "length": len(raw)})],
        )


def test_phone_number_in_the_name_field_is_invalid():
    assert summary(check_name("张三13800138000")) == [
        ("NAME_INVALID", Severity.BLOCKING, {"reason": "contains_phone", "length": 13})
    ]
    assert summary(check_name("13800138000")) == [
        ("NAME_INVALID", Severity.BLOCKING, {"reason": "contains_phone", "length": 11})
    ]


def test_name_longer_than_fifty_characters_is_invalid():
    assert summary(check_name("张" * 51)) == [
        ("NAME_INVALID", Severity.BLOCKING, {"reason": "too_long", "length": 51})
    ]
    assert check_name("张" * 50) == []


def test_findings_are_recipient_errors_on_the_name_field():
    findings = check_name("") + check_name("林**") + check_name("123")

    assert {(f.type, f.field) for f in findings} == {(ExceptionType.RECIPIENT_ERROR, "recipient_name")}


def test_findings_never_hold_the_name():
    for raw in ("林**", "张三13800138000", "张" * 51):
        assert all(raw not in str(f.data) for f in check_name(raw))
