"""Database use from long-lived threads outside Django's request cycle (the SDP proxy's worker
threads, the realtime worker). Nothing closes their connections between uses, so a connection
the database dropped (a restart, a failover) would fail every later call on that thread; this
closes a broken one so the next call reconnects."""

import functools

from django.db import DatabaseError, connections


def recover_connection(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DatabaseError:
            for connection in connections.all(initialized_only=True):
                if connection.connection is not None and not connection.is_usable():
                    connection.close()
            raise

    return wrapper
