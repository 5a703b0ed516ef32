import contextvars
import os

from celery import Celery
from celery.signals import (
    before_task_publish,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    task_success,
    worker_init,
)

from core import metrics, requestcontext

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    # The request id follows a request into the tasks it causes (see config.logging).
    if headers is not None and requestcontext.request_id.get():
        headers.setdefault("request_id", requestcontext.request_id.get())


# The value each running task replaced, put back when it ends: a task run inline (eagerly,
# inside a request) must not leave its id on the rest of the request's lines.
_replaced: dict[str, contextvars.Token] = {}


@task_prerun.connect
def _restore_request_id(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, "request_id", None) if task else None
    token = requestcontext.request_id.set(request_id or (task.request.id if task else "") or "")
    if task_id:
        _replaced[task_id] = token


@task_postrun.connect
def _forget_request_id(task_id=None, **kwargs):
    token = _replaced.pop(task_id, None)
    if token is not None:
        try:
            requestcontext.request_id.reset(token)
        except ValueError:  # ended in another context than it started in
            requestcontext.request_id.set("")


# --- Operators' metrics (docs/observability.md) --------------------------------------------
# Counted where the task ran: in a prefork worker's child process, whose values reach the
# main process's exporter through PROMETHEUS_MULTIPROC_DIR.


def _task_name(sender) -> str:
    return getattr(sender, "name", None) or "unknown"


@task_success.connect
def _count_success(sender=None, **kwargs):
    metrics.CELERY_TASKS.labels(_task_name(sender), "success").inc()


@task_failure.connect
def _count_failure(sender=None, **kwargs):
    metrics.CELERY_TASKS.labels(_task_name(sender), "failure").inc()


@task_retry.connect
def _count_retry(sender=None, **kwargs):
    metrics.CELERY_TASKS.labels(_task_name(sender), "retry").inc()


@worker_init.connect
def _serve_metrics(**kwargs):
    # In the worker's main process, before it forks its pool: one exporter per machine.
    from core import exporter

    exporter.serve_from_settings(process="worker")
