from django.contrib.auth import views as auth_views
from django.urls import path

from orderguard.web import (
    case,
    imports,
    language,
    notifications,
    orders,
    queue,
    stock,
    stock_decisions,
    views,
)

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/panels", views.dashboard_panels, name="dashboard_panels"),
    path("language/", language.language_switch, name="language"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("queue/", queue.queue, name="queue"),
    path("queue/take/<int:case_id>", queue.queue_take, name="queue_take"),
    path("queue/assign", queue.queue_assign, name="queue_assign"),
    path("orders/", orders.orders, name="orders"),
    path("orders/<int:order_id>/", orders.order_detail, name="order"),
    path("cases/<int:case_id>/", case.case_page, name="case"),
    path("cases/<int:case_id>/actions", case.case_action, name="case_action"),
    path("cases/<int:case_id>/notes", case.case_note, name="case_note"),
    path("cases/<int:case_id>/contacts", case.case_contact, name="case_contact"),
    path("cases/<int:case_id>/take", case.case_take, name="case_take"),
    path("cases/<int:case_id>/assign", case.case_assign_to, name="case_assign"),
    path("cases/<int:case_id>/reveal", case.case_reveal, name="case_reveal"),
    path("cases/<int:case_id>/suggestion", case.case_suggestion_accept, name="case_suggestion"),
    path("cases/<int:case_id>/correct", case.case_order_correct, name="case_correct"),
    path("stock/", stock.stock_page, name="stock"),
    path("stock/move", stock.stock_move, name="stock_move"),
    path("stock/upload", stock.stock_upload, name="stock_upload"),
    path(
        "stock/transfers/<int:transfer_id>/receive",
        stock.stock_transfer_receive,
        name="stock_transfer_receive",
    ),
    path(
        "stock/transfers/<int:transfer_id>/cancel", stock.stock_transfer_cancel, name="stock_transfer_cancel"
    ),
    path("stock/decisions/", stock_decisions.decisions_page, name="stock_decisions"),
    path("stock/decisions/decide", stock_decisions.decision_post, name="stock_decision_post"),
    path("imports/", imports.imports, name="imports"),
    path("imports/<int:batch_id>/", imports.import_batch, name="import_batch"),
    path("imports/<int:batch_id>/errors.xlsx", imports.import_errors_xlsx, name="import_errors_xlsx"),
    path("imports/<int:batch_id>/errors.csv", imports.import_errors_csv, name="import_errors_csv"),
    path("inbox/", notifications.inbox, name="inbox"),
    path("inbox/bell", notifications.inbox_bell, name="inbox_bell"),
    path("inbox/<int:item_id>/read", notifications.inbox_read, name="inbox_read"),
    path("inbox/read-all", notifications.inbox_read_all, name="inbox_read_all"),
    path("outbox/failed/", notifications.failed_messages, name="outbox_failed"),
    path("outbox/<int:message_id>/retry", notifications.failed_message_retry, name="outbox_retry"),
]
