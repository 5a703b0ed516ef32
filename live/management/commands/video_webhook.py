"""Register the platform's webhook at api.video, list the registered ones, delete one.

api.video only tells the platform that a recording can be played through a webhook, and the
webhook's signing secret only exists once it is registered, so this is a set-up step for each
deployment (docs/video.md). The secret is printed once, for the operator to store as
APIVIDEO_WEBHOOK_SECRET; it is never logged.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from live.video.provider import (
    WEBHOOK_EVENT_QUALITY_COMPLETED,
    VideoProvider,
    VideoProviderError,
    VideoUpstreamRejected,
    VideoUpstreamTimeout,
    VideoUpstreamUnavailable,
    Webhook,
    get_video_provider,
)

WEBHOOK_PATH = "/api/video/webhooks/"
EVENTS = [WEBHOOK_EVENT_QUALITY_COMPLETED]


class Command(BaseCommand):
    help = "Register, list or delete the platform's webhook at api.video (docs/video.md)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        register = actions.add_parser(
            "register",
            help="Register <SITE_URL>/api/video/webhooks/ unless it already is; prints the "
            "signing secret for APIVIDEO_WEBHOOK_SECRET.",
        )
        register.add_argument("--url", default="", help="Register this URL instead.")
        actions.add_parser("list", help="The registered webhooks (id, url, events).")
        delete = actions.add_parser("delete", help="Delete a registered webhook.")
        delete.add_argument("webhook_id")

    def handle(self, *args, action, **options):
        provider = self._provider()
        try:
            if action == "register":
                self._register(provider, options["url"] or default_url())
            elif action == "list":
                self._list(provider)
            else:
                self._delete(provider, options["webhook_id"])
        except VideoProviderError as exc:
            raise CommandError(explain(exc)) from exc

    def _provider(self) -> VideoProvider:
        if settings.PRODUCTION and not settings.APIVIDEO_API_KEY:
            # Without a key the settings point at the local fake, which production has not.
            raise CommandError(
                "APIVIDEO_API_KEY is not set: set the api.video API key first "
                "(fly secrets set APIVIDEO_API_KEY=...)."
            )
        return get_video_provider()

    def _register(self, provider: VideoProvider, url: str) -> None:
        if not url.startswith(("https://", "http://")):
            raise CommandError(f"The webhook URL must be an http(s) URL, not {url!r}.")
        existing = [webhook for webhook in provider.list_webhooks() if ours(webhook, url)]
        if existing:
            self.stdout.write(
                f"Already registered: {existing[0].id} {url} "
                f"({', '.join(existing[0].events)}). Nothing created. To get a new signing "
                f"secret, delete it (video_webhook delete {existing[0].id}) and register again."
            )
            return
        webhook = provider.create_webhook(url, EVENTS)
        if not webhook.signature_secret:
            raise CommandError(
                f"api.video registered {webhook.id} but answered no signatureSecret: delete it "
                f"(video_webhook delete {webhook.id}) and register again."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Registered {webhook.id} {webhook.url}")
            + f" ({', '.join(webhook.events)}).\n"
            "Its signing secret is printed only now. Set it as APIVIDEO_WEBHOOK_SECRET, e.g.\n\n"
            f"    fly secrets set APIVIDEO_WEBHOOK_SECRET={webhook.signature_secret}\n\n"
            "Until then the platform refuses api.video's webhooks (401)."
        )

    def _list(self, provider: VideoProvider) -> None:
        webhooks = provider.list_webhooks()
        if not webhooks:
            self.stdout.write("No webhooks are registered.")
        for webhook in webhooks:  # never the secret
            self.stdout.write(f"{webhook.id}\t{webhook.url}\t{','.join(webhook.events)}")

    def _delete(self, provider: VideoProvider, webhook_id: str) -> None:
        if provider.delete_webhook(webhook_id):
            self.stdout.write(f"Deleted {webhook_id}.")
        else:
            self.stdout.write(f"No webhook {webhook_id} at api.video: nothing to delete.")


def default_url() -> str:
    return f"{settings.SITE_URL.rstrip('/')}{WEBHOOK_PATH}"


def ours(webhook: Webhook, url: str) -> bool:
    """A registration that already sends our event to ``url``."""
    return webhook.url == url and WEBHOOK_EVENT_QUALITY_COMPLETED in webhook.events


def explain(exc: VideoProviderError) -> str:
    """The provider's failure, said so that the operator knows what to do next."""
    where = settings.APIVIDEO_BASE_URL
    if isinstance(exc, VideoUpstreamRejected) and exc.misconfigured:
        return f"api.video ({where}) refused the API key ({exc.status}): check APIVIDEO_API_KEY."
    if isinstance(exc, VideoUpstreamRejected):
        return f"api.video ({where}) refused the request ({exc.status}): {exc.title or exc}."
    if isinstance(exc, VideoUpstreamTimeout | VideoUpstreamUnavailable):
        return f"Could not reach api.video at {where}: {exc}. Try again."
    return f"api.video ({where}): {exc}"
