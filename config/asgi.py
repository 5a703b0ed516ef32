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

from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.test.utils import override_settings  # noqa: E402


class CandidateAPIHandler(ASGIHandler):
    """Django for the candidate session API alone. Those requests carry a bearer session token
    and use no browser session, CSRF cookie, messages or console tenant, so they skip that
    middleware; each of Django's own middleware classes costs thread hops per request, which
    the SDP proxy - many offers at once, each waiting on the provider - cannot afford."""

    def load_middleware(self, is_async=False):
        with override_settings(MIDDLEWARE=settings.CANDIDATE_API_MIDDLEWARE):
            super().load_middleware(is_async)


candidate_api_app = CandidateAPIHandler()


async def http_app(scope, receive, send):
    if scope["path"].startswith(settings.CANDIDATE_API_PREFIX):
        return await candidate_api_app(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

websocket_urlpatterns: list = []

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
