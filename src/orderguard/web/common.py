"""What the pages share: who is asking, "any" in a filter, which filters are invalid, and exact
times in page cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from orderguard.tenancy.access import Actor, NoRole, actor_for

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def actor_or_refuse(request: HttpRequest) -> Actor | HttpResponse:
    """The signed-in user's actor, or the plain 403 page for a user without a role."""
    try:
        return actor_for(request.user)
    except NoRole:
        return render(request, "web/no_role.html", status=403)


def with_any(choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """A filter's choices with "全部" (no filter) first."""
    return [("", gettext_lazy("全部")), *choices]


def invalid_filters(form: forms.Form) -> str:
    """The labels of a filter form's invalid fields, in the form's order, each once, for the
    "筛选条件无效：…" message (web/_invalid_filters.html)."""
    labels = [str(field.label) for name, field in form.fields.items() if name in form.errors]
    return ", ".join(dict.fromkeys(labels))


def micros_text(moment: datetime | None) -> str:
    """A time as integer microseconds since the epoch ("n" for none), for a page cursor: a float
    timestamp would lose the last digits, and the next page would repeat or skip a row."""
    if moment is None:
        return "n"
    delta = moment - EPOCH
    return str((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


def micros_parse(text: str) -> datetime | None:
    """The time `micros_text` wrote."""
    return None if text == "n" else EPOCH + timedelta(microseconds=int(text))
