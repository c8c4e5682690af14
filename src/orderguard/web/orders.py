"""The orders pages: search the orders one may see, and one order in full (recipient masked).

Thin views: the filters are parsed by a form, the page comes from `orders_page` and the order
from `order_get` and its selectors.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.sessions.models import Session
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from orderguard.cases.disputes import orders_disputed_skus
from orderguard.cases.selectors import cases_of_order
from orderguard.core.choices import Severity
from orderguard.core.errors import NotFound
from orderguard.core.findings import Finding
from orderguard.core.masking import mask_detail, mask_name
from orderguard.inventory.selectors import orders_short_skus
from orderguard.orders.choices import OrderStatus
from orderguard.orders.models import Channel, OrderEvent
from orderguard.orders.selectors import (
    OrderCursor,
    order_events,
    order_get,
    order_lines,
    orders_page,
)
from orderguard.tenancy.access import Actor, usernames_as_seen_by, visible
from orderguard.validation.checks import explain
from orderguard.web.common import (
    actor_or_refuse,
    invalid_filters,
    micros_parse,
    micros_text,
    with_any,
)

PAGE_SIZE = 50
# Searches a session remembers (the oldest is forgotten first); a search older than that asks to
# be typed again.
SEARCHES_KEPT = 20
SESSION_KEY = "order_searches"


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("搜索"),
        required=False,
        max_length=100,
        # no NUL: no stored value contains one, and PostgreSQL refuses it in a query
        validators=[RegexValidator(r"^[^\x00]*$")],
        widget=forms.TextInput(
            attrs={
                "placeholder": gettext_lazy("订单号、电话后四位、收货人姓名或商家编码"),
                "autocomplete": "off",
                "class": "form-control form-control-sm",
            }
        ),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("状态"), required=False, choices=with_any(OrderStatus.choices)
    )
    channel = forms.ChoiceField(label=gettext_lazy("店铺"), required=False)
    # the token a posted search is kept under in the session: named as the search it stands for
    s = forms.RegexField(
        label=gettext_lazy("搜索"), regex=r"^[\w-]{1,32}$", required=False, widget=forms.HiddenInput
    )
    # bounded: a larger time would not be a datetime, a larger key not a 64-bit integer
    after = forms.RegexField(
        label=gettext_lazy("分页位置"),
        regex=r"^(n|\d{1,17})-\d{1,18}$",
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, channels: list[Channel], **kw: Any):
        super().__init__(*args, **kw)
        channel = self.fields["channel"]
        assert isinstance(channel, forms.ChoiceField)
        channel.choices = with_any([(c.code, c.name) for c in channels])
        for name in ("status", "channel"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"


def _cursor(text: str) -> OrderCursor | None:
    if not text:
        return None
    paid, pk = text.split("-")
    return OrderCursor(paid_at=micros_parse(paid), pk=int(pk))


def _cursor_text(cursor: OrderCursor) -> str:
    return f"{micros_text(cursor.paid_at)}-{cursor.pk}"


def _remember(request: HttpRequest, q: str) -> str:
    """Keep `q` in the session under a fresh random token and return the token.

    Saving a session moves its end to SESSION_COOKIE_AGE from now; a search must not keep a
    sign-in alive, so the end the sign-in set is pinned first."""
    session = request.session
    if session.get("_session_expiry") is None and session.session_key:
        ends = Session.objects.filter(session_key=session.session_key).values_list("expire_date", flat=True)
        if ends:
            session.set_expiry(ends[0])
    searches: dict[str, str] = dict(session.get(SESSION_KEY, {}))
    token = secrets.token_urlsafe(12)
    searches[token] = q
    while len(searches) > SEARCHES_KEPT:
        searches.pop(next(iter(searches)))
    request.session[SESSION_KEY] = searches
    return token


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def orders(request: HttpRequest) -> HttpResponse:
    """The orders the user may see, newest payment first, one page at a time (keyset, no count).

    The search text never goes into a URL: it may be a recipient's name or the end of a phone
    number, and a URL is kept in server and proxy logs, browser history and the Referer of the
    next request. The search box posts (with the CSRF token); the text is kept in the session
    under a random token and the browser is redirected (303) to ``?s=<token>``, so reloading,
    going back and the next-page links work without resubmitting and without the text.
    Status and channel are no personal data and stay plain GET parameters. An invalid filter,
    posted or in the URL, is refused (400) naming it, as the work queue does.
    """
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    channels = list(visible(Channel.objects.all(), actor).order_by("code"))
    if request.method == "POST":
        form = OrderFilterForm(request.POST, channels=channels)
        if not form.is_valid():
            return _refused(request, form, q=request.POST.get("q", ""), is_staff=actor.is_staff_role)
        data = form.cleaned_data
        kept = {k: data[k] for k in ("status", "channel") if data[k]}
        q = data["q"].strip()
        if q:
            kept["s"] = _remember(request, q)
        target = reverse("web:orders") + (f"?{urlencode(kept)}" if kept else "")
        return HttpResponseRedirect(target, status=303)

    form = OrderFilterForm(request.GET, channels=channels)
    if not form.is_valid():
        # a well-formed token still shows its search text in the box, as typed
        q = _searched(request, form.cleaned_data.get("s", ""))
        return _refused(request, form, q=q, is_staff=actor.is_staff_role)
    data = form.cleaned_data
    token = data["s"]
    q = _searched(request, token)
    if token and not q:
        messages.info(request, _("这次搜索已过期，请重新输入搜索内容。"))
    after = _cursor(data["after"])
    rows, next_cursor = orders_page(
        actor=actor,
        q=q,
        status=data["status"],
        channel_code=data["channel"],
        after=after,
        limit=PAGE_SIZE,
    )
    kept = {k: data[k] for k in ("status", "channel") if data[k]}
    if q:
        kept["s"] = token
    return render(
        request,
        "web/orders.html",
        {
            "form": form,
            "q": q,
            "rows": [
                {"order": o, "name": mask_name(o.recipient_name), "phone": o.phone_masked} for o in rows
            ],
            "is_staff": actor.is_staff_role,
            "filtered": bool(q or kept),
            "filters_query": urlencode(kept),
            "next_query": urlencode({**kept, "after": _cursor_text(next_cursor)}) if next_cursor else "",
            "paged": after is not None,
        },
    )


def _searched(request: HttpRequest, token: str) -> str:
    """The search text the session keeps under `token` ("" for none or a forgotten one)."""
    return request.session.get(SESSION_KEY, {}).get(token, "") if token else ""


def _refused(request: HttpRequest, form: OrderFilterForm, *, q: str, is_staff: bool) -> HttpResponse:
    """The page with the filters as given and the invalid ones named (400); no orders are listed
    from the filters that were valid, which would pass for the answer to the whole search."""
    return render(
        request,
        "web/orders.html",
        {"form": form, "q": q, "invalid": invalid_filters(form), "is_staff": is_staff, "filtered": True},
        status=400,
    )


def _finding_text(data: dict[str, Any]) -> dict[str, Any]:
    finding = Finding.from_dict(data)
    return {"text": explain(finding), "blocking": finding.severity == Severity.BLOCKING, "code": finding.code}


def _event_rows(events: list[OrderEvent], actor: Actor) -> list[dict[str, Any]]:
    """The order's log as the page shows it; who acted is a username for staff and a role for a
    merchant user (`user:ann` → "客服"), "系统" for the jobs."""
    names = {e.actor_label.removeprefix("user:") for e in events if e.actor_label.startswith("user:")}
    shown = usernames_as_seen_by(actor=actor, usernames=names)
    rows = []
    for event in events:
        status = event.data.get("status", "") if isinstance(event.data, dict) else ""
        codes = event.data.get("codes", []) if isinstance(event.data, dict) else []
        name = event.actor_label.removeprefix("user:") if event.actor_label.startswith("user:") else ""
        rows.append(
            {
                "event": event,
                "who": shown[name] if name else _("系统"),
                "status": OrderStatus(status).label if status in OrderStatus.values else "",
                "problems": len(codes) if isinstance(codes, list) else 0,
            }
        )
    return rows


@never_cache
@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order: header, masked recipient, lines with what is allocated, findings in plain
    words, its cases and its log. Another merchant's order is a 404 like a missing one."""
    actor = actor_or_refuse(request)
    if isinstance(actor, HttpResponse):
        return actor
    try:
        order = order_get(actor=actor, order_id=order_id)
    except NotFound:
        return render(request, "web/refused.html", {"message": _("找不到该订单")}, status=404)
    return render(
        request,
        "web/order.html",
        {
            "order": order,
            "is_staff": actor.is_staff_role,
            "recipient": {
                "name": mask_name(order.recipient_name),
                "phone": order.phone_masked,
                "detail": mask_detail(order.address_detail),
            },
            "lines": order_lines(order=order),
            "short_skus": orders_short_skus(orders=[order])[order.pk],
            "disputed_skus": orders_disputed_skus(orders=[order])[order.pk],
            "findings": [_finding_text(f) for f in order.findings],
            "cases": cases_of_order(order=order),
            "events": _event_rows(order_events(order=order), actor),
        },
    )
