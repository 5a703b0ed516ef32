"""The operator API's tenant operations: create (the owner is emailed), read, list, update,
suspend, resume, delete, and their errors in the API's shape."""

import uuid

import pytest

from core import rls
from tenants.models import AuditEvent, Membership, Tenant, TenantStatus

pytestmark = pytest.mark.django_db


def create(operator_api, **body):
    return operator_api.call(
        "POST",
        "tenants/",
        {"name": "Initech", "owner_email": "Boss@Initech.example", **body},
    )


def test_create_provisions_the_tenant_and_emails_its_owner(
    operator_api, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = create(
            operator_api, slug="initech", settings={"retention_days": 90, "video_enabled": False}
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "initech" and body["status"] == "active"
    assert body["retention_days"] == 90 and body["video_enabled"] is False
    with rls.bypass_context():
        membership = Membership.objects.select_related("user").get(tenant_id=body["id"])
        trail = set(
            AuditEvent.objects.filter(tenant_id=body["id"]).values_list("action", flat=True)
        )
    assert membership.role == "owner" and membership.user.email == "boss@initech.example"
    assert {"tenant.created", "operator_api.request"} <= trail
    [email] = mailoutbox
    assert email.to == ["boss@initech.example"] and "/admin/setup/" in email.body


@pytest.mark.parametrize(
    "body,field",
    [
        ({"owner_email": "not-an-address"}, "owner_email"),
        ({"settings": {"retention_days": 0}}, None),
        ({"settings": {"allowed_admin_networks": ["nonsense"]}}, None),
        ({"name": ""}, "name"),
    ],
)
def test_create_refuses_invalid_input(operator_api, body, field):
    response = create(operator_api, **body)
    assert response.status_code == 400
    assert (
        response.json()["error"]["code"] in {"invalid", "invalid_input"}
        or (response.json()["error"]["message"])
    )
    if field:
        assert field in response.json()["error"]["fields"]


def test_create_refuses_a_taken_slug(operator_api, tenant_a):
    response = create(operator_api, slug=tenant_a.slug)
    assert response.status_code == 400
    assert "already exists" in str(response.json()["error"])


def test_read_and_list_with_cursor_pages(operator_api, tenant_a, tenant_b):
    read = operator_api.call("GET", f"tenants/{tenant_a.pk}/")
    assert read.status_code == 200 and read.json()["name"] == "Acme"
    first = operator_api.call("GET", "tenants/?page_size=1")
    assert first.status_code == 200
    page = first.json()
    assert len(page["results"]) == 1 and page["next"]
    second = operator_api.call("GET", page["next"].split("/api/v1/operator/")[1])
    names = {page["results"][0]["name"], second.json()["results"][0]["name"]}
    assert names == {"Acme", "Globex"}


def test_an_unknown_tenant_is_404_in_the_error_shape(operator_api):
    response = operator_api.call("GET", f"tenants/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_no_token_is_401(client):
    response = client.get("/api/v1/operator/tenants/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_update_changes_limits_and_settings_through_the_validating_service(operator_api, tenant_a):
    response = operator_api.call(
        "PATCH", f"tenants/{tenant_a.pk}/", {"retention_days": 365, "invitation_expiry_days": 14}
    )
    assert response.status_code == 200, response.content
    with rls.bypass_context():
        tenant_a.refresh_from_db()
    assert (tenant_a.retention_days, tenant_a.invitation_expiry_days) == (365, 14)
    with rls.tenant_context(tenant_a.pk):
        assert AuditEvent.objects.filter(tenant=tenant_a, action="tenant.settings_changed").exists()

    refused = operator_api.call("PATCH", f"tenants/{tenant_a.pk}/", {"retention_days": 99999})
    assert refused.status_code == 400
    not_here = operator_api.call("PATCH", f"tenants/{tenant_a.pk}/", {"status": "suspended"})
    assert not_here.status_code == 200  # unknown fields are ignored; status has its operations
    with rls.bypass_context():
        tenant_a.refresh_from_db()
    assert tenant_a.status == TenantStatus.ACTIVE


def test_suspend_and_resume(operator_api, tenant_a):
    suspended = operator_api.call(
        "POST", f"tenants/{tenant_a.pk}/suspend/", {"reason": "unpaid invoice"}
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    resumed = operator_api.call("POST", f"tenants/{tenant_a.pk}/resume/")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    with rls.tenant_context(tenant_a.pk):
        actions = list(
            AuditEvent.objects.filter(tenant=tenant_a)
            .order_by("created_at")
            .values_list("action", flat=True)
        )
    assert "tenant.suspended" in actions and "tenant.resumed" in actions


def test_delete_suspends_and_schedules_and_resume_cancels(operator_api, tenant_a, settings):
    settings.TENANT_DELETION_GRACE_DAYS = 30
    response = operator_api.call("DELETE", f"tenants/{tenant_a.pk}/")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "suspended" and body["deletion_requested_at"]
    assert body["deletion_due_at"] > body["deletion_requested_at"]
    resumed = operator_api.call("POST", f"tenants/{tenant_a.pk}/resume/").json()
    assert resumed["status"] == "active" and resumed["deletion_requested_at"] is None


def test_a_deleted_tenant_is_409(operator_api, tenant_a):
    from django.utils import timezone

    with rls.bypass_context():
        Tenant.objects.filter(pk=tenant_a.pk).update(deleted_at=timezone.now())
    for method, path in [
        ("PATCH", f"tenants/{tenant_a.pk}/"),
        ("POST", f"tenants/{tenant_a.pk}/resume/"),
        ("POST", f"tenants/{tenant_a.pk}/suspend/"),
        ("DELETE", f"tenants/{tenant_a.pk}/"),
    ]:
        response = operator_api.call(method, path, {} if method != "DELETE" else None)
        assert response.status_code == 409, (method, path)
        assert response.json()["error"]["code"] == "tenant_deleted"


def test_the_operations_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/v1/operator/tenants/" in paths
    assert "/api/v1/operator/tenants/{tenant_id}/suspend/" in paths
    assert "/api/v1/operator/oauth/token" in paths


def test_operators_require_two_factor_and_set_networks_without_a_lockout_question(
    operator_api, tenant_a
):
    response = operator_api.call(
        "PATCH",
        f"tenants/{tenant_a.pk}/",
        {"require_two_factor": True, "allowed_admin_networks": ["2001:db8::/32"]},
    )
    assert response.status_code == 200, response.content
    assert response.json()["require_two_factor"] is True
    with rls.bypass_context():
        tenant_a.refresh_from_db()
    assert tenant_a.require_two_factor and tenant_a.allowed_admin_networks == ["2001:db8::/32"]
    with rls.tenant_context(tenant_a.pk):
        changed = AuditEvent.objects.get(action="tenant.allowlist_changed")
    assert changed.details["before"] == [] and changed.details["after"] == ["2001:db8::/32"]
    assert changed.actor_label.startswith("operator-api:")
