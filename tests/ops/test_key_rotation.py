"""Rotating SECRET_KEY as docs/operations.md does it: the release command installs the
database's row-level security key derived from the new one (the old one's signatures are
then refused), and what Django signed with the old key still verifies while it is listed in
SECRET_KEY_FALLBACKS."""

import json

import pytest

from tests.support.databases import scratch_database

OLD = "old-secret-key-" + "o" * 50
NEW = "new-secret-key-" + "n" * 50
PROBE = """
import json
from django.core import signing
from core import rls
from live.tokens import session_token_read
try:
    session_token_read({token!r})
    token_ok = True
except signing.BadSignature:
    token_ok = False
print(json.dumps({{"wall": rls.wall_problems(), "token": token_ok}}))
"""


@pytest.fixture(scope="module")
def database():
    with scratch_database("rotation") as db:
        result = db.manage("migrate", "-v0", SECRET_KEY=OLD)
        assert result.returncode == 0, result.stderr
        yield db


def _probe(db, token: str, **env) -> dict:
    result = db.manage("shell", "--no-imports", "-c", PROBE.format(token=token), **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _token(db, key: str) -> str:
    code = (
        "from live.tokens import session_token_issue; import uuid; "
        "print(session_token_issue(session_id=uuid.uuid4(), user_id=1, tenant_id=uuid.uuid4()))"
    )
    result = db.manage("shell", "--no-imports", "-c", code, SECRET_KEY=key)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_a_new_secret_key_takes_over_the_wall_with_the_release_command(database):
    old_token = _token(database, OLD)
    before = _probe(database, old_token, SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=OLD)
    assert any("signatures" in problem for problem in before["wall"])  # not installed yet

    release = database.manage("release", SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=OLD)
    assert release.returncode == 0, release.stderr

    after = _probe(database, old_token, SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=OLD)
    assert after == {"wall": [], "token": True}
    # Machines still on the old key lose the wall: the rotation is a short maintenance.
    assert _probe(database, old_token, SECRET_KEY=OLD)["wall"]
    # Once the fallback is dropped, the old key's tokens are refused.
    assert _probe(database, old_token, SECRET_KEY=NEW)["token"] is False
