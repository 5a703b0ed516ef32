"""The ``run`` command: the platform at http://127.0.0.1:8000 - servers, migrate, the demo
tenant, then the production process set (web, worker, beat, realtime worker, and the simulator
without an OpenAI key, the api.video fake without an api.video key) until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request

from .base import BASE_DIR, BIN, EMBEDDED_DIR, PYTHON, manage, say
from .servers import embedded_postgres, embedded_redis, provision_database, stop_embedded


def _wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=1) as response,  # noqa: S310 (local URL)
        ):
            if response.status == 200:
                return True
        time.sleep(0.2)
    return False


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        time.sleep(0.2)
    return False


def _wait_worker(node: str, env: dict, timeout: float, stopping) -> bool:
    """Whether the Celery worker ``node`` answers a ping within ``timeout``. It answers from
    its event loop, which it enters only after its start-up lines ("mingle: ...", "...
    ready.") are out: whatever is printed after this is printed after them."""
    ping_command = [str(BIN / "celery"), "-A", "config", "inspect", "ping"]
    ping_command += ["--timeout", "1", "--destination", node]
    deadline = time.monotonic() + timeout
    while not stopping() and time.monotonic() < deadline:
        with contextlib.suppress(subprocess.TimeoutExpired):
            ping = subprocess.run(
                ping_command,
                cwd=BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=max(deadline - time.monotonic(), 1),
            )
            if ping.returncode == 0:
                return True
        time.sleep(0.5)
    return False


def run(argv: list[str]) -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    env.setdefault("SITE_URL", f"http://{host}:{port}")
    keep = []  # handles whose lifetime is this process's
    if not env.get("DATABASE_URL"):
        admin_url, server = embedded_postgres("pg")
        keep.append(server)
        app_url, owner_url = provision_database(admin_url, "interview", fresh=False)
        env["DATABASE_URL"], env["DATABASE_OWNER_URL"] = app_url, owner_url
        say(f"embedded PostgreSQL in {EMBEDDED_DIR / 'pg'}")
    if not env.get("REDIS_URL"):
        redis_url, server = embedded_redis("redis")
        keep.append(server)
        env["REDIS_URL"] = redis_url
        say(f"embedded Redis at {redis_url}")

    manage("migrate", "--noinput", "--verbosity", "0", env=env)
    # Its logins and invitation link are printed last, once the processes' start-up lines
    # are out of the way.
    demo = subprocess.run(
        [PYTHON, "manage.py", "seed_demo"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout

    sim_port = env.get("SIMULATOR_PORT", "8765")
    if not env.get("OPENAI_API_KEY"):
        env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{sim_port}/v1"
        say(f"no OPENAI_API_KEY: interviews use the local simulator on port {sim_port}")
    video_port = env.get("APIVIDEO_FAKE_PORT", "8766")
    if not env.get("APIVIDEO_API_KEY"):
        env["APIVIDEO_BASE_URL"] = f"http://127.0.0.1:{video_port}"
        env.setdefault("APIVIDEO_WEBHOOK_SECRET", "local-fake-webhook-secret")
        say(f"no APIVIDEO_API_KEY: video goes to the local api.video fake on port {video_port}")
    worker_node = f"celery@{socket.gethostname()}"  # Celery's default, named to ping it
    processes = {
        # Quiet flags: the processes' own banners and access lines are not JSON; requests are
        # logged by config.middleware, tasks through Django's logging config.
        "web": [
            str(BIN / "daphne"),
            "--verbosity",
            "0",
            "-b",
            host,
            "-p",
            port,
            "config.asgi:application",
        ],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "config",
            "--quiet",
            "worker",
            "--hostname",
            worker_node,
            "--loglevel",
            "INFO",
            "--concurrency",
            env.get("WORKER_CONCURRENCY", "2"),
        ],
        "beat": [str(BIN / "celery"), "-A", "config", "--quiet", "beat", "--loglevel", "INFO"],
        "realtime": [PYTHON, "manage.py", "realtime_worker"],
    }
    if not env.get("OPENAI_API_KEY"):
        processes["simulator"] = [
            PYTHON,
            "-m",
            "devtools.simulator",
            "--port",
            sim_port,
        ]
    if not env.get("APIVIDEO_API_KEY"):
        processes["apivideo"] = [
            PYTHON,
            "-m",
            "devtools.apivideo",
            "--port",
            video_port,
            "--data-dir",
            str(EMBEDDED_DIR / "apivideo"),
            "--webhook-url",
            f"{env['SITE_URL'].rstrip('/')}/api/video/webhooks/",
            "--webhook-secret",
            env["APIVIDEO_WEBHOOK_SECRET"],
        ]
    children = {
        name: subprocess.Popen(cmd, cwd=BASE_DIR, env=env) for name, cmd in processes.items()
    }
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if _wait_http(f"http://{host}:{port}/healthz", timeout=30):
        # The other processes' start-up lines come out first: the simulator's once it
        # listens, the worker's (the chattiest) once it answers a ping. Bounded: a slow
        # machine still gets the block, if not quite last.
        if "simulator" in processes:
            _wait_port(int(sim_port), timeout=15)
        if "apivideo" in processes:
            _wait_port(int(video_port), timeout=15)
        if not _wait_worker(worker_node, env, timeout=60, stopping=lambda: stopping):
            say("the Celery worker did not answer a ping within 60 s")
        say(f"running at http://{host}:{port}/  (console: http://{host}:{port}/admin/)")
        rule = "=" * 78
        print(f"{rule}\n{demo.rstrip()}\n{rule}", flush=True)
        say("press Ctrl-C to stop")
    exit_code = 0
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    say(f"process {name} exited with {child.returncode}; stopping")
                    exit_code = child.returncode or 1
                    stopping = True
            time.sleep(0.3)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        for handle in keep:
            stop_embedded(handle)
    return exit_code
