"""The session API while the database is out of reach (a restart, a failover): a 503 the
interview page waits out, with Retry-After, not a 500. Found by fault injection
(docs/reliability.md: PostgreSQL restart)."""

import psycopg
import pytest
from django.conf import settings
from django.test import Client

from interviews.models import InterviewSession
from live.tokens import session_token_issue
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def owner_sql(*statements):
    """Statements as the schema owner: the database misbehaving, not our code faked."""
    url = settings.DATABASE_OWNER_URL.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def failing_session_updates(errcode: str, message: str):
    """Every update of a session fails with this SQLSTATE, raised by the server itself."""
    table = InterviewSession._meta.db_table
    owner_sql(
        f"""CREATE FUNCTION test_failing() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION '{message}' USING ERRCODE = '{errcode}';
           END $$""",
        f"""CREATE TRIGGER test_failing BEFORE UPDATE ON {table} FOR EACH ROW
            EXECUTE FUNCTION test_failing()""",
    )
    yield
    owner_sql(f"DROP TRIGGER test_failing ON {table}", "DROP FUNCTION test_failing()")


@pytest.fixture
def database_shutting_down():
    """As while the server shuts down (SQLSTATE 57P01, admin_shutdown)."""
    yield from failing_session_updates(
        "admin_shutdown", "terminating connection due to administrator command"
    )


@pytest.fixture
def deadlocking():
    """A deadlock (SQLSTATE 40P01): an operational error that is not the database away."""
    yield from failing_session_updates("deadlock_detected", "deadlock detected")


def heartbeat(tenant):
    session = SessionFactory(tenant=tenant, candidate__user=UserFactory(), status="live")
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    return Client(raise_request_exception=False).post(
        f"/api/candidate/sessions/{session.pk}/heartbeat/",
        data={"connection_state": "connected"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_heartbeat_while_the_database_restarts_is_a_503_to_try_again(
    tenant_a, database_shutting_down
):
    response = heartbeat(tenant_a)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response["Retry-After"] == "2"


def test_other_operational_errors_stay_500s_that_operators_see(tenant_a, deadlocking):
    assert heartbeat(tenant_a).status_code == 500
