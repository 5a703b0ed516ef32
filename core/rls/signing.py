"""The signed settings: their names, the key the database checks signatures with (derived
from SECRET_KEY and installed by ``migrate``), and signing a value for one connection."""

from __future__ import annotations

import hashlib
import hmac

from django.utils.crypto import salted_hmac

TENANT = "app.tenant_id"
USER = "app.user_id"
BYPASS = "app.rls_bypass"
IDENTITY = "app.identity_lookup"
SESSION = "app.session_key"

CONNECTION_IDENTITY_SQL = "SELECT public.rls_connection()"


def signing_key() -> bytes:
    """The 64-byte key the database checks signatures with (one SHA-256 block, so HMAC uses it
    as it is). Derived from SECRET_KEY; ``migrate`` installs it (``install_signing_key``)."""
    return salted_hmac("core.rls", "row-level security settings", algorithm="sha512").digest()


def sign(name: str, value: str, connection_identity: str) -> str:
    """``value`` signed for setting ``name`` on the connection ``connection_identity``."""
    message = f"{name}:{value}:{connection_identity}".encode()
    return f"{value}:{hmac.new(signing_key(), message, hashlib.sha256).hexdigest()}"


def install_signing_key(cursor) -> None:
    """Store this deployment's key where only the schema owner (and ``rls_verified``, which
    runs as it) can read it. Run as the owner, after the migrations."""
    key = signing_key()
    cursor.execute(
        "INSERT INTO rls_private.signing_key (id, inner_pad, outer_pad) VALUES (true, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET inner_pad = excluded.inner_pad, "
        "outer_pad = excluded.outer_pad",
        [bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)],
    )
