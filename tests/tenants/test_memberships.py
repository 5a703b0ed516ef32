import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core import rls
from tenants.models import AuditEvent, Membership, Role
from tenants.services import membership_change_role, membership_remove
from tests.conftest import console_client
from tests.factories import MembershipFactory
from tests.support.console import field_errors, form_row

pytestmark = pytest.mark.django_db


def test_an_admin_adds_a_recruiter_by_email(tenant_a, django_user_model):
    client = console_client(tenant_a, Role.ADMIN)
    response = client.post(
        reverse("admin:tenants_membership_add"), {"email": "New@Example.com", "role": "recruiter"}
    )
    assert response.status_code == 302
    with rls.identity_lookup_context():
        user = django_user_model.objects.get(email="new@example.com")
    assert user.is_staff and not user.has_usable_password()
    with rls.tenant_context(tenant_a.pk):
        assert Membership.objects.get(user=user).role == "recruiter"
        assert AuditEvent.objects.filter(action="membership.added").exists()


def test_only_an_owner_grants_the_owner_role(tenant_a):
    client = console_client(tenant_a, Role.ADMIN)
    response = client.post(
        reverse("admin:tenants_membership_add"),
        {"email": "boss@example.com", "role": "owner"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert field_errors(page, "role") == ["Only an owner can grant or remove the owner role."]
    assert 'value="boss@example.com"' in form_row(page, "email")
    with rls.tenant_context(tenant_a.pk):
        assert not Membership.objects.filter(user__email="boss@example.com").exists()
        assert not AuditEvent.objects.exists()


def test_adding_an_existing_member_is_shown_beside_the_email(tenant_a):
    client = console_client(tenant_a, Role.ADMIN)
    MembershipFactory(tenant=tenant_a, user__email="ann@example.com", role=Role.VIEWER)
    response = client.post(
        reverse("admin:tenants_membership_add"), {"email": "ann@example.com", "role": "recruiter"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert field_errors(page, "email") == ["This person is already a member."]
    assert 'value="ann@example.com"' in form_row(page, "email")
    assert '<option value="recruiter" selected>' in form_row(page, "role")


def test_the_last_owner_keeps_the_role_and_the_form_says_so(tenant_a):
    client = console_client(tenant_a, Role.OWNER)
    with rls.tenant_context(tenant_a.pk):
        own = Membership.objects.get(user=client.user)
    response = client.post(
        reverse("admin:tenants_membership_change", args=[own.pk]), {"role": "admin"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert field_errors(page, "role") == ["A tenant must keep at least one owner."]
    assert '<option value="admin" selected>' in form_row(page, "role")
    with rls.tenant_context(tenant_a.pk):
        assert Membership.objects.get(pk=own.pk).role == Role.OWNER


def test_recruiters_and_viewers_cannot_manage_members(tenant_a):
    for role in (Role.RECRUITER, Role.VIEWER):
        client = console_client(tenant_a, role)
        assert client.get(reverse("admin:tenants_membership_add")).status_code == 403


def test_the_last_owner_stays(tenant_a):
    owner = MembershipFactory(tenant=tenant_a, role=Role.OWNER)
    with rls.tenant_context(tenant_a.pk):
        with pytest.raises(ValidationError, match="at least one owner"):
            membership_remove(membership=owner, actor=None, actor_membership=owner)
        with pytest.raises(ValidationError, match="at least one owner"):
            membership_change_role(
                membership=owner, role=Role.ADMIN, actor=None, actor_membership=owner
            )
        second = MembershipFactory(tenant=tenant_a, role=Role.OWNER)
        membership_remove(membership=owner, actor=None, actor_membership=second)
        assert list(Membership.objects.all()) == [second]


def test_a_member_of_two_tenants_switches_between_them(tenant_a, tenant_b):
    client = console_client(tenant_a, Role.RECRUITER)
    MembershipFactory(tenant=tenant_b, user=client.user, role=Role.VIEWER)
    page = client.get(reverse("admin:index")).content.decode()
    assert "Acme" in page and "Globex" in page
    client.post(reverse("tenant_switch"), {"tenant_id": str(tenant_b.pk)})
    assert client.get(reverse("admin:index")).wsgi_request.tenant == tenant_b
    # A tenant the user does not belong to is not selectable.
    other = client.post(reverse("tenant_switch"), {"tenant_id": "00000000-0000-0000-0000-0"})
    assert other.status_code == 404


def test_owners_change_tenant_settings_with_an_audit(tenant_a):
    client = console_client(tenant_a, Role.OWNER)
    response = client.post(
        reverse("admin:tenants_tenant_change", args=[tenant_a.pk]),
        {
            "name": "Acme Ltd",
            "retention_days": 90,
            "invitation_expiry_days": 7,
            "allowed_admin_networks": '["127.0.0.0/8"]',
            "branding": "{}",
            "video_enabled": "on",
            "default_model": "gpt-realtime",
            "default_voice": "marin",
            "default_language": "en",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with rls.tenant_context(tenant_a.pk):
        tenant_a.refresh_from_db()
        event = AuditEvent.objects.get(action="tenant.settings_changed")
    assert tenant_a.name == "Acme Ltd" and tenant_a.retention_days == 90
    assert event.details == {"fields": ["allowed_admin_networks", "name", "retention_days"]}


def test_a_refused_network_is_shown_beside_the_field_with_the_settings_typed(tenant_a):
    client = console_client(tenant_a, Role.OWNER)
    response = client.post(
        reverse("admin:tenants_tenant_change", args=[tenant_a.pk]),
        {
            "name": "Acme Renamed",
            "retention_days": 90,
            "invitation_expiry_days": 7,
            "allowed_admin_networks": '["10.0.0.0/8", "the office"]',
            "branding": "{}",
            "video_enabled": "on",
            "default_model": "gpt-realtime",
            "default_voice": "marin",
            "default_language": "en",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert field_errors(page, "allowed_admin_networks") == [
        "&#x27;the office&#x27; is not a CIDR range."
    ]
    assert "the office" in form_row(page, "allowed_admin_networks")
    assert 'value="Acme Renamed"' in form_row(page, "name")
    with rls.tenant_context(tenant_a.pk):
        tenant_a.refresh_from_db()
        assert (tenant_a.name, tenant_a.allowed_admin_networks) == ("Acme", [])
        assert not AuditEvent.objects.filter(action="tenant.settings_changed").exists()


def test_the_console_refuses_networks_outside_the_tenants_list(tenant_a):
    with rls.bypass_context():
        tenant_a.allowed_admin_networks = ["10.0.0.0/8"]
        tenant_a.save(update_fields=["allowed_admin_networks"])
    client = console_client(tenant_a, Role.RECRUITER)
    assert client.get(reverse("admin:index")).status_code == 403
    assert client.get(reverse("admin:index"), REMOTE_ADDR="10.1.2.3").status_code == 200


def test_an_operator_suspends_a_tenant_through_the_service(operator_client, tenant_a):
    response = operator_client.post(
        reverse("admin:tenants_tenant_change", args=[tenant_a.pk]),
        {
            "name": tenant_a.name,
            "slug": tenant_a.slug,
            "status": "suspended",
            "retention_days": 180,
            "invitation_expiry_days": 7,
            "allowed_admin_networks": "[]",
            "branding": "{}",
            "video_enabled": "on",
            "default_model": "gpt-realtime",
            "default_voice": "marin",
            "default_language": "en",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with rls.bypass_context():
        tenant_a.refresh_from_db()
        event = AuditEvent.objects.get(action="tenant.settings_changed")
    assert tenant_a.status == "suspended" and event.details == {"fields": ["status"]}
    assert operator_client.get(reverse("admin:tenants_tenant_add")).status_code == 403


def test_owners_cannot_change_slug_or_status(tenant_a):
    from tenants.services import tenant_update_settings

    with rls.tenant_context(tenant_a.pk), pytest.raises(ValidationError, match="Not editable"):
        tenant_update_settings(tenant=tenant_a, actor=None, changes={"status": "suspended"})
