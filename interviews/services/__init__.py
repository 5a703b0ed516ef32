"""Writes for candidates, templates and sessions. Admin, API and tasks all come through here.

Callers use ``from interviews import services`` and ``services.<name>``; each module below
does one job, and this package names everything public once.
"""

from .candidate_status import (
    DECISION_STATUS,
    PipelineEvent,
    candidate_status_after,
    candidate_status_follow,
)
from .candidates import (
    CANDIDATE_EDITABLE_FIELDS,
    candidate_create,
    candidate_delete,
    candidate_set_status,
    candidate_update,
    candidate_upsert,
    normalize_email,
)
from .connect import (
    ConnectTarget,
    SessionNotFound,
    TenantSuspended,
    session_connect_async,
    session_connect_target,
)
from .exports import EXPORT_MAX_ROWS, candidates_export, export_allowed, sessions_export
from .sessions import (
    STATUS_CHANGED,
    IllegalTransition,
    consent_record,
    require_same_tenant,
    session_can_transition,
    session_create,
    session_end,
    session_event_record,
    session_expire,
    session_heartbeat,
    session_mark_live,
    session_record_decision,
    session_transition,
)
from .summaries import (
    SUMMARISED_STATUSES,
    SummaryRun,
    retry_delay,
    summaries_stranded,
    summary_breaker,
    summary_give_up,
    summary_is_due,
    summary_on_session_end,
    summary_rerun,
    summary_write,
)
from .templates import template_parts_save, template_save
from .transcript import MAX_TRANSCRIPT_TEXT, transcript_append

__all__ = [
    "CANDIDATE_EDITABLE_FIELDS",
    "DECISION_STATUS",
    "EXPORT_MAX_ROWS",
    "MAX_TRANSCRIPT_TEXT",
    "STATUS_CHANGED",
    "SUMMARISED_STATUSES",
    "ConnectTarget",
    "IllegalTransition",
    "PipelineEvent",
    "SessionNotFound",
    "SummaryRun",
    "TenantSuspended",
    "candidate_create",
    "candidate_delete",
    "candidate_set_status",
    "candidate_status_after",
    "candidate_status_follow",
    "candidate_update",
    "candidate_upsert",
    "candidates_export",
    "consent_record",
    "export_allowed",
    "normalize_email",
    "require_same_tenant",
    "retry_delay",
    "session_can_transition",
    "session_connect_async",
    "session_connect_target",
    "session_create",
    "session_end",
    "session_event_record",
    "session_expire",
    "session_heartbeat",
    "session_mark_live",
    "session_record_decision",
    "session_transition",
    "sessions_export",
    "summaries_stranded",
    "summary_breaker",
    "summary_give_up",
    "summary_is_due",
    "summary_on_session_end",
    "summary_rerun",
    "summary_write",
    "template_parts_save",
    "template_save",
    "transcript_append",
]
