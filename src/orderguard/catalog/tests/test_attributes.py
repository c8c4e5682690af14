from hypothesis import given
from hypothesis import strategies as st

from orderguard.catalog.attributes import (
    attributes_signature,
    normalise_attributes,
    normalise_key,
    normalise_value,
)


def test_platform_keys_map_to_canonical_keys():
    raw = {"颜色分类": "红色", "尺码": "XL", "规格": "500ml", "款式": "修身"}

    assert normalise_attributes(raw) == {"colour": "红", "size": "xl", "spec": "500ml", "style": "修身"}


def test_every_listed_alias_maps_to_its_canonical_key():
    aliases = {
        "colour": ["颜色", "颜色分类", "色", "color", "Colour", "COLOR"],
        "size": ["尺码", "尺寸", "码数", "鞋码", "size", "Size"],
        "spec": ["规格", "型号", "容量", "spec"],
        "style": ["款式", "版型", "style"],
    }

    for canonical, keys in aliases.items():
        assert [normalise_key(k) for k in keys] == [canonical] * len(keys)


def test_unknown_key_is_kept_trimmed_and_lower_cased():
    assert normalise_attributes({" Material ": "Cotton", "材质：": "棉"}) == {
        "material": "cotton",
        "材质": "棉",
    }


def test_full_width_values_become_half_width_and_case_folded():
    assert normalise_attributes({"尺码": "ＸＬ", "颜色": " Ｒｅｄ  Wine "}) == {
        "size": "xl",
        "colour": "red wine",
    }


def test_trailing_colour_character_is_stripped_only_after_a_chinese_character():
    assert normalise_value("colour", "玫红色") == "玫红"
    assert normalise_value("colour", "色") == "色"
    assert normalise_value("colour", "blue色") == "blue色"


def test_trailing_colour_character_is_kept_outside_colour():
    assert normalise_value("style", "本色") == "本色"


def test_size_aliases_are_canonical():
    assert [
        normalise_value("size", v) for v in ("XXL", "2XL", "XL码", "38码", "加大码", "均码", "Free Size")
    ] == [
        "2xl",
        "2xl",
        "xl",
        "38",
        "xl",
        "均码",
        "均码",
    ]


def test_empty_values_are_dropped_and_first_alias_wins():
    assert normalise_attributes({"颜色": "", "颜色分类": "黑色", "色": "白色", "尺码": "  "}) == {
        "colour": "黑"
    }


def test_signature_ignores_key_order():
    assert attributes_signature({"size": "s", "colour": "红"}) == attributes_signature(
        {"colour": "红", "size": "s"}
    )
    assert attributes_signature({"size": "s", "colour": "红"}) == (("colour", "红"), ("size", "s"))


_keys = st.sampled_from(["颜色", "颜色分类", "尺码", "size", "规格", "款式", "材质", " Color "])
_values = st.text(alphabet=st.sampled_from(list("红黑色XxLlSsＸＬ 码0123456789加大均")), max_size=8)


@given(st.dictionaries(_keys, _values, max_size=6))
def test_normalising_twice_changes_nothing(raw):
    once = normalise_attributes(raw)

    assert normalise_attributes(once) == once
