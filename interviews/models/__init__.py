"""Candidates, interview templates, sessions and everything a session produces.

All tables carry ``tenant_id`` and are under row-level security (see the migrations).
Django indexes every foreign-key column; the indexes the models declare are the extra ones the
console's list pages and the periodic jobs query by, each with the query it serves.

Callers use ``from interviews.models import <name>``; each module below holds one topic, and
this package names everything public once.
"""

# Imported in the order the models were declared in one module before, which is the order
# Django registers them in (and so lists a model's related objects in).
# isort: off
from .candidates import Candidate, CandidateStatus
from .templates import (
    InterviewTemplate,
    RubricCriterion,
    TemplateQuestion,
    Voice,
    default_turn_detection,
)
from .consent import Consent
from .sessions import (
    ACTIVE_STATUSES,
    ON_CALL_STATUSES,
    SESSION_RESTAMPED_STATUSES,
    SESSION_STATUS_TIMESTAMPS,
    SESSION_TRANSITIONS,
    TERMINAL_STATUSES,
    Decision,
    EndReason,
    InterviewSession,
    SessionStatus,
)
from .outputs import (
    Recommendation,
    SessionEvent,
    SessionSummary,
    Speaker,
    SummaryStatus,
    TranscriptEntry,
    TranscriptSource,
    VideoSegment,
    VideoStatus,
)
# isort: on

__all__ = [
    "ACTIVE_STATUSES",
    "ON_CALL_STATUSES",
    "SESSION_RESTAMPED_STATUSES",
    "SESSION_STATUS_TIMESTAMPS",
    "SESSION_TRANSITIONS",
    "TERMINAL_STATUSES",
    "Candidate",
    "CandidateStatus",
    "Consent",
    "Decision",
    "EndReason",
    "InterviewSession",
    "InterviewTemplate",
    "Recommendation",
    "RubricCriterion",
    "SessionEvent",
    "SessionStatus",
    "SessionSummary",
    "Speaker",
    "SummaryStatus",
    "TemplateQuestion",
    "TranscriptEntry",
    "TranscriptSource",
    "VideoSegment",
    "VideoStatus",
    "Voice",
    "default_turn_detection",
]
