"""Browser sessions in PostgreSQL behind the database wall (SESSION_ENGINE).

Django's database sessions, with ``django_session`` under row-level security: a row is visible
only to a connection that has signed its session key into ``app.session_key`` (core.rls),
which this store does around each of its reads and writes. A query that knows no session key
- a stray raw query, an injected one - reads no session at all, and so none of the sign-in
state, invitation flow or account ids sessions carry.

The asynchronous variants run the synchronous ones on the request's database thread: the
settings belong to that thread's connection, not the event loop's.
"""

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends import db

from . import rls


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        with rls.session_context(self.session_key):
            return super()._get_session_from_db()

    def exists(self, session_key):
        with rls.session_context(session_key):
            return super().exists(session_key)

    def save(self, must_create=False):
        if self.session_key is None:
            return self.create()
        with rls.session_context(self.session_key):
            return super().save(must_create=must_create)

    def delete(self, session_key=None):
        with rls.session_context(session_key or self.session_key):
            return super().delete(session_key)

    @classmethod
    def clear_expired(cls):
        with rls.bypass_context():  # `manage.py clearsessions`: every session, by age only
            super().clear_expired()

    async def _aget_session_from_db(self):
        return await sync_to_async(self._get_session_from_db)()

    async def aexists(self, session_key):
        return await sync_to_async(self.exists)(session_key)

    async def asave(self, must_create=False):
        return await sync_to_async(self.save)(must_create=must_create)

    async def adelete(self, session_key=None):
        return await sync_to_async(self.delete)(session_key)

    @classmethod
    async def aclear_expired(cls):
        await sync_to_async(cls.clear_expired)()
