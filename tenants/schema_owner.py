"""Running one command's queries as the schema owner (DATABASE_OWNER_URL).

``migrate`` and the release command's lock check work on the schema, which the application's
role (DATABASE_URL) may not even be allowed to read yet (a fresh or just-restored database):
they switch the default connection to the owner's role for their duration, then back."""

from __future__ import annotations

import contextlib

import environ
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

_CONNECTION_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


def owner_url_for(alias: str) -> str:
    """DATABASE_OWNER_URL when ``alias`` is the default database and it is set, else ''."""
    owner_url = getattr(settings, "DATABASE_OWNER_URL", "")
    return owner_url if alias == DEFAULT_DB_ALIAS else ""


@contextlib.contextmanager
def connected_as(alias: str, url: str, *, server_options: str = ""):
    """The connection ``alias``, connected with ``url``'s role (unchanged when ``url`` is
    empty) and these server options (``-c name=value ...``), restored on exit."""
    connection = connections[alias]
    original = {key: connection.settings_dict.get(key) for key in _CONNECTION_KEYS}
    connection.close()
    try:
        if url:
            owner = environ.Env.db_url_config(url)
            connection.settings_dict.update({key: owner.get(key, "") for key in _CONNECTION_KEYS})
            connection.settings_dict["OPTIONS"] = owner.get("OPTIONS") or {}
        if server_options:
            options = dict(connection.settings_dict.get("OPTIONS") or {})
            options["options"] = f"{options.get('options', '')} {server_options}".strip()
            connection.settings_dict["OPTIONS"] = options
        yield connection
    finally:
        connection.close()
        connection.settings_dict.update(original)
