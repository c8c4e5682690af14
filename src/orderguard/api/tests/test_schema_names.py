"""The OpenAPI document names each component schema by its class name: two schemas of the same
name in different modules would silently share one entry, and one operation would be documented
with the other's shape."""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

from ninja import Schema

import orderguard.api


def test_every_api_schema_has_a_name_of_its_own():
    for info in pkgutil.iter_modules(orderguard.api.__path__):
        importlib.import_module(f"orderguard.api.{info.name}")
    modules: dict[str, set[str]] = defaultdict(set)
    pending = list(Schema.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("orderguard.") and ".tests." not in cls.__module__:
            modules[cls.__name__].add(cls.__module__)
    assert {name: sorted(m) for name, m in modules.items() if len(m) > 1} == {}


def test_the_openapi_document_has_one_component_per_schema_class():
    from orderguard.api.urls import api

    components = api.get_openapi_schema()["components"]["schemas"]
    assert {"FeedbackOut", "ReportOut", "CaseContactIn", "IncidentContactIn", "MerchantContactIn"} <= set(
        components
    )
    assert "ContactIn" not in components
