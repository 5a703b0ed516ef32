"""Celery beat's schedule (written into the database by django-celery-beat when beat starts)
names tasks the workers know."""

from django.conf import settings

from config.celery import app


def test_every_periodic_job_names_a_registered_task():
    app.loader.import_default_modules()
    entries = settings.CELERY_BEAT_SCHEDULE
    assert {entry["task"] for entry in entries.values()} <= set(app.tasks)
    assert {"expire-stale-sessions", "expire-invitations", "apply-retention"} <= set(entries)
