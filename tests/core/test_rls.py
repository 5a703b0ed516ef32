"""The database wall, proven with the application's own (non-superuser) role."""

import re

import psycopg
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.models import ForeignKey

from core import asyncdb, rls
from interviews.models import Candidate
from tenants.models import AuditEvent, Membership, Tenant
from tests.factories import (
    AuditEventFactory,
    CandidateFactory,
    MembershipFactory,
    SessionEventFactory,
    UserFactory,
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
    with connection.cursor() as cursor:  # the database's own view: no tenant set any more
        cursor.execute("SELECT current_setting(%s, true)", [rls.TENANT])
        assert cursor.fetchone()[0] in ("", None)


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


# --- What the application role cannot do to the wall -----------------------------------------

PERSONAL_TABLES = [
    "auth_user",
    "account_emailaddress",
    "socialaccount_socialaccount",
    "django_session",
    "django_admin_log",
    "mfa_authenticator",
]


def visible_rows(tables) -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (our table names)
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.fixture
def tenant_b_data(tenant_b, client):
    """A member and a candidate of tenant B, with an account, an email address, a Google link,
    a browser session, a line of the admin's log and a two-factor secret: something in every
    protected table."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount
    from django.contrib.admin.models import ADDITION, LogEntry

    member = MembershipFactory(tenant=tenant_b)
    candidate = CandidateFactory(tenant=tenant_b, user=UserFactory())
    SessionEventFactory(session__tenant=tenant_b, tenant=tenant_b)
    AuditEventFactory(tenant=tenant_b)
    client.force_login(member.user)
    with rls.bypass_context():
        EmailAddress.objects.create(user=candidate.user, email=candidate.user.email)
        SocialAccount.objects.create(user=candidate.user, provider="google", uid="1")
        LogEntry.objects.create(
            user=member.user, object_repr="Ada <ada@example.com>", action_flag=ADDITION
        )
        Authenticator.objects.create(
            user=member.user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
        )
        assert all(visible_rows(PERSONAL_TABLES).values())
        candidates = Candidate.objects.filter(tenant=tenant_b).count()
    return {
        "member": member,
        "candidate": candidate,
        "candidates": candidates,
        "session_key": client.session.session_key,
    }


def test_the_application_role_cannot_open_the_wall_whatever_it_sets(tenant_a, tenant_b_data):
    forged = {
        "app.rls_bypass": "on",
        "app.tenant_id": str(tenant_b_data["member"].tenant_id),
        "app.user_id": str(tenant_b_data["member"].user_id),
        "app.identity_lookup": "on",
        "app.session_key": tenant_b_data["session_key"],
    }
    # As an injected statement would, in the middle of a request of tenant A.
    with rls.tenant_context(tenant_a.pk), connection.cursor() as cursor:
        for name, value in forged.items():
            cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
        # Also with a signature that is not right for this connection.
        cursor.execute(
            "SELECT set_config('app.tenant_id', %s, false)",
            [rls.sign(rls.TENANT, forged["app.tenant_id"], "12345@1700000000000000")],
        )
        assert visible_rows([*tenant_owned_tables(), *PERSONAL_TABLES]) == dict.fromkeys(
            [*tenant_owned_tables(), *PERSONAL_TABLES], 0
        )


def test_a_signature_read_off_another_connection_opens_nothing(tenant_b_data):
    tenant_b = str(tenant_b_data["member"].tenant_id)
    with psycopg.connect(asyncdb.conninfo(), autocommit=True) as other:
        (identity,) = other.execute(rls.CONNECTION_IDENTITY_SQL).fetchone()
        signed = rls.sign(rls.TENANT, tenant_b, identity)
        # A literal, as Django's client-side binding sends it: any backend of the same role
        # can read it in pg_stat_activity.
        other.execute(f"SELECT set_config('app.tenant_id', '{signed}', false)")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # taken once per transaction
            cursor.execute(
                "SELECT query FROM pg_stat_activity WHERE pid = %s", [other.info.backend_pid]
            )
            harvested = re.search(r"'app.tenant_id', '([^']+)'", cursor.fetchone()[0]).group(1)
            assert harvested == signed
            cursor.execute("SELECT set_config('app.tenant_id', %s, false)", [harvested])
            assert visible_rows(["interviews_candidate", "tenants_membership"]) == {
                "interviews_candidate": 0,
                "tenants_membership": 0,
            }
    rls.reset()
    with rls.tenant_context(tenant_b):  # signed for this connection, the same tenant is open
        assert Candidate.objects.count() == tenant_b_data["candidates"]


def test_types_of_its_own_do_not_change_what_the_policies_believe(tenant_a, tenant_b_data):
    """A session's temporary schema is searched first for type names: a query could give
    ``uuid`` or ``text`` a meaning of its own (an enum and a cast) to make the policies'
    functions return another tenant, or another connection's identity."""
    tenant_b = str(tenant_b_data["member"].tenant_id)
    with psycopg.connect(asyncdb.conninfo(), autocommit=True) as other:
        (victim,) = other.execute(rls.CONNECTION_IDENTITY_SQL).fetchone()
        signed_bypass = rls.sign(rls.BYPASS, "on", victim)
        pid, start = victim.split("@")
    with rls.tenant_context(tenant_a.pk), connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE TYPE pg_temp.uuid AS ENUM ('{tenant_b}');
            CREATE FUNCTION pg_temp.to_b(pg_catalog.text) RETURNS pg_temp.uuid
                LANGUAGE sql CALLED ON NULL INPUT AS $$ SELECT '{tenant_b}'::pg_temp.uuid $$;
            CREATE CAST (pg_catalog.text AS pg_temp.uuid)
                WITH FUNCTION pg_temp.to_b(pg_catalog.text);
            CREATE TYPE pg_temp.text AS ENUM ('{pid}', '{start}');
            CREATE FUNCTION pg_temp.pid(integer) RETURNS pg_temp.text
                LANGUAGE sql AS $$ SELECT '{pid}'::pg_temp.text $$;
            CREATE FUNCTION pg_temp.start(bigint) RETURNS pg_temp.text
                LANGUAGE sql AS $$ SELECT '{start}'::pg_temp.text $$;
            CREATE CAST (integer AS pg_temp.text) WITH FUNCTION pg_temp.pid(integer);
            CREATE CAST (bigint AS pg_temp.text) WITH FUNCTION pg_temp.start(bigint);
            """
        )
        cursor.execute("SELECT set_config('app.tenant_id', 'anything', false)")
        cursor.execute("SELECT set_config('app.rls_bypass', %s, false)", [signed_bypass])
        cursor.execute("SELECT public.rls_tenant(), public.rls_bypass(), public.rls_connection()")
        tenant, bypass, identity = cursor.fetchone()
        assert (tenant, bypass) == (None, False) and identity != victim
        assert visible_rows([*tenant_owned_tables(), *PERSONAL_TABLES]) == dict.fromkeys(
            [*tenant_owned_tables(), *PERSONAL_TABLES], 0
        )


def test_every_function_the_policies_call_pins_its_search_path():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, proconfig FROM pg_proc WHERE proname LIKE 'rls\\_%' "
            "OR proname = 'invitation_token_lookup'"
        )
        functions = dict(cursor.fetchall())
    assert len(functions) >= 8
    for name, config in functions.items():
        assert config == ["search_path=pg_catalog, pg_temp"], name


def test_the_signing_key_is_out_of_the_application_roles_reach():
    with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM rls_private.signing_key")
    with connection.cursor() as cursor:
        cursor.execute("SELECT rls_bypass(), rls_identity_lookup(), rls_tenant() IS NULL")
        assert cursor.fetchone() == (False, False, True)


def test_accounts_sessions_and_the_admin_log_are_behind_the_wall(tenant_b_data):
    candidate, member = tenant_b_data["candidate"], tenant_b_data["member"]
    assert visible_rows(PERSONAL_TABLES) == dict.fromkeys(PERSONAL_TABLES, 0)
    User = get_user_model()
    with rls.user_context(candidate.user_id):  # one's own account and address
        assert list(User.objects.values_list("pk", flat=True)) == [candidate.user_id]
        assert visible_rows(["account_emailaddress", "django_admin_log"]) == {
            "account_emailaddress": 1,
            "django_admin_log": 0,
        }
    with rls.tenant_context(member.tenant_id):  # the tenant's members and candidates
        assert set(User.objects.values_list("pk", flat=True)) == {
            member.user_id,
            candidate.user_id,
        }
        assert visible_rows(["account_emailaddress", "django_session"]) == {
            "account_emailaddress": 0,
            "django_session": 0,
        }
    with rls.identity_lookup_context():  # signing in: every account, no tenant data
        assert User.objects.count() == 2
        assert visible_rows(["interviews_candidate", "django_session", "mfa_authenticator"]) == {
            "interviews_candidate": 0,
            "django_session": 0,
            "mfa_authenticator": 0,  # nor anyone's two-factor secret
        }
    with rls.user_context(member.user_id):  # one's own two-factor secret, no one else's
        assert visible_rows(["mfa_authenticator"]) == {"mfa_authenticator": 1}
    with rls.user_context(candidate.user_id):
        assert visible_rows(["mfa_authenticator"]) == {"mfa_authenticator": 0}
    with rls.session_context(tenant_b_data["session_key"]):
        assert visible_rows(["django_session"]) == {"django_session": 1}
