from orderguard.core.masking import mask_detail, mask_name, mask_phone


def test_a_mobile_keeps_its_first_three_and_last_four_digits():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("+86 138-0013-8000") == "138****8000"


def test_other_numbers_keep_only_their_last_four_digits():
    assert mask_phone("0571-88888888") == "********8888"
    assert mask_phone("12") == "***12"
    assert mask_phone("") == ""


def test_names_keep_their_first_character():
    assert (mask_name("张三"), mask_name("欧阳娜娜"), mask_name("Li"), mask_name("王"), mask_name("")) == (
        "张*",
        "欧***",
        "L*",
        "王*",
        "",
    )


def test_the_street_address_is_hidden_whole():
    assert (mask_detail("文三路90号3幢501室"), mask_detail("")) == ("****", "")
