"""Where a candidate is in onboarding, kept in their (server-side) session between pages."""

FLOW_INVITATION_KEY = "interview_invitation_id"
FLOW_CONSENT_KEY = "interview_consent_id"
