from django.contrib import admin
from django.urls import include, path

from orderguard.api.urls import api
from orderguard.monitoring import views as probes

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", probes.metrics, name="metrics"),
    path("", include("orderguard.web.urls")),
]
