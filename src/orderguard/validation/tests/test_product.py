from orderguard.catalog.attributes import normalise_attributes
from orderguard.core.choices import ExceptionType, Severity
from orderguard.orders.schema import LineIn
from orderguard.validation.product import CatalogIndex, SkuRecord, resolve_line


def sku(id, code, style="", barcode="", active=True, **attrs):
    return SkuRecord(
        id=id,
        code=code,
        style_code=style,
        barcode=barcode,
        attributes=normalise_attributes(attrs),
        active=active,
    )


CATALOG = CatalogIndex.build(
    [
        sku(1, "DRESS-RED-S", "DRESS", "6901000000011", 颜色="红色", 尺码="S"),
        sku(2, "DRESS-RED-M", "DRESS", "6901000000028", 颜色="红色", 尺码="M"),
        sku(3, "DRESS-BLK-S", "DRESS", "6901000000035", 颜色="黑色", 尺码="S"),
        sku(4, "MUG-OLD", "MUG", "6901000000042", active=False, 规格="300ml"),
        sku(5, "PAN-20", "PAN", "6901000000059", 规格="20厘米"),
        sku(6, "SHOE-38", "SHOE", "", active=False, 鞋码="38"),
        sku(7, "SHOE-38-NEW", "SHOE", "", 鞋码="38"),
        sku(8, "CAP-A", "", "6901000000066"),
        sku(9, "CAP-B", "", "6901000000066"),
    ]
)


def resolve(code, line_no=1, **attrs):
    return resolve_line(LineIn(sku_code=code, quantity=1, attributes=attrs), index=CATALOG, line_no=line_no)


def summary(resolution):
    return resolution.sku_id, [(f.code, f.data) for f in resolution.findings]


def test_exact_code_resolves():
    assert summary(resolve("DRESS-RED-M")) == (2, [])


def test_code_matches_after_trimming_full_width_and_case():
    assert summary(resolve("  ｄｒｅｓｓ-red-m ")) == (2, [])


def test_code_with_agreeing_attributes_resolves():
    assert summary(resolve("DRESS-RED-M", 颜色分类="红", 尺码="m")) == (2, [])


def test_attribute_keys_the_sku_lacks_do_not_contradict_it():
    assert summary(resolve("PAN-20", 规格="20厘米", 套餐="标配")) == (5, [])


def test_empty_code_is_missing():
    resolution = resolve("  ", line_no=3)

    assert summary(resolution) == (None, [("SKU_MISSING", {"line": 3})])
    assert resolution.findings[0].field == "lines[3].sku_code"


def test_unknown_code_is_unknown():
    assert summary(resolve("NOPE-1", line_no=2)) == (None, [("SKU_UNKNOWN", {"line": 2, "sku": "NOPE-1"})])


def test_code_whose_attributes_contradict_the_order_is_a_mismatch():
    assert summary(resolve("DRESS-RED-S", 尺码="XL", 颜色="红色")) == (
        None,
        [
            (
                "SKU_ATTRIBUTES_MISMATCH",
                {
                    "line": 1,
                    "sku": "DRESS-RED-S",
                    "ordered": {"size": "xl", "colour": "红"},
                    "stocked": {"size": "s", "colour": "红"},
                },
            )
        ],
    )


def test_inactive_sku_is_not_resolved():
    assert summary(resolve("MUG-OLD")) == (None, [("SKU_INACTIVE", {"line": 1, "sku": "MUG-OLD"})])


def test_barcode_works_like_a_code():
    assert summary(resolve("6901000000028")) == (2, [])
    assert summary(resolve("6901000000011", 尺码="M"))[1][0][0] == "SKU_ATTRIBUTES_MISMATCH"
    assert summary(resolve("6901000000042")) == (None, [("SKU_INACTIVE", {"line": 1, "sku": "MUG-OLD"})])


