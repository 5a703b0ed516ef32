import asyncio
import gc
import signal

from django.core.management.base import BaseCommand

from core import exporter
from live.health import serve_health
from live.worker import RealtimeWorker


class Command(BaseCommand):
    help = "Follow every live interview call over the provider's sideband (one process group)."

    def add_arguments(self, parser):
        parser.add_argument("--poll-seconds", type=float, default=2.0)
        parser.add_argument(
            "--health-port",
            type=int,
            default=0,
            help="Answer health checks on this port (live.health); 0: none.",
        )

    def handle(self, *args, poll_seconds, health_port, **options):
        # What is loaded by now (Django, the apps, the libraries: some 150,000 objects) lives
        # as long as the process. Kept out of the collector's full passes, which otherwise
        # stopped every call's work for 0.1-0.5 s at a time on a busy machine: the tail of
        # the event-to-transcript latency (docs/benchmarks.md, realtime worker capacity).
        gc.freeze()
        # The operators' metrics on their own port (METRICS_PORT): reconnects, drops.
        exporter.serve_from_settings(process="realtime")

        async def main():
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            worker = RealtimeWorker(poll_seconds=poll_seconds)
            health = (
                await serve_health(port=health_port, healthy=worker.healthy)
                if health_port
                else None
            )
            try:
                await worker.run(stop)
            finally:
                if health is not None:
                    health.close()

        asyncio.run(main())
