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


@pytest.fixture
def database_shutting_down():
    """Every update of a session fails as it does while the server shuts down (SQLSTATE
    57P01, admin_shutdown)."""
    table = InterviewSession._meta.db_table
    owner_sql(
        """CREATE FUNCTION test_shutting_down() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION 'terminating connection due to administrator command'
               USING ERRCODE = 'admin_shutdown';
           END $$""",
        f"""CREATE TRIGGER test_shutting_down BEFORE UPDATE ON {table} FOR EACH ROW
            EXECUTE FUNCTION test_shutting_down()""",
    )
    yield
    owner_sql(f"DROP TRIGGER test_shutting_down ON {table}", "DROP FUNCTION test_shutting_down()")


def test_a_heartbeat_while_the_database_restarts_is_a_503_to_try_again(
    tenant_a, database_shutting_down
):
    session = SessionFactory(tenant=tenant_a, candidate__user=UserFactory(), status="live")
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    client = Client(raise_request_exception=False)

    response = client.post(
        f"/api/candidate/sessions/{session.pk}/heartbeat/",
        data={"connection_state": "connected"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response["Retry-After"] == "2"