def test_style_code_picks_the_variant_with_the_ordered_attributes():
    assert summary(resolve("DRESS", 颜色分类="黑色", 尺码="S")) == (3, [])
    assert summary(resolve("dress", 颜色="红", 尺码="M码")) == (2, [])


def test_style_code_with_attributes_that_narrow_to_one_variant_resolves():
    assert summary(resolve("DRESS", 颜色="黑色")) == (3, [])


def test_style_with_one_variant_resolves_without_attributes():
    assert summary(resolve("PAN")) == (5, [])


def test_style_code_without_the_ordered_variant_is_not_stocked():
    assert summary(resolve("DRESS", 尺码="XL")) == (
        None,
        [
            (
                "SKU_VARIANT_NOT_STOCKED",
                {
                    "line": 1,
                    "style": "DRESS",
                    "ordered": {"size": "xl"},
                    "stocked": [
                        {"colour": "红", "size": "s"},
                        {"colour": "红", "size": "m"},
                        {"colour": "黑", "size": "s"},
                    ],
                    "stocked_values": {"size": ["m", "s"]},
                },
            )
        ],
    )


def test_style_code_with_too_few_attributes_is_ambiguous():
    assert summary(resolve("DRESS", 尺码="S")) == (
        None,
        [
            (
                "SKU_VARIANT_AMBIGUOUS",
                {
                    "line": 1,
                    "style": "DRESS",
                    "ordered": {"size": "s"},
                    "candidates": ["DRESS-RED-S", "DRESS-BLK-S"],
                },
            )
        ],
    )
    assert summary(resolve("DRESS"))[1][0][0] == "SKU_VARIANT_AMBIGUOUS"


def test_active_variant_is_preferred_over_an_inactive_twin():
    assert summary(resolve("SHOE", 尺码="38")) == (7, [])


def test_only_an_inactive_variant_matching_is_inactive():
    assert summary(resolve("MUG", 规格="300ML")) == (None, [("SKU_INACTIVE", {"line": 1, "sku": "MUG-OLD"})])


def test_barcode_shared_by_several_skus_is_ambiguous():
    assert summary(resolve("6901000000066"))[1] == [
        (
            "SKU_VARIANT_AMBIGUOUS",
            {"line": 1, "style": "6901000000066", "ordered": {}, "candidates": ["CAP-A", "CAP-B"]},
        )
    ]


def test_findings_are_blocking_product_errors():
    findings = [
        *resolve("").findings,
        *resolve("NOPE").findings,
        *resolve("DRESS", 尺码="XL").findings,
        *resolve("DRESS").findings,
        *resolve("MUG-OLD").findings,
        *resolve("DRESS-RED-S", 尺码="XL").findings,
    ]

    assert [f.code for f in findings] == [
        "SKU_MISSING",
        "SKU_UNKNOWN",
        "SKU_VARIANT_NOT_STOCKED",
        "SKU_VARIANT_AMBIGUOUS",
        "SKU_INACTIVE",
        "SKU_ATTRIBUTES_MISMATCH",
    ]
    assert {(f.type, f.severity) for f in findings} == {(ExceptionType.PRODUCT_ERROR, Severity.BLOCKING)}


def test_index_by_variant_finds_the_exact_variant():
    assert [r.id for r in CATALOG.by_variant("DRESS", {"colour": "黑", "size": "s"})] == [3]
    assert len(CATALOG) == 9


def test_unknown_code_suggests_the_merchants_nearest_codes():
    assert summary(resolve("DRESS-RED-XL", line_no=2)) == (
        None,
        [
            (
                "SKU_UNKNOWN",
                {
                    "line": 2,
                    "sku": "DRESS-RED-XL",
                    "reason": "similar",
                    "suggestions": ["DRESS-RED-M", "DRESS-RED-S"],
                },
            )
        ],
    )


