"""Start several ``streamlit run app.py`` replicas behind nginx with sticky sessions.

    python deploy/launch.py --replicas 4 --listen 0.0.0.0:8080

Each replica is one Streamlit process on its own loopback port (``--first-port``,
then the next ones). They share what the environment points at: the weights folder
(``TORCH_HOME``, ``SEGDASH_SAM_WEIGHTS``), the SAM embedding folder
(``SEGDASH_SAM_EMBEDDING_DIR``), the evaluation cache (``SEGDASH_CACHE_DIR``) and the
Dask scheduler of the Benchmark page (``SEGDASH_DASK_SCHEDULER``); the launcher also
gives them one cookie secret, so a cookie signed by one replica is valid on all.
Unless ``SEGDASH_HEAVY_WORKERS`` is set, the machine's cores are split between the
replicas' heavy-job pools. nginx (``deploy/nginx.conf.template``, filled into
``--run-dir``) listens on ``--listen`` and sends each browser to one replica for good.

Everything stops together on Ctrl+C or SIGTERM; if one process dies, the others are
stopped too, and the exit status says so.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx")


def find_nginx(explicit: str | None = None) -> str | None:
    """The nginx executable: ``explicit``, else on PATH, else Debian's /usr/sbin/nginx; None when absent."""
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    found = shutil.which("nginx")
    return found or next((p for p in NGINX_CANDIDATES if os.access(p, os.X_OK)), None)


def render_config(listen: str, ports: list[int], run_dir: Path, host: str = "127.0.0.1") -> str:
    """The nginx configuration for replicas on ``host:ports``, listening on ``listen``."""
    if not ports:
        raise ValueError("ports=[] is not allowed: expected at least one replica port")
    upstreams = "\n".join(f"        server {host}:{port} max_fails=0;" for port in ports)
    text = TEMPLATE.read_text()
    for name, value in (("LISTEN", listen), ("UPSTREAMS", upstreams), ("RUN_DIR", str(run_dir))):
        text = text.replace("{{" + name + "}}", value)
    return text


def replica_env(port: int, replicas: int, cookie_secret: str, base: dict | None = None) -> dict:
    """Environment of one replica: the shared settings of ``base`` plus its own port."""
    env = dict(os.environ if base is None else base)
    env.update(STREAMLIT_SERVER_PORT=str(port), STREAMLIT_SERVER_ADDRESS="127.0.0.1",
               STREAMLIT_SERVER_HEADLESS="true", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", cookie_secret)
    env.setdefault("SEGDASH_HEAVY_WORKERS", str(max(1, (os.cpu_count() or 2) // (2 * replicas))))
    env.setdefault("MALLOC_ARENA_MAX", "2")  # freed memory goes back to the system after a class
    return env


def wait_healthy(url: str, processes: list[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with code {process.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"nothing healthy at {url} within {timeout:.0f} s")


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2, help="Streamlit processes (default 2)")
    parser.add_argument("--listen", default="127.0.0.1:8080", help="where nginx listens (host:port)")
    parser.add_argument("--first-port", type=int, default=8501, help="port of the first replica (next ones follow)")
    parser.add_argument("--run-dir", type=Path, default=None, help="nginx's config, pid and logs (default: a temp dir)")
    parser.add_argument("--nginx", default=None, help="the nginx executable (default: PATH, then /usr/sbin/nginx)")
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error(f"--replicas={args.replicas} is not allowed: expected 1 or more")
    nginx = find_nginx(args.nginx)
    if nginx is None:
        parser.error("nginx was not found: install it (Debian: apt-get install nginx) or pass --nginx PATH")
    run_dir = (args.run_dir or Path(tempfile.mkdtemp(prefix="segdash-nginx-"))).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    ports = [args.first_port + i for i in range(args.replicas)]
    config = run_dir / "nginx.conf"
    config.write_text(render_config(args.listen, ports, run_dir))

    secret = os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET") or secrets.token_hex(32)
    processes: list[subprocess.Popen] = []
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        for port in ports:
            processes.append(subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py"], cwd=ROOT,
                                              env=replica_env(port, args.replicas, secret)))
        for port in ports:
            wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", processes, args.startup_timeout)
        processes.append(subprocess.Popen([nginx, "-c", str(config), "-p", str(run_dir)]))
        host, _, port = args.listen.rpartition(":")
        wait_healthy(f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}/_stcore/health",
                     processes, args.startup_timeout)
        print(f"segdash: {args.replicas} replicas on ports {ports[0]}-{ports[-1]} behind nginx at "
              f"http://{args.listen} (config {config})", flush=True)
        while not stopping:
            dead = [p for p in processes if p.poll() is not None]
            if dead:
                print(f"segdash: {dead[0].args[0]} exited with code {dead[0].returncode}; stopping the rest",
                      file=sys.stderr, flush=True)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        _stop(processes)


if __name__ == "__main__":
    sys.exit(main())
