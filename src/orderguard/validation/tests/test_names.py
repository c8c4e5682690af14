from orderguard.core.choices import ExceptionType, Severity
from orderguard.validation.names import check_name


def summary(findings):
    return [(f.code, f.severity, f.data) for f in findings]


def test_ordinary_names_pass():
    for name in ("张三", "欧阳娜娜", "John Smith", "阿卜杜·热合曼", "张三1"):
        assert (name, check_name(name)) == (name, [])


def test_empty_name_is_missing():
    for raw in ("", "   ", None, "无", "未知", "NULL"):
        assert (raw, summary(check_name(raw))) == (raw, [("NAME_MISSING", Severity.WARNING, {})])


def test_masked_names_are_a_warning():
    for raw in ("林**", "*三", "林*明", "***", "林＊＊"):
        findings = check_name(raw)
        assert (raw, [(f.code, f.severity) for f in findings]) == (raw, [("NAME_MASKED", Severity.WARNING)])


def test_name_of_only_digits_punctuation_or_emoji_is_invalid():
    for raw in ("...", "-", "12-34", "13-5", "😀😀", "🙂 ❤️", "１２-３４"):
        assert (raw, summary(check_name(raw))) == (
            raw,
            [("NAME_INVALID", Severity.WARNING, {"reason": "no_letters", "length": len(raw)})],
        )


def test_phone_number_in_the_name_field_is_invalid():
    assert summary(check_name("张三13800138000")) == [
        ("NAME_INVALID", Severity.WARNING, {"reason": "contains_phone", "length": 13})
    ]
    assert summary(check_name("13800138000")) == [
        ("NAME_INVALID", Severity.WARNING, {"reason": "contains_phone", "length": 11})
    ]


def test_name_longer_than_fifty_characters_is_invalid():
    assert summary(check_name("张" * 51)) == [
        ("NAME_INVALID", Severity.WARNING, {"reason": "too_long", "length": 51})
    ]
    assert check_name("张" * 50) == []


def test_findings_are_recipient_errors_on_the_name_field():
    findings = check_name("") + check_name("林**") + check_name("123")

    assert {(f.type, f.field) for f in findings} == {(ExceptionType.RECIPIENT_ERROR, "recipient_name")}


def test_findings_never_hold_the_name():
    for raw in ("林**", "张三13800138000", "张" * 51):
        assert all(raw not in str(f.data) for f in check_name(raw))


def test_stand_ins_for_a_name_are_placeholders():
    for raw in (
        "测试",
        "Test",
        "TEST 2",
        "先生",
        "女士",
        "小姐",
        "收件人",
        "收货人",
        "买家",
        "买家1",
        "x",
        "X",
        "xxx",
        "123",
        "123456",
        "1111",
        "000",
        "某某",
        "ｔｅｓｔ",
    ):
        assert (raw, summary(check_name(raw))) == (
            raw,
            [("NAME_PLACEHOLDER", Severity.WARNING, {"length": len(raw.replace("ｔｅｓｔ", "test"))})],
        )


def test_a_surname_with_a_title_is_a_name_not_a_placeholder():
    for raw in ("王先生", "李女士", "陈小姐", "Mr Smith", "测试员张三"):
        assert (raw, check_name(raw)) == (raw, [])


def test_every_name_finding_is_a_warning_never_blocking():
    raws = ("", "林**", "测试", "12-34", "张" * 51, "张三13800138000", "😀")

    assert {f.severity for raw in raws for f in check_name(raw)} == {Severity.WARNING}


def test_control_and_zero_width_characters_are_ignored():
    assert check_name("张\u200b三") == []
    assert check_name("张\x00三") == []
    assert summary(check_name("\u200b\ufeff")) == [("NAME_MISSING", Severity.WARNING, {})]
    assert summary(check_name("\x07\x1b")) == [("NAME_MISSING", Severity.WARNING, {})]


def test_mixed_scripts_are_a_name():
    for raw in ("Anna 李", "Алексей", "김민수", "محمد", "阿卜杜·热合曼"):
        assert (raw, check_name(raw)) == (raw, [])


def test_ten_kilobytes_of_text_is_too_long_not_an_error():
    assert summary(check_name("张" * 10_000)) == [
        ("NAME_INVALID", Severity.WARNING, {"reason": "too_long", "length": 10_000})
    ]
