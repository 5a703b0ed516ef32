from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from interviews.urls import api_urlpatterns as session_api
from tenants.views import tenant_switch

from . import ops

admin.site.site_header = "Interview console"
admin.site.site_title = "Interview console"
admin.site.index_title = "Recruiting"

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("admin/tenant/switch/", tenant_switch, name="tenant_switch"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("accounts/", include("allauth.urls")),
    path("api/candidate/sessions/", include(session_api)),
    path("", include("interviews.urls")),
    path("", include("invitations.urls")),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
