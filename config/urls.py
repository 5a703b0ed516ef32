from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from interviews.admin.operations import operations
from invitations.views import password_pages_not_offered
from live.urls import api_urlpatterns as session_api
from tenants.views import (
    ConsoleAccountSetup,
    console_login,
    console_login_code,
    console_logout,
    console_password_change,
    console_two_factor,
    tenant_switch,
)

from . import ops

admin.site.site_header = "Interview console"
admin.site.site_title = "Interview console"
admin.site.index_title = "Recruiting"

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("admin/tenant/switch/", tenant_switch, name="tenant_switch"),
    # Ahead of the admin's own: the console's sign-in is throttled and audited.
    path("admin/login/", console_login, name="console_login"),
    path("admin/login/code/", console_login_code, name="console_login_code"),
    path("admin/logout/", console_logout, name="console_logout"),
    path("admin/password_change/", console_password_change, name="console_password_change"),
    path("admin/account/two-factor/", console_two_factor, name="console_two_factor"),
    path(
        "admin/setup/<uidb64>/<token>/",
        ConsoleAccountSetup.as_view(),
        name="console_account_setup",
    ),
    # Ahead of the admin's own catch-all: the operators' per-tenant figures.
    path("admin/operations/", operations, name="operations"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Ahead of allauth's: nobody resets or sets a password by email here (see the view).
    re_path(r"^accounts/password/", password_pages_not_offered),
    # allauth's own two-factor pages neither: console users set it up in the console (which
    # records it), and candidates sign in with emailed codes or Google.
    re_path(r"^accounts/2fa/", password_pages_not_offered),
    path("accounts/", include("allauth.urls")),
    path("api/candidate/sessions/", include(session_api)),
    path("api/v1/operator/", include("provisioning.urls")),
    path("api/v1/", include("tenant_api.urls")),
    path("", include("live.urls")),
    path("", include("invitations.urls")),
    # The split view: Swagger UI's start-up script is a file of its own, not inline (the
    # page's Content-Security-Policy allows no inline script; config.security_headers).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
