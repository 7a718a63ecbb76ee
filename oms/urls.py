from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from oms.views import healthz

admin.site.site_header = "OMS back-office"
admin.site.site_title = "OMS"
admin.site.index_title = "Administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/", include("oms.api.urls")),
    path("dashboard/", include("oms.dashboard_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("returns/", include("returns.urls")),
    path("", include("fulfillment.urls")),
]

handler404 = "oms.views.not_found"
handler500 = "oms.views.server_error"
