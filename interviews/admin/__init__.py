"""Recruiter console pages for candidates, interview templates and sessions, a module each."""

from .candidates import CandidateAdmin, candidate_person
from .sessions import InterviewSessionAdmin
from .templates import InterviewTemplateAdmin

__all__ = ["CandidateAdmin", "InterviewSessionAdmin", "InterviewTemplateAdmin", "candidate_person"]
