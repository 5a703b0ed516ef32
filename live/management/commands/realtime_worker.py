import asyncio
import signal

from django.core.management.base import BaseCommand

from live.worker import RealtimeWorker


class Command(BaseCommand):
    help = "Follow every live interview call over the provider's sideband (one process group)."

    def add_arguments(self, parser):
        parser.add_argument("--poll-seconds", type=float, default=2.0)

    def handle(self, *args, poll_seconds, **options):
        async def main():
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await RealtimeWorker(poll_seconds=poll_seconds).run(stop)

        asyncio.run(main())
