"""Session archives: one JSON document per archived session, in the storage named "archive"
(``settings.STORAGES["archive"]``: a local folder by default, an S3-compatible bucket when
configured).

Names are deterministic - ``tenants/<tenant>/candidates/<candidate>/sessions/<session>.json``
- so that a retention run that stopped halfway writes the same file again instead of a second
one, and so that erasing a candidate finds every archive of theirs by its folder.
"""

from __future__ import annotations

import json

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.serializers.json import DjangoJSONEncoder

ARCHIVE_STORAGE = "archive"


class ArchiveError(Exception):
    """An archive could not be written where it belongs."""


def archive_storage() -> Storage:
    return storages[ARCHIVE_STORAGE]


def candidate_archive_folder(*, tenant_id, candidate_id) -> str:
    return f"tenants/{tenant_id}/candidates/{candidate_id}/sessions"


def session_archive_name(*, tenant_id, candidate_id, session_id) -> str:
    folder = candidate_archive_folder(tenant_id=tenant_id, candidate_id=candidate_id)
    return f"{folder}/{session_id}.json"


def archive_write(name: str, document: dict) -> str:
    """Write ``document`` as the archive ``name``, replacing one already there (a rerun after a
    crash: the rows it was made from are still in the database, so the new copy is as good,
    and a file cut short by the crash is replaced)."""
    storage = archive_storage()
    content = json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, ContentFile(content.encode()))
    if saved != name:  # another writer got there between the delete and the save
        storage.delete(saved)
        raise ArchiveError(f"archive {name} was written concurrently")
    return saved


def archive_read(name: str) -> dict:
    with archive_storage().open(name, "rb") as archived:
        return json.loads(archived.read())


def candidate_archives(*, tenant_id, candidate_id) -> list[str]:
    """The names of every session archive kept for a candidate."""
    folder = candidate_archive_folder(tenant_id=tenant_id, candidate_id=candidate_id)
    try:
        _, files = archive_storage().listdir(folder)
    except FileNotFoundError:  # a local folder that was never made; a bucket lists nothing
        return []
    return sorted(f"{folder}/{name}" for name in files if name.endswith(".json"))


def candidate_archives_delete(*, tenant_id, candidate_id) -> int:
    """Delete every session archive of a candidate; returns how many there were."""
    names = candidate_archives(tenant_id=tenant_id, candidate_id=candidate_id)
    storage = archive_storage()
    for name in names:
        storage.delete(name)
    return len(names)
