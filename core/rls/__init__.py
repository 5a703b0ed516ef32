"""The database wall: PostgreSQL row-level security.

Every tenant-owned table has RLS enabled and FORCEd with a policy comparing its ``tenant_id``
to the tenant the connection works for (see ``rls_enable``, used by the migrations). The
application connects as a role that is neither superuser nor BYPASSRLS, so with no tenant set
a query sees no tenant rows at all, and in a tenant's context it sees only that tenant's rows -
whatever the ORM query says.

The tenant (and the user, the signed-in session, the bypass) is a connection setting, and a
setting anyone on the connection can change: a stray raw query or an SQL injection could call
``set_config('app.tenant_id', <another tenant>, false)``. So the values are *signed*: each is
``<value>:<HMAC-SHA256>`` over the setting's name, the value and this connection's identity
(backend pid and start time, unique over the server's life), with a key derived from
SECRET_KEY. The policies believe a value only when ``rls_verified()`` - a SECURITY DEFINER
function that alone may read the key, kept in the owner's private schema - finds its signature
right for the connection it is on. SQL alone cannot make a signature, and one read off another
connection is worthless here, as long as the connection's identity cannot be faked: the
functions pin their search_path (see RLS_FUNCTIONS_SQL).

The settings are session-level (``set_config(..., false)``) and each context manager puts the
previous value back when it exits, so they nest, work in autocommit mode and never outlive
the request/task that set them on a pooled connection. (A transaction-local value set inside
a savepoint would last until the *outer* transaction ends, which is the opposite of what a
nested context needs.)

Callers use ``from core import rls`` and ``rls.<name>``; each module below does one job
(signing, the context managers, the wall check, the SQL functions, the migrations' policy
helpers), and this package names everything public once.
"""

from .checks import wall_problems
from .context import (
    bypass_context,
    identity_lookup_context,
    reset,
    session_context,
    tenant_context,
    user_context,
)
from .functions import RLS_FUNCTIONS_SQL, rls_functions
from .policies import (
    IDENTITY_LOOKUP,
    OWN_USER,
    SESSION_KEY,
    TENANT_MATCH,
    TENANT_MEMBER_USERS,
    USER_MEMBERSHIP_READ,
    USER_TENANT_READ,
    append_only,
    rls_enable,
    rls_protect,
    rls_sign_policies,
)
from .signing import (
    BYPASS,
    CONNECTION_IDENTITY_SQL,
    IDENTITY,
    SESSION,
    TENANT,
    USER,
    install_signing_key,
    sign,
    signing_key,
)

__all__ = [
    "BYPASS",
    "CONNECTION_IDENTITY_SQL",
    "IDENTITY",
    "IDENTITY_LOOKUP",
    "OWN_USER",
    "RLS_FUNCTIONS_SQL",
    "SESSION",
    "SESSION_KEY",
    "TENANT",
    "TENANT_MATCH",
    "TENANT_MEMBER_USERS",
    "USER",
    "USER_MEMBERSHIP_READ",
    "USER_TENANT_READ",
    "append_only",
    "bypass_context",
    "identity_lookup_context",
    "install_signing_key",
    "reset",
    "rls_enable",
    "rls_functions",
    "rls_protect",
    "rls_sign_policies",
    "session_context",
    "sign",
    "signing_key",
    "tenant_context",
    "user_context",
    "wall_problems",
]