def test_suggestions_ignore_case_and_skip_inactive_codes():
    assert summary(resolve("mug-olx")) == (None, [("SKU_UNKNOWN", {"line": 1, "sku": "mug-olx"})])
    assert summary(resolve("pan-02"))[1][0][1]["suggestions"] == ["PAN-20"]


def test_suggestions_are_computed_once_per_code_and_catalogue():
    catalog = CatalogIndex.build([sku(1, "TEE-BLUE-M"), sku(2, "TEE-BLUE-L")])
    line = LineIn(sku_code="TEE-BLU-M", quantity=1)

    first = resolve_line(line, index=catalog, line_no=1)
    second = resolve_line(line, index=catalog, line_no=2)

    assert first.findings[0].data["suggestions"] == ["TEE-BLUE-M", "TEE-BLUE-L"]
    assert second.findings[0].data["suggestions"] is first.findings[0].data["suggestions"]


def test_far_codes_are_not_suggested():
    assert summary(resolve("ZZZ-999")) == (None, [("SKU_UNKNOWN", {"line": 1, "sku": "ZZZ-999"})])


def test_shopify_options_are_placed_under_the_stocked_attribute():
    assert summary(resolve("DRESS", option1="红色", option2="M")) == (2, [])
    assert summary(resolve("DRESS", variant="黑色"))[0] == 3


def test_shopify_size_option_not_stocked_lists_what_is_stocked():
    assert summary(resolve("DRESS", option1="红色", option2="XL")) == (
        None,
        [
            (
                "SKU_VARIANT_NOT_STOCKED",
                {
                    "line": 1,
                    "style": "DRESS",
                    "ordered": {"colour": "红", "size": "xl"},
                    "stocked": [
                        {"colour": "红", "size": "s"},
                        {"colour": "红", "size": "m"},
                        {"colour": "黑", "size": "s"},
                    ],
                    "stocked_values": {"colour": ["红", "黑"], "size": ["m", "s"]},
                },
            )
        ],
    )


def test_shopify_option_contradicting_a_sku_code_is_a_mismatch():
    assert summary(resolve("DRESS-RED-S", option1="XL"))[1] == [
        (
            "SKU_ATTRIBUTES_MISMATCH",
            {"line": 1, "sku": "DRESS-RED-S", "ordered": {"size": "xl"}, "stocked": {"size": "s"}},
        )
    ]


BUNDLES = CatalogIndex.build(
    [
        sku(20, "SOCK-W", active=True),
        sku(21, "SOCK-B", active=False),
        sku(22, "SOCK-G", active=False),
        SkuRecord(id=23, code="SOCK-SET", components=(20, 21, 22)),
        SkuRecord(id=24, code="SOCK-DUO", components=(20,)),
        SkuRecord(id=25, code="GIFT-RED", style_code="GIFT", attributes={"colour": "红"}, components=(21,)),
    ]
)


def test_a_bundle_with_inactive_components_names_them():
    line = LineIn(sku_code="SOCK-SET", quantity=2)

    resolution = resolve_line(line, index=BUNDLES, line_no=3)

    assert summary(resolution) == (
        None,
        [("BUNDLE_COMPONENT_INACTIVE", {"line": 3, "sku": "SOCK-SET", "components": ["SOCK-B", "SOCK-G"]})],
    )
    assert resolution.findings[0].field == "lines[3].sku_code"


def test_a_bundle_whose_components_are_all_active_resolves():
    assert summary(resolve_line(LineIn(sku_code="SOCK-DUO", quantity=1), index=BUNDLES, line_no=1)) == (
        24,
        [],
    )


def test_a_bundle_found_by_its_style_is_checked_the_same_way():
    line = LineIn(sku_code="GIFT", quantity=1, attributes={"颜色": "红色"})

    assert summary(resolve_line(line, index=BUNDLES, line_no=1)) == (
        None,
        [("BUNDLE_COMPONENT_INACTIVE", {"line": 1, "sku": "GIFT-RED", "components": ["SOCK-B"]})],
    )
