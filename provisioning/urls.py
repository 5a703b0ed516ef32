from django.urls import path

from . import views

urlpatterns = [
    path("oauth/token", views.OperatorTokenView.as_view(), name="operator_token"),
    path("tenants/", views.TenantList.as_view(), name="operator_tenants"),
    path("tenants/<uuid:tenant_id>/", views.TenantDetail.as_view(), name="operator_tenant"),
    path(
        "tenants/<uuid:tenant_id>/suspend/",
        views.TenantSuspend.as_view(),
        name="operator_tenant_suspend",
    ),
    path(
        "tenants/<uuid:tenant_id>/resume/",
        views.TenantResume.as_view(),
        name="operator_tenant_resume",
    ),
]
