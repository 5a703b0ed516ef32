"""What an API client may do. A client holds a set of scopes; each operation needs one."""

SCOPES = {
    "candidates:read": "Read candidates",
    "candidates:write": "Create, update and erase candidates",
    "invitations:read": "Read invitations",
    "invitations:write": "Send, resend and revoke invitations",
    "templates:read": "Read interview templates",
    "sessions:read": "Read interview sessions with their transcript and timeline",
    "summaries:read": "Read the AI summaries of sessions",
    "decisions:read": "Read recruiters' decisions",
    "decisions:write": "Record decisions",
    "webhooks:manage": "Register, change and remove webhook endpoints; read their deliveries",
}
SCOPE_CHOICES = sorted(SCOPES.items())
