"""Browser sessions behind the database wall: each row readable only with its own key."""

from datetime import timedelta

import psycopg
import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from core import asyncdb, rls
from core.sessionstore import SessionStore

pytestmark = pytest.mark.django_db


def stored_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_session")
        return cursor.fetchone()[0]


def test_a_session_is_kept_and_read_back_with_its_key():
    store = SessionStore()
    store["invitation"] = "abc"
    store.save()

    assert SessionStore(store.session_key).load() == {"invitation": "abc"}
    assert SessionStore(store.session_key).exists(store.session_key)


def test_without_its_key_no_session_can_be_read():
    store = SessionStore()
    store["_auth_user_id"] = "7"
    store.save()

    assert stored_sessions() == 0
    with rls.session_context("another-key-entirely"):
        assert stored_sessions() == 0
    with rls.session_context(store.session_key):
        assert stored_sessions() == 1
    assert SessionStore("another-key-entirely").load() == {}


def test_a_changed_session_is_saved_and_a_deleted_one_is_gone():
    store = SessionStore()
    store["step"] = 1
    store.save()
    store["step"] = 2
    store.save()
    assert SessionStore(store.session_key).load() == {"step": 2}

    store.delete()
    with rls.bypass_context():
        assert not Session.objects.exists()


def test_expired_sessions_of_everyone_are_cleared():
    fresh, old = SessionStore(), SessionStore()
    fresh.save()
    old.set_expiry(timezone.now() - timedelta(seconds=1))
    old.save()

    SessionStore.clear_expired()

    with rls.bypass_context():
        assert list(Session.objects.values_list("session_key", flat=True)) == [fresh.session_key]


def test_the_console_signs_in_and_out_through_the_store(client, tenant_a):
    from tests.factories import MembershipFactory

    member = MembershipFactory(tenant=tenant_a)
    response = client.post(
        "/admin/login/", {"username": member.user.username, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout/")
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_a_session_key_never_shows_in_another_backends_view_of_this_one():
    # Every backend of the application role can read the others' last statement in
    # pg_stat_activity; with values bound apart from the SQL it shows $1, not the key.
    store = SessionStore()
    store.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM django_session WHERE session_key = %s", [store.session_key]
        )
    with psycopg.connect(asyncdb.conninfo(), autocommit=True) as other:
        (query,) = other.execute(
            "SELECT query FROM pg_stat_activity WHERE pid = %s",
            [connection.connection.info.backend_pid],
        ).fetchone()
    assert "django_session" in query and store.session_key not in query
