"""Every route and API operation against every kind of caller, and a second merchant.

The tables below must name every URL the resolver knows (admin aside: Django's admin has its
own staff check) and every operation of the OpenAPI document; a new route that is not added
here fails `test_every_route_is_in_the_matrix`, so nobody ships an endpoint whose access was
never decided.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from orderguard.analysis.models import ImprovementAction
from orderguard.api.urls import api
from orderguard.audits.models import AuditLine, DailyAudit
from orderguard.cases.models import ExceptionCase
from orderguard.catalog.models import SkuDispute
from orderguard.catalog.tests.factories import SkuFactory, WarehouseFactory
from orderguard.feedback.services import Upload, report_file
from orderguard.incidents.models import Incident, ManualOrder
from orderguard.intake.models import ImportBatch, ImportRowError
from orderguard.inventory.models import StockDecision, StockLevel, Transfer
from orderguard.notifications.models import InboxItem, MerchantContact, NotificationChannel, OutboxMessage
from orderguard.orders.tests.factories import ChannelFactory, OrderFactory
from orderguard.tenancy.access import actor_for
from orderguard.tenancy.tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

# Callers. "merchant" owns the objects the requests name; "other_merchant" is a second tenant.
CALLERS = (
    "anonymous",
    "no_role",
    "merchant",
    "other_merchant",
    "operator",
    "cs_agent",
    "tech_oncall",
    "manager",
    "admin",
)
STAFF = ("operator", "cs_agent", "tech_oncall", "manager", "admin")


def expect(anonymous: int, no_role: int, merchant: int, other_merchant: int, staff: int) -> dict[str, int]:
    return {
        "anonymous": anonymous,
        "no_role": no_role,
        "merchant": merchant,
        "other_merchant": other_merchant,
        **dict.fromkeys(STAFF, staff),
    }


# route (as the resolver prints it) → (method, URL template, expected status per caller)
PAGES: dict[str, tuple[str, str, dict[str, int]]] = {
    "": ("GET", "/", expect(302, 403, 200, 200, 200)),
    "dashboard/panels": ("GET", "/dashboard/panels", expect(302, 403, 200, 200, 200)),
    # the pages' language: anyone may switch (an empty form changes nothing and goes back)
    "language/": ("POST", "/language/", expect(302, 302, 302, 302, 302)),
    "accounts/login/": ("GET", "/accounts/login/", expect(200, 302, 302, 302, 302)),
    "accounts/logout/": ("GET", "/accounts/logout/", expect(405, 405, 405, 405, 405)),
    "i18n/setlang/": ("POST", "/i18n/setlang/", expect(302, 302, 302, 302, 302)),
    "api/v1/": ("GET", "/api/v1/", expect(404, 404, 404, 404, 404)),
    "api/v1/openapi.json": ("GET", "/api/v1/openapi.json", expect(200, 200, 200, 200, 200)),
    "api/v1/docs": ("GET", "/api/v1/docs", expect(200, 200, 200, 200, 200)),
    # probes and metrics: no tenant data, for the platform (metrics may require a token)
    "healthz": ("GET", "/healthz", expect(200, 200, 200, 200, 200)),
    "readyz": ("GET", "/readyz", expect(200, 200, 200, 200, 200)),
    "metrics": ("GET", "/metrics", expect(200, 200, 200, 200, 200)),
    # the work queue: every role reads it (scoped); only staff take or assign (a merchant user is
    # refused on its own case and told "not found" on another merchant's)
    "queue/": ("GET", "/queue/", expect(302, 403, 200, 200, 200)),
    "queue/take/<int:case_id>": ("POST", "/queue/take/{case_id}", expect(302, 403, 403, 404, 302)),
    "queue/assign": ("POST", "/queue/assign", expect(302, 403, 403, 403, 302)),
    # orders: the list for every role (scoped; its search is also posted, see web/tests/test_orders.py);
    # an order is its merchant's and the staff's
    "orders/": ("GET", "/orders/", expect(302, 403, 200, 200, 200)),
    "orders/<int:order_id>/": ("GET", "/orders/{order_id}/", expect(302, 403, 200, 404, 200)),
    # the case page: every role reads its cases (another merchant's is "not found"); staff act,
    # take and assign (an empty form: back to the page with a message), a merchant user only
    # adds notes; agents, managers and admins reveal the recipient (logged)
    "cases/<int:case_id>/": ("GET", "/cases/{case_id}/", expect(302, 403, 200, 404, 200)),
    "cases/<int:case_id>/actions": ("POST", "/cases/{case_id}/actions", expect(302, 403, 403, 404, 302)),
    "cases/<int:case_id>/notes": ("POST", "/cases/{case_id}/notes", expect(302, 403, 302, 404, 302)),
    # contact attempts are staff's (an empty form: back to the page with a message)
    "cases/<int:case_id>/contacts": ("POST", "/cases/{case_id}/contacts", expect(302, 403, 403, 404, 302)),
    "cases/<int:case_id>/take": ("POST", "/cases/{case_id}/take", expect(302, 403, 403, 404, 302)),
    "cases/<int:case_id>/assign": ("POST", "/cases/{case_id}/assign", expect(302, 403, 403, 404, 302)),
    "cases/<int:case_id>/reveal": (
        "POST",
        "/cases/{case_id}/reveal",
        {**expect(302, 403, 403, 404, 200), "operator": 403, "tech_oncall": 403},
    ),
    # a suggestion is accepted by staff (an empty form names none: back to the page); the
    # correction form is for the roles that reveal the recipient; merchant users do neither
    "cases/<int:case_id>/suggestion": (
        "POST",
        "/cases/{case_id}/suggestion",
        expect(302, 403, 403, 404, 302),
    ),
    "cases/<int:case_id>/correct": (
        "POST",
        "/cases/{case_id}/correct",
        {**expect(302, 403, 403, 404, 302), "operator": 403, "tech_oncall": 403},
    ),
    # H3.1: the order's lines are changed by staff (an empty form: back to the page with a
    # message); merchant users change none
    "cases/<int:case_id>/lines": ("POST", "/cases/{case_id}/lines", expect(302, 403, 403, 404, 302)),
    # H3.2: a disputed SKU is read by its merchant and staff; answered by the merchant, customer
    # service, managers and admins (an empty form: back to the page with a message)
    "disputes/<int:dispute_id>/": ("GET", "/disputes/{dispute_id}/", expect(302, 403, 200, 404, 200)),
    "disputes/<int:dispute_id>/answer": (
        "POST",
        "/disputes/{dispute_id}/answer",
        {**expect(302, 403, 302, 404, 302), "operator": 403, "tech_oncall": 403},
    ),
    # special requests (H5): staff work them on the case page (the matrix's case is no special
    # request: back to the page with the refusal), a merchant user reads only
    **{
        f"cases/<int:case_id>/special/{name}": (
            "POST",
            f"/cases/{{case_id}}/special/{name}",
            expect(302, 403, 403, 404, 302),
        )
        for name in ("feasibility", "quote", "confirm", "owner", "checklist", "alternative")
    },
    # stock: the page for every role (scoped); moves and uploads for operators, managers and
    # admins (an empty form: back to the page with a message), refused to everyone else
    "stock/": ("GET", "/stock/", expect(302, 403, 200, 200, 200)),
    "stock/move": (
        "POST",
        "/stock/move",
        {**expect(302, 403, 403, 403, 302), "cs_agent": 403, "tech_oncall": 403},
    ),
    "stock/upload": (
        "POST",
        "/stock/upload",
        {**expect(302, 403, 403, 403, 302), "cs_agent": 403, "tech_oncall": 403},
    ),
    # a transfer in transit is received or cancelled by operators, managers and admins; a
    # merchant user is refused its own and told "not found" of another merchant's
    "stock/transfers/<int:transfer_id>/receive": (
        "POST",
        "/stock/transfers/{transfer_id}/receive",
        {**expect(302, 403, 403, 404, 302), "cs_agent": 403, "tech_oncall": 403},
    ),
    "stock/transfers/<int:transfer_id>/cancel": (
        "POST",
        "/stock/transfers/{transfer_id}/cancel",
        {**expect(302, 403, 403, 404, 302), "cs_agent": 403, "tech_oncall": 403},
    ),
    # stock-out decisions: the page for every role (scoped); deciding for merchant users,
    # customer service, managers and admins (an empty form: back to the page with a message)
    "stock/decisions/": ("GET", "/stock/decisions/", expect(302, 403, 200, 200, 200)),
    "stock/decisions/decide": (
        "POST",
        "/stock/decisions/decide",
        {**expect(302, 403, 302, 302, 302), "operator": 403, "tech_oncall": 403},
    ),
    # imports: the upload page for every role; a batch and its error downloads are the merchant's
    "imports/": ("GET", "/imports/", expect(302, 403, 200, 200, 200)),
    "imports/<int:batch_id>/": ("GET", "/imports/{batch_id}/", expect(302, 403, 200, 404, 200)),
    "imports/<int:batch_id>/errors.xlsx": (
        "GET",
        "/imports/{batch_id}/errors.xlsx",
        expect(302, 403, 200, 404, 200),
    ),
    "imports/<int:batch_id>/errors.csv": (
        "GET",
        "/imports/{batch_id}/errors.csv",
        expect(302, 403, 200, 404, 200),
    ),
    # incidents (T4, D3, H4): every role reads those it may see (a merchant user those touching
    # its channels; another merchant's is "not found"); the technical on-call team, managers
    # and admins act (an empty form: back to the page with a message; acknowledging needs none)
    "incidents/": ("GET", "/incidents/", expect(302, 403, 200, 200, 200)),
    "incidents/<int:incident_id>/": ("GET", "/incidents/{incident_id}/", expect(302, 403, 200, 404, 200)),
    **{
        f"incidents/<int:incident_id>/{action}": (
            "POST",
            f"/incidents/{{incident_id}}/{action}",
            {**expect(302, 403, 403, 404, 302), "operator": 403, "cs_agent": 403},
        )
        for action in ("acknowledge", "assign", "update", "contact", "resolve")
    },
    # manual entry during an outage (H4.2): warehouse staff only
    "incidents/<int:incident_id>/manual": (
        "GET",
        "/incidents/{incident_id}/manual",
        expect(302, 403, 403, 404, 200),
    ),
    # a spreadsheet of manual orders: staff (an empty form: back to the entry page); the empty
    # template is for anyone signed in
    "incidents/<int:incident_id>/manual/upload": (
        "POST",
        "/incidents/{incident_id}/manual/upload",
        expect(302, 403, 403, 404, 302),
    ),
    "incidents/manual-orders.xlsx": ("GET", "/incidents/manual-orders.xlsx", expect(302, 403, 200, 200, 200)),
    # the health panel and the reconciliation report: every role (scoped); settling is staff's
    # (an empty form: back to the report with a message)
    "health/": ("GET", "/health/", expect(302, 403, 200, 200, 200)),
    "reconciliation/": ("GET", "/reconciliation/", expect(302, 403, 200, 200, 200)),
    "reconciliation.xlsx": ("GET", "/reconciliation.xlsx", expect(302, 403, 200, 200, 200)),
    "reconciliation/<int:manual_id>/settle": (
        "POST",
        "/reconciliation/{manual_id}/settle",
        expect(302, 403, 403, 403, 302),
    ),
    # daily sample audits (D4) are the warehouse's: a merchant user is refused the list and
    # told "not found" for an audit or a line; managers and admins draw and plan (an empty
    # form: back to the page with a message); tech on-call reads but does not confirm
    "audits/": ("GET", "/audits/", expect(302, 403, 403, 403, 200)),
    "audits/draw": (
        "POST",
        "/audits/draw",
        {**expect(302, 403, 403, 403, 403), "manager": 302, "admin": 302},
    ),
    "audits/plan": (
        "POST",
        "/audits/plan",
        {**expect(302, 403, 403, 403, 403), "manager": 302, "admin": 302},
    ),
    "audits/<int:audit_id>/": ("GET", "/audits/{audit_id}/", expect(302, 403, 404, 404, 200)),
    "audits/lines/<int:line_id>/confirm": (
        "POST",
        "/audits/lines/{line_id}/confirm",
        {**expect(302, 403, 404, 404, 302), "tech_oncall": 403},
    ),
    # customer-service reports (D5): every role files (a merchant user on its own orders; an
    # empty form is 422 with the message); a report and its attachments are the order's
    # merchant's and the staff's
    "feedback/": ("GET", "/feedback/", expect(302, 403, 200, 200, 200)),
    "feedback/new/": ("GET", "/feedback/new/", expect(302, 403, 200, 200, 200)),
    "feedback/<int:report_id>/": ("GET", "/feedback/{report_id}/", expect(302, 403, 200, 404, 200)),
    "feedback/attachments/<int:attachment_id>": (
        "GET",
        "/feedback/attachments/{attachment_id}",
        expect(302, 403, 200, 404, 200),
    ),
    # the inbox is the caller's own: another user's item is "not found", staff included
    "inbox/": ("GET", "/inbox/", expect(302, 403, 200, 200, 200)),
    "inbox/bell": ("GET", "/inbox/bell", expect(302, 403, 200, 200, 200)),
    "inbox/<int:item_id>/read": ("POST", "/inbox/{item_id}/read", expect(302, 403, 302, 404, 404)),
    "inbox/read-all": ("POST", "/inbox/read-all", expect(302, 403, 302, 302, 302)),
    # the analysis (S3): every role reads it, a merchant user its own merchant's only (another
    # merchant's code is a refusal page, 403); the downloads are the same report
    "reports/": ("GET", "/reports/?merchant={merchant_code}", expect(302, 403, 200, 403, 200)),
    "reports/export.csv": (
        "GET",
        "/reports/export.csv?merchant={merchant_code}",
        expect(302, 403, 200, 403, 200),
    ),
    "reports/export.xlsx": (
        "GET",
        "/reports/export.xlsx?merchant={merchant_code}",
        expect(302, 403, 200, 403, 200),
    ),
    "reports/export.pdf": (
        "GET",
        "/reports/export.pdf?merchant={merchant_code}",
        expect(302, 403, 200, 403, 200),
    ),
    # improvement actions (S4): managers and admins create them and change their status (an
    # empty form: back to the report with a message); everyone else is refused
    "reports/actions": (
        "POST",
        "/reports/actions",
        {**expect(302, 403, 403, 403, 403), "manager": 302, "admin": 302},
    ),
    "reports/actions/<int:action_id>/status": (
        "POST",
        "/reports/actions/{action_id}/status",
        {**expect(302, 403, 403, 403, 403), "manager": 302, "admin": 302},
    ),
    # failed notifications and the endpoints' health: staff; on-call, managers, admins resend
    "outbox/failed/": ("GET", "/outbox/failed/", expect(302, 403, 403, 403, 200)),
    "outbox/<int:message_id>/retry": (
        "POST",
        "/outbox/{message_id}/retry",
        {**expect(302, 403, 403, 403, 302), "operator": 403, "cs_agent": 403},
    ),
}
# OpenAPI operation → (URL template, expected status per caller)
OPERATIONS: dict[str, tuple[str, dict[str, int]]] = {
    "GET /api/v1/health": ("/api/v1/health", expect(200, 200, 200, 200, 200)),
    "GET /api/v1/orders": ("/api/v1/orders", expect(401, 403, 200, 200, 200)),
    # the matrix posts "{}": no search text is a 422 for anyone signed in
    "POST /api/v1/orders/search": ("/api/v1/orders/search", expect(401, 422, 422, 422, 422)),
    "GET /api/v1/orders/{order_id}": ("/api/v1/orders/{order_id}", expect(401, 403, 200, 404, 200)),
    # "{}" corrects nothing: staff get the order back; a merchant user corrects no order
    "POST /api/v1/orders/{order_id}/correct": (
        "/api/v1/orders/{order_id}/correct",
        expect(401, 403, 403, 404, 200),
    ),
    # "{}" has no lines: a 422 for anyone signed in (test_lines_api.py posts lines per caller)
    "POST /api/v1/orders/{order_id}/lines": (
        "/api/v1/orders/{order_id}/lines",
        expect(401, 422, 422, 422, 422),
    ),
    # disputed SKUs: listed for every role (scoped); "{}" has no answer, a 422 for anyone signed
    # in (test_lines_api.py answers per caller)
    "GET /api/v1/catalog/disputes": ("/api/v1/catalog/disputes", expect(401, 403, 200, 200, 200)),
    "POST /api/v1/catalog/disputes/{dispute_id}/answer": (
        "/api/v1/catalog/disputes/{dispute_id}/answer",
        expect(401, 422, 422, 422, 422),
    ),
    # the matrix posts "{}": no channel is a 422 for anyone signed in (test_orders_create_api.py
    # posts a valid body per caller)
    "POST /api/v1/orders": ("/api/v1/orders", expect(401, 422, 422, 422, 422)),
    "GET /api/v1/cases": ("/api/v1/cases", expect(401, 403, 200, 200, 200)),
    "GET /api/v1/cases/{case_id}": ("/api/v1/cases/{case_id}", expect(401, 403, 200, 404, 200)),
    "POST /api/v1/cases/{case_id}/take": ("/api/v1/cases/{case_id}/take", expect(401, 403, 403, 404, 200)),
    # the matrix posts "{}": no assignee is a 422 for anyone signed in (test_case_assign_api.py
    # posts a valid body per caller)
    "POST /api/v1/cases/{case_id}/assign": (
        "/api/v1/cases/{case_id}/assign",
        expect(401, 422, 422, 422, 422),
    ),
    "POST /api/v1/cases/assign": ("/api/v1/cases/assign", expect(401, 422, 422, 422, 422)),
    # the matrix posts "{}", not a form: no channel and no files is a 422 for anyone signed in
    # (test_imports_api.py uploads per caller)
    "POST /api/v1/imports": ("/api/v1/imports", expect(401, 422, 422, 422, 422)),
    "GET /api/v1/imports/{batch_id}": ("/api/v1/imports/{batch_id}", expect(401, 403, 200, 404, 200)),
    "GET /api/v1/imports/{batch_id}/errors": (
        "/api/v1/imports/{batch_id}/errors",
        expect(401, 403, 200, 404, 200),
    ),
    "GET /api/v1/skus": ("/api/v1/skus", expect(401, 403, 200, 200, 200)),
    # the stock ledger for every role (scoped); moving stock is for operators, managers and
    # admins: the matrix posts "{}", a 422 for anyone signed in (test_stock_api.py posts a
    # valid body per caller)
    "GET /api/v1/stock/movements": ("/api/v1/stock/movements", expect(401, 403, 200, 200, 200)),
    "POST /api/v1/stock/movements": ("/api/v1/stock/movements", expect(401, 422, 422, 422, 422)),
    # where a SKU is: without `sku` a 422 for anyone signed in (test_stock_api.py asks per caller)
    "GET /api/v1/stock/sources": ("/api/v1/stock/sources", expect(401, 422, 422, 422, 422)),
    # decisions per short SKU: listed for every role (scoped); posting "{}" is a 422 for anyone
    # signed in (test_stock_decisions_api.py posts a decision per caller)
    "GET /api/v1/stock/decisions": ("/api/v1/stock/decisions", expect(401, 403, 200, 200, 200)),
    "POST /api/v1/stock/decisions": ("/api/v1/stock/decisions", expect(401, 422, 422, 422, 422)),
    "GET /api/v1/skus/{sku_id}": ("/api/v1/skus/{sku_id}", expect(401, 403, 200, 404, 200)),
    "GET /api/v1/stock": ("/api/v1/stock", expect(401, 403, 200, 200, 200)),
    # transfers: listed for every role (scoped); received or cancelled by stock staff
    "GET /api/v1/stock/transfers": ("/api/v1/stock/transfers", expect(401, 403, 200, 200, 200)),
    "POST /api/v1/stock/transfers/{transfer_id}/receive": (
        "/api/v1/stock/transfers/{transfer_id}/receive",
        {**expect(401, 403, 403, 404, 200), "cs_agent": 403, "tech_oncall": 403},
    ),
    # (cancel comes after receive here: the transfer has arrived, a 409 ALREADY_RECEIVED)
    "POST /api/v1/stock/transfers/{transfer_id}/cancel": (
        "/api/v1/stock/transfers/{transfer_id}/cancel",
        {**expect(401, 403, 403, 404, 409), "cs_agent": 403, "tech_oncall": 403},
    ),
    # "{}" has no action (422 for anyone signed in); test_case_actions_api.py covers each caller
    "POST /api/v1/cases/{case_id}/actions": (
        "/api/v1/cases/{case_id}/actions",
        expect(401, 422, 422, 422, 422),
    ),
    # "{}" has no note; a merchant user notes its own cases (test_case_actions_api.py)
    "POST /api/v1/cases/{case_id}/notes": ("/api/v1/cases/{case_id}/notes", expect(401, 422, 422, 422, 422)),
    # "{}" has no channel (422 for anyone signed in); test_contacts_api.py covers each caller
    "POST /api/v1/cases/{case_id}/contacts": (
        "/api/v1/cases/{case_id}/contacts",
        expect(401, 422, 422, 422, 422),
    ),
    # special requests (H5): the matrix's case is a T2 case, no special request (409 for those
    # who may see it); a merchant user reads its own and acts on none (test_specials_api.py
    # works a real request per caller); "{}" lacks the required fields of the answer, the
    # owner, the tick and the alternative (422 for anyone signed in)
    "GET /api/v1/cases/{case_id}/special": (
        "/api/v1/cases/{case_id}/special",
        expect(401, 403, 409, 404, 409),
    ),
    "POST /api/v1/cases/{case_id}/special/feasibility": (
        "/api/v1/cases/{case_id}/special/feasibility",
        expect(401, 403, 403, 404, 409),
    ),
    "POST /api/v1/cases/{case_id}/special/quote": (
        "/api/v1/cases/{case_id}/special/quote",
        expect(401, 403, 403, 404, 409),
    ),
    "POST /api/v1/cases/{case_id}/special/confirm": (
        "/api/v1/cases/{case_id}/special/confirm",
        expect(401, 422, 422, 422, 422),
    ),
    "POST /api/v1/cases/{case_id}/special/owner": (
        "/api/v1/cases/{case_id}/special/owner",
        expect(401, 422, 422, 422, 422),
    ),
    "POST /api/v1/cases/{case_id}/special/checklist/{step}": (
        "/api/v1/cases/{case_id}/special/checklist/{step}",
        expect(401, 422, 422, 422, 422),
    ),
    "POST /api/v1/cases/{case_id}/special/alternative": (
        "/api/v1/cases/{case_id}/special/alternative",
        expect(401, 422, 422, 422, 422),
    ),
    # agents, managers and admins only, logged
    "POST /api/v1/cases/{case_id}/reveal": (
        "/api/v1/cases/{case_id}/reveal",
        {**expect(401, 403, 403, 404, 200), "operator": 403, "tech_oncall": 403},
    ),
    # rules: every role reads (a merchant user its own; staff without a merchant: the defaults);
    # "{}" names no merchant: a 422 for anyone signed in (test_rules_api.py covers each caller)
    "GET /api/v1/rules": ("/api/v1/rules", expect(401, 403, 200, 200, 200)),
    "PUT /api/v1/rules": ("/api/v1/rules", expect(401, 422, 422, 422, 422)),
    "POST /api/v1/rules/dry-run": ("/api/v1/rules/dry-run", expect(401, 422, 422, 422, 422)),
    # notification endpoints: every role reads (a merchant user its own); managers and admins
    # change any, a merchant user its own ("{}" changes nothing; test_notifications_api.py)
    "GET /api/v1/notifications/channels": ("/api/v1/notifications/channels", expect(401, 403, 200, 200, 200)),
    "POST /api/v1/notifications/channels": (
        "/api/v1/notifications/channels",
        expect(401, 422, 422, 422, 422),
    ),
    "PATCH /api/v1/notifications/channels/{channel_id}": (
        "/api/v1/notifications/channels/{channel_id}",
        {**expect(401, 403, 200, 404, 403), "manager": 200, "admin": 200},
    ),
    "GET /api/v1/notifications/contacts": ("/api/v1/notifications/contacts", expect(401, 403, 200, 200, 200)),
    "POST /api/v1/notifications/contacts": (
        "/api/v1/notifications/contacts",
        expect(401, 422, 422, 422, 422),
    ),
    "GET /api/v1/notifications/failed": ("/api/v1/notifications/failed", expect(401, 403, 200, 200, 200)),
    "POST /api/v1/notifications/messages/{message_id}/retry": (
        "/api/v1/notifications/messages/{message_id}/retry",
        {**expect(401, 403, 403, 403, 200), "operator": 403, "cs_agent": 403},
    ),
    # the analysis (S3): a merchant user its own merchant's report; another's is 403
    "GET /api/v1/reports": ("/api/v1/reports?merchant={merchant_code}", expect(401, 403, 200, 403, 200)),
    # improvement actions (S4): every role reads (a merchant user its own merchant's; another's
    # is not found); managers and admins write ("{}" creates nothing: 422 for anyone signed in;
    # an empty change is a change of nothing for them, refused for the others)
    "GET /api/v1/reports/actions": ("/api/v1/reports/actions", expect(401, 403, 200, 200, 200)),
    "POST /api/v1/reports/actions": ("/api/v1/reports/actions", expect(401, 422, 422, 422, 422)),
    "GET /api/v1/reports/actions/{action_id}": (
        "/api/v1/reports/actions/{action_id}",
        expect(401, 403, 200, 404, 200),
    ),
    "PATCH /api/v1/reports/actions/{action_id}": (
        "/api/v1/reports/actions/{action_id}",
        {**expect(401, 403, 403, 403, 403), "manager": 200, "admin": 200},
    ),
    # the caller's own inbox
    "GET /api/v1/inbox": ("/api/v1/inbox", expect(401, 403, 200, 200, 200)),
    "POST /api/v1/inbox/{item_id}/read": ("/api/v1/inbox/{item_id}/read", expect(401, 403, 200, 404, 404)),
    "POST /api/v1/inbox/read-all": ("/api/v1/inbox/read-all", expect(401, 403, 200, 200, 200)),
    # incidents: every role reads (scoped); acknowledging is for the on-call team, managers and
    # admins; the other writes post "{}", a 422 for anyone signed in (test_incidents_api.py
    # posts valid bodies per caller)
    "GET /api/v1/incidents": ("/api/v1/incidents", expect(401, 403, 200, 200, 200)),
    "GET /api/v1/incidents/{incident_id}": (
        "/api/v1/incidents/{incident_id}",
        expect(401, 403, 200, 404, 200),
    ),
    "POST /api/v1/incidents/{incident_id}/acknowledge": (
        "/api/v1/incidents/{incident_id}/acknowledge",
        {**expect(401, 403, 403, 404, 200), "operator": 403, "cs_agent": 403},
    ),
    **{
        f"POST /api/v1/incidents/{{incident_id}}/{action}": (
            f"/api/v1/incidents/{{incident_id}}/{action}",
            expect(401, 422, 422, 422, 422),
        )
        for action in ("assign", "updates", "contacts", "resolve")
    },
    "POST /api/v1/incidents/manual-orders": (
        "/api/v1/incidents/manual-orders",
        expect(401, 422, 422, 422, 422),
    ),
    "GET /api/v1/incidents/reconciliation": (
        "/api/v1/incidents/reconciliation",
        expect(401, 403, 200, 200, 200),
    ),
    "POST /api/v1/incidents/reconciliation/{manual_id}/settle": (
        "/api/v1/incidents/reconciliation/{manual_id}/settle",
        expect(401, 422, 422, 422, 422),
    ),
    # audits: staff only (a merchant user 403 on the list, 404 on an audit); "{}" draws no
    # warehouse and confirms no item: 422 for anyone signed in (audits/tests/test_audits_api.py
    # covers each caller)
    "GET /api/v1/audits": ("/api/v1/audits", expect(401, 403, 403, 403, 200)),
    "GET /api/v1/audits/{audit_id}": ("/api/v1/audits/{audit_id}", expect(401, 403, 404, 404, 200)),
    "POST /api/v1/audits/draw": ("/api/v1/audits/draw", expect(401, 422, 422, 422, 422)),
    "POST /api/v1/audits/lines/{line_id}/confirm": (
        "/api/v1/audits/lines/{line_id}/confirm",
        expect(401, 422, 422, 422, 422),
    ),
    # reports: "{}" looks nothing up (422 for every role); a report is the order's merchant's
    "POST /api/v1/feedback/lookup": ("/api/v1/feedback/lookup", expect(401, 403, 422, 422, 422)),
    "POST /api/v1/feedback": ("/api/v1/feedback", expect(401, 422, 422, 422, 422)),
    "GET /api/v1/feedback/{report_id}": ("/api/v1/feedback/{report_id}", expect(401, 403, 200, 404, 200)),
    # signed by the channel's secret, whoever calls: unsigned is refused for everyone
    "POST /api/v1/webhooks/{channel_code}/orders": (
        "/api/v1/webhooks/{channel_code}/orders",
        expect(401, 401, 401, 401, 401),
    ),
}
# Operations whose 200 lists objects: the other merchant must get none of the merchant's.
LISTS = {
    "GET /api/v1/orders": "/api/v1/orders",
    "GET /api/v1/cases": "/api/v1/cases",
    "GET /api/v1/skus": "/api/v1/skus",
    "GET /api/v1/stock": "/api/v1/stock",
    "GET /api/v1/stock/decisions": "/api/v1/stock/decisions",
    "GET /api/v1/catalog/disputes": "/api/v1/catalog/disputes",
    "GET /api/v1/stock/transfers": "/api/v1/stock/transfers",
    "GET /api/v1/imports/{batch_id}/errors": "/api/v1/imports/{batch_id}/errors",
    "GET /api/v1/notifications/channels": "/api/v1/notifications/channels",
    "GET /api/v1/notifications/contacts": "/api/v1/notifications/contacts",
    "GET /api/v1/notifications/failed": "/api/v1/notifications/failed",
    "GET /api/v1/inbox": "/api/v1/inbox",
    "GET /api/v1/incidents": "/api/v1/incidents",
    "GET /api/v1/reports/actions": "/api/v1/reports/actions",
}


def _routes() -> set[str]:
    def walk(patterns, prefix=""):  # type: ignore[no-untyped-def]
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern)

    return {r for r in walk(get_resolver().url_patterns) if not r.startswith("admin/")}


def _operations() -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, ops in api.get_openapi_schema()["paths"].items()
        for method in ops
    }


def test_every_route_is_in_the_matrix():
    api_routes = {
        template.split("?")[0].lstrip("/").replace("{", "<").replace("}", ">")
        for template, _e in OPERATIONS.values()
    }
    assert _routes() - set(PAGES) - api_routes == set()
    assert _operations() == set(OPERATIONS)


@pytest.fixture
def world(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.VAR_DIR = tmp_path
    mine = ChannelFactory(code="mine", signing_secret="s" * 32)
    theirs = ChannelFactory(code="theirs")
    order = OrderFactory(channel=mine)
    case = ExceptionCase.objects.create(
        merchant=mine.merchant,
        order=order,
        type="T2",
        source="D2",
        opened_at=NOW,
        due_at=NOW + timedelta(hours=2),
    )
    users = {
        "no_role": UserFactory(),
        "merchant": user_with_role("merchant", merchant=mine.merchant),
        "other_merchant": user_with_role("merchant", merchant=theirs.merchant),
        **{role: user_with_role(role) for role in STAFF},
    }
    batch = ImportBatch.objects.create(kind="orders", merchant=mine.merchant, channel=mine, started_at=NOW)
    ImportRowError.objects.create(
        batch=batch, file="a.csv", row=2, field="sku", code="FIELD_MISSING", message="x"
    )
    sku = SkuFactory(merchant=mine.merchant, code="MUG-1")
    StockLevel.objects.create(merchant=mine.merchant, warehouse=mine.warehouse, sku=sku, on_hand=5)
    StockDecision.objects.create(
        merchant=mine.merchant, sku=sku, kind="wait", decided_by_label="user:m", decided_at=NOW
    )
    dispute = SkuDispute.objects.create(
        merchant=mine.merchant, sku_code="MUG-9", buyer_says="x", opened_by_label="user:a", opened_at=NOW
    )
    dispute.cases.add(case)
    far = WarehouseFactory(code="far")
    transfer = Transfer.objects.create(
        merchant=mine.merchant,
        sku=sku,
        from_warehouse=far,
        to_warehouse=mine.warehouse,
        quantity=1,
        created_by_label="user:m",
        shipped_at=NOW,
        expected_at=NOW + timedelta(days=1),
    )
    endpoint = NotificationChannel.objects.create(kind="inbox", name="inbox", merchant=mine.merchant)
    MerchantContact.objects.create(
        merchant=mine.merchant, topic="stockout_notice", channel=endpoint, address="1"
    )
    failed = OutboxMessage.objects.create(
        merchant=mine.merchant,
        topic="stockout_notice",
        recipient="ops@m.example",
        subject="s",
        body="b",
        idempotency_key="failed:1",
        status="failed",
        next_attempt_at=NOW,
    )
    item = InboxItem.objects.create(
        user=users["merchant"], merchant=mine.merchant, key="k1", title="t", created_at=NOW
    )
    incident = Incident.objects.create(
        fingerprint="channel_silent:mine",
        kind="channel_silent",
        severity="critical",
        title="mine silent",
        channel=mine,
        started_at=NOW,
        opened_at=NOW,
        last_signal_at=NOW,
        due_at=NOW + timedelta(minutes=30),
    )
    incident.merchants.add(mine.merchant)
    manual = ManualOrder.objects.create(
        order=order,
        incident=incident,
        channel=mine,
        merchant=mine.merchant,
        entered_id="MANUAL-1",
        entered_at=NOW,
    )
    action = ImprovementAction.objects.create(
        merchant=mine.merchant,
        kind="sku_stockouts",
        subject="MUG-1",
        expected_effect="x",
        owner=users["operator"],
        owner_label="operator",
        due_on=NOW.date(),
        started_on=NOW.date(),
        created_by_label="user:m",
        created_at=NOW,
        updated_at=NOW,
    )
    audit = DailyAudit.objects.create(
        warehouse=mine.warehouse,
        day=NOW.date(),
        seed=1,
        weighted=False,
        population=1,
        planned=1,
        drawn=1,
        drawn_at=NOW,
        drawn_by_label="system:audit",
    )
    line = AuditLine.objects.create(
        audit=audit, order=order, merchant=mine.merchant, rank=1, weight=1.0, inclusion=1.0
    )
    report = report_file(
        actor=actor_for(users["cs_agent"]),
        order_id=order.pk,
        kind="address",
        text="买家说门牌号是12号",
        now=NOW,
        attachments=[Upload("photo.png", "image/png", b"\x89PNG\r\n\x1a\n0000")],
    )
    return {
        "ids": {
            "action_id": action.pk,
            "audit_id": audit.pk,
            "line_id": line.pk,
            "report_id": report.report.pk,
            "attachment_id": report.report.attachments.get().pk,
            "order_id": order.pk,
            "case_id": case.pk,
            "channel_code": mine.code,
            "merchant_code": mine.merchant.code,
            "batch_id": batch.pk,
            "sku_id": sku.pk,
            "channel_id": endpoint.pk,
            "message_id": failed.pk,
            "item_id": item.pk,
            "dispute_id": dispute.pk,
            "step": "picking",
            "transfer_id": transfer.pk,
            "incident_id": incident.pk,
            "manual_id": manual.pk,
        },
        "users": users,
    }


def _client(world, caller: str) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    if caller != "anonymous":
        client.force_login(world["users"][caller])
    return client


@pytest.mark.parametrize("caller", CALLERS)
def test_each_page_answers_each_caller_as_decided(world, caller):
    client = _client(world, caller)
    got = {}
    for route, (method, url, expected) in PAGES.items():
        url = url.format(**world["ids"])
        response = client.post(url) if method == "POST" else client.get(url)
        got[route] = (response.status_code, expected[caller])
    assert {r: g for r, (g, e) in got.items() if g != e} == {}


@pytest.mark.parametrize("caller", CALLERS)
def test_each_api_operation_answers_each_caller_as_decided(world, caller):
    client = _client(world, caller)
    got = {}
    for operation, (template, expected) in OPERATIONS.items():
        url = template.format(**world["ids"])
        method = operation.split()[0]
        response = (
            client.generic(method, url, data=b"{}", content_type="application/json")
            if method in ("POST", "PUT", "PATCH")
            else client.get(url)
        )
        got[operation] = (response.status_code, expected[caller])
        if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
            assert set(response.json()) == {"ok", "error"}, operation
    assert {op: g for op, (g, e) in got.items() if g != e} == {}


def test_a_second_merchant_lists_none_of_the_first_merchants_objects(world):
    mine, theirs = _client(world, "merchant"), _client(world, "other_merchant")
    for operation, template in LISTS.items():
        url = template.format(**world["ids"])
        assert mine.get(url).json()["total"] == 1, operation
        response = theirs.get(url)
        if "{" in template:
            # a list under another merchant's object: the object itself is not found
            assert response.status_code == 404, operation
        else:
            assert (response.json()["total"], response.json()["items"]) == (0, []), operation
