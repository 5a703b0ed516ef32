import os

from celery import Celery
from celery.signals import before_task_publish, task_prerun

from tenants import requestcontext

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    # The request id follows a request into the tasks it causes (see config.logging).
    if headers is not None and requestcontext.request_id.get():
        headers.setdefault("request_id", requestcontext.request_id.get())


@task_prerun.connect
def _restore_request_id(task=None, **kwargs):
    request_id = getattr(task.request, "request_id", None) if task else None
    requestcontext.request_id.set(request_id or (task.request.id if task else "") or "")
