"""Settings for retention and the periodic jobs (imported by config.settings)."""

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

# --- Retention --------------------------------------------------------------------------------
# Audit events older than this many days are deleted by the daily retention job; 0 keeps them
# forever. Never fewer than 183 (about six months): the database refuses to delete a younger
# event (tenants.models.AUDIT_MIN_RETENTION_DAYS).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
if 0 < AUDIT_RETENTION_DAYS < 183:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be 0 (keep) or at least 183 days")

# Periodic jobs. Celery beat keeps its schedule in the database (django-celery-beat), where
# these entries are written when beat starts.
CELERY_BEAT_SCHEDULE = {
    "expire-stale-sessions": {
        "task": "live.tasks.expire_stale_sessions",
        "schedule": 60.0,
    },
    # Video segments no webhook made ready: ask the provider (docs/video.md).
    "reconcile-video-segments": {
        "task": "live.tasks.reconcile_video_segments",
        "schedule": 600.0,
    },
    # Summaries whose Celery message was lost (the broker away when the session ended) or
    # whose worker died mid-run: queued again (docs/summaries.md, docs/reliability.md).
    "requeue-stranded-summaries": {
        "task": "interviews.tasks.requeue_stranded_summaries",
        "schedule": env.float("SUMMARY_SWEEP_SECONDS", default=60.0),
    },
    "expire-invitations": {
        "task": "invitations.tasks.expire_invitations",
        "schedule": 300.0,
    },
    # Webhook deliveries whose next attempt is due: the Celery message that should have sent
    # them may have been lost (docs/webhooks.md).
    "send-due-webhooks": {
        "task": "webhooks.tasks.send_due_deliveries",
        "schedule": 60.0,
    },
    "prune-webhook-deliveries": {
        "task": "webhooks.tasks.prune_deliveries",
        "schedule": crontab(hour=3, minute=45),
    },
    # The tenant API's Idempotency-Key answers past API_IDEMPOTENCY_HOURS (docs/api.md).
    "prune-idempotency-records": {
        "task": "tenant_api.tasks.prune_idempotency_records",
        "schedule": crontab(minute=25),
    },
    # Tenants whose deletion grace period is over (docs/provisioning.md).
    "erase-deleted-tenants": {
        "task": "privacy.tasks.erase_deleted_tenants",
        "schedule": crontab(minute=35),
    },
    # Each tenant's retention policy, and the audit trail's, once a day (03:15 UTC).
    "apply-retention": {
        "task": "privacy.tasks.apply_retention_everywhere",
        "schedule": crontab(hour=3, minute=15),
    },
}
