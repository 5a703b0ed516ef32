"""ASGI entry point: HTTP through Django, WebSockets through Channels (served by daphne)."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()
if settings.SERVE_STATIC:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

from asgiref.sync import iscoroutinefunction  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.exception import convert_exception_to_response  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402


class CandidateAPIHandler(ASGIHandler):
    """Django for the candidate session API alone. Those requests carry a bearer session token
    and use no browser session, CSRF cookie, messages or console tenant, so they skip that
    middleware; each of Django's own middleware classes costs thread hops per request, which
    the SDP proxy - many offers at once, each waiting on the provider - cannot afford."""

    def load_middleware(self, is_async=False):
        """Django's own loader reads settings.MIDDLEWARE and nothing else; this chain is
        CANDIDATE_API_MIDDLEWARE. Those are plain middleware - asynchronous-capable, without
        view, template-response or exception hooks (refused otherwise) - so the chain is each
        one wrapped around the next, as Django builds it for such middleware."""
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = self._get_response_async if is_async else self._get_response
        handler = convert_exception_to_response(handler)
        for path in reversed(settings.CANDIDATE_API_MIDDLEWARE):
            middleware = import_string(path)
            hooks = ("process_view", "process_template_response", "process_exception")
            if not getattr(middleware, "async_capable", False) or any(
                hasattr(middleware, hook) for hook in hooks
            ):
                raise ImproperlyConfigured(
                    f"{path}: the candidate API takes only asynchronous-capable middleware "
                    "without process_* hooks."
                )
            handler = convert_exception_to_response(middleware(handler))
        self._middleware_chain = handler

    async def __call__(self, scope, receive, send):
        # Django gives every request a thread of its own for thread-sensitive sync code, made
        # and joined per request. An asynchronous view here (the SDP proxy) runs none: it
        # reaches the database through core.asyncdb or explicit thread hand-overs. Under a
        # burst of offers those per-request threads cost more CPU than the view itself; the
        # few thread-sensitive calls left (Django's request signals) use the process's shared
        # sync thread instead. Synchronous views keep Django's per-request thread.
        if scope["type"] == "http" and _is_async_view(scope["path"]):
            await self.handle(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _is_async_view(path: str) -> bool:
    try:
        return iscoroutinefunction(resolve(path).func)
    except Resolver404:
        return False


candidate_api_app = CandidateAPIHandler()


async def http_app(scope, receive, send):
    if scope["path"].startswith(settings.CANDIDATE_API_PREFIX):
        return await candidate_api_app(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import (  # noqa: E402
    AllowedHostsOriginValidator,
    WebsocketDenier,
)
from django.urls import re_path  # noqa: E402

from live.watch import SessionWatchConsumer, TenantLiveConsumer  # noqa: E402

websocket_urlpatterns: list = [
    re_path(r"^ws/sessions/(?P<session_id>[0-9a-f-]{36})/live/$", SessionWatchConsumer.as_asgi()),
    re_path(r"^ws/live/$", TenantLiveConsumer.as_asgi()),
]
# Any other upgrade is refused at the handshake (daphne answers 403); without a catch-all the
# router raises "No route found" and the client gets a 500 with a traceback in the log.
websocket_fallback = [re_path(r"", WebsocketDenier.as_asgi())]

from . import metrics  # noqa: E402

# The operators' metrics on their own port (METRICS_PORT), in the web process (daphne).
metrics.serve_web()

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns + websocket_fallback))
        ),
    }
)
