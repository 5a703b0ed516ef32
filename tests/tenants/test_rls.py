"""The database wall, proven with the application's own (non-superuser) role."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.db.models import ForeignKey

from interviews.models import Candidate
from tenants import rls
from tenants.models import AuditEvent, Membership, Tenant
from tests.factories import (
    AuditEventFactory,
    CandidateFactory,
    MembershipFactory,
    SessionEventFactory,
)

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("tenants", "interviews", "invitations")


def tenant_owned_tables():
    tables = []
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        if model is Tenant or any(
            isinstance(f, ForeignKey) and f.related_model is Tenant for f in model._meta.fields
        ):
            tables.append(model._meta.db_table)
    return tables


def test_the_application_role_is_subject_to_rls():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, current_user FROM pg_roles WHERE rolname = current_user"
        )
        superuser, bypass, user = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s",
            [user],
        )
        owned = cursor.fetchone()[0]
    assert not superuser and not bypass
    assert owned == 0, "the application role must not own the tables it is protected from"


def test_every_tenant_owned_table_has_forced_rls_with_a_policy():
    tables = tenant_owned_tables()
    assert len(tables) >= 13
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "  (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) "
            "FROM pg_class c WHERE c.relname = ANY(%s)",
            [tables],
        )
        rows = {name: (enabled, forced, policies) for name, enabled, forced, policies in cursor}
    assert set(rows) == set(tables)
    for table, (enabled, forced, policies) in rows.items():
        assert enabled and forced and policies >= 1, table


def test_an_unscoped_query_in_a_tenant_context_sees_only_that_tenant(tenant_a, tenant_b):
    CandidateFactory.create_batch(3, tenant=tenant_a)
    CandidateFactory.create_batch(2, tenant=tenant_b)

    with rls.tenant_context(tenant_a.pk):
        # Deliberately unscoped: no filter on tenant at all.
        assert Candidate.objects.count() == 3
        assert set(Candidate.objects.values_list("tenant_id", flat=True)) == {tenant_a.pk}
        assert list(Tenant.objects.values_list("slug", flat=True)) == ["acme"]
    with rls.tenant_context(tenant_b.pk):
        assert Candidate.objects.count() == 2


def test_no_tenant_context_sees_no_tenant_rows(tenant_a):
    CandidateFactory(tenant=tenant_a)
    assert Candidate.objects.count() == 0
    assert Tenant.objects.count() == 0


def test_writes_into_another_tenant_are_refused(tenant_a, tenant_b):
    theirs = CandidateFactory(tenant=tenant_b, full_name="Theirs")
    with rls.tenant_context(tenant_a.pk):
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Candidate.objects.create(tenant=tenant_b, email="x@example.com")
        assert Candidate.objects.filter(pk=theirs.pk).update(full_name="Mine") == 0
        assert Candidate.objects.filter(pk=theirs.pk).delete()[0] == 0
    with rls.bypass_context():
        assert Candidate.objects.get(pk=theirs.pk).full_name == "Theirs"


def test_a_user_sees_only_their_own_memberships_before_a_tenant_is_chosen(tenant_a, tenant_b):
    mine = MembershipFactory(tenant=tenant_a)
    MembershipFactory(tenant=tenant_b)
    with rls.user_context(mine.user_id):
        assert list(Membership.objects.all()) == [mine]
        assert list(Tenant.objects.all()) == [tenant_a]


def test_contexts_nest_and_restore(tenant_a, tenant_b):
    CandidateFactory(tenant=tenant_a)
    with rls.tenant_context(tenant_a.pk):
        with rls.tenant_context(tenant_b.pk):
            assert Candidate.objects.count() == 0
        assert Candidate.objects.count() == 1
    assert Candidate.objects.count() == 0
    assert rls.current_tenant_id() == ""


def test_a_context_left_by_an_error_inside_a_transaction_is_not_carried_over(tenant_a):
    CandidateFactory(tenant=tenant_a)
    with pytest.raises(DatabaseError), transaction.atomic(), rls.tenant_context(tenant_a.pk):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1/0")
    assert Candidate.objects.count() == 0


def test_the_audit_trail_is_append_only(tenant_a):
    event = AuditEventFactory(tenant=tenant_a)
    with rls.bypass_context():
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).delete()


def test_session_events_cannot_be_edited(tenant_a):
    event = SessionEventFactory(session__tenant=tenant_a, tenant=tenant_a)
    with rls.bypass_context():
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            type(event).objects.filter(pk=event.pk).update(kind="x")
