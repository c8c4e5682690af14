"""The REST API under /api/v1/ (Django Ninja; OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

from ninja import NinjaAPI

from orderguard.api import errors
from orderguard.api import specials as _specials  # noqa: F401  (its operations join the cases router)
from orderguard.api import stock as _stock  # noqa: F401  (its operations join the stock router)
from orderguard.api.audits import router as audits_router
from orderguard.api.cases import router as cases_router
from orderguard.api.catalog import skus_router, stock_router
from orderguard.api.disputes import router as disputes_router
from orderguard.api.feedback import router as feedback_router
from orderguard.api.health import router as health_router
from orderguard.api.imports import router as imports_router
from orderguard.api.incidents import router as incidents_router
from orderguard.api.notifications import inbox_router
from orderguard.api.notifications import router as notifications_router
from orderguard.api.orders import router as orders_router
from orderguard.api.reports import router as reports_router
from orderguard.api.rules import router as rules_router
from orderguard.api.webhooks import router as webhooks_router

api = NinjaAPI(title="OrderGuard API", version="1", urls_namespace="api-v1")
errors.install(api)
api.add_router("/health", health_router)
api.add_router("/orders", orders_router)
api.add_router("/cases", cases_router)
api.add_router("/imports", imports_router)
api.add_router("/skus", skus_router)
api.add_router("/catalog", disputes_router)
api.add_router("/stock", stock_router)
api.add_router("/rules", rules_router)
api.add_router("/webhooks", webhooks_router)
api.add_router("/notifications", notifications_router)
api.add_router("/inbox", inbox_router)
api.add_router("/incidents", incidents_router)
api.add_router("/reports", reports_router)
api.add_router("/audits", audits_router)
api.add_router("/feedback", feedback_router)
