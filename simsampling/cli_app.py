"""``simsampling app``: start the web app (Streamlit) on this machine and print its address.

The app listens on localhost only unless ``--host`` says otherwise (then it warns: the
app has no login, and anyone who reaches the port can run simulations here). Its files
(drafts, uploads, results) stay in one working folder: ``--workdir``, or a temporary
folder removed when the app stops. Exit status: 0 when stopped (Ctrl-C), 1 when the
app cannot start (Streamlit not installed, the port taken, the folder not writable),
2 for bad arguments.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from .choices import BAD_INPUT, OS_FAILURE
from .terminal import say

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
MAX_UPLOAD_MB = 20
"""Streamlit's upload limit; the loader refuses a scenario file over 20,000,000 bytes anyway."""
READY_TIMEOUT_S = 60.0


def add_parser(commands) -> None:
    app = commands.add_parser("app", help="start the web app (what-if editor, runs, options) and print its address")
    app.add_argument("--host", default=DEFAULT_HOST,
                     help=f"address to listen on (default {DEFAULT_HOST}: this machine only); another address "
                     "lets others on the network use the app, which has no login")
    app.add_argument("--port", type=int, default=None,
                     help=f"port (default {DEFAULT_PORT}, or a free one if it is taken)")
    app.add_argument("--workdir", type=Path, default=None,
                     help="working folder for uploads and results (default: a temporary folder removed when the app stops)")


def run_app(args, out: Console, err: Console) -> int:
    try:
        import streamlit  # noqa: F401
    except ImportError:
        say(err, 'the web app needs Streamlit: pip install -e ".[app]"')
        return OS_FAILURE
    from .app import SCRIPT, WORKDIR_ENV

    port = args.port if args.port is not None else (DEFAULT_PORT if _free(args.host, DEFAULT_PORT) else _any_port(args.host))
    if not 0 < port < 65536:
        say(err, f"--port: {port} is not a port number (1-65535)")
        return BAD_INPUT
    if not _free(args.host, port):
        say(err, f"{args.host}:{port}: cannot listen there (taken, or not an address of this machine); "
            "choose another --port or --host")
        return OS_FAILURE
    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="simsampling-app-")) if temporary else args.workdir
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=workdir)
        probe.close()
    except OSError as exc:
        say(err, f"{workdir}: cannot write there ({exc.strerror or exc})")
        return OS_FAILURE
    if not _loopback(args.host):
        say(err, f"warning: listening on {args.host}: anyone who can reach this machine on port {port} can use the "
            "app (it has no login) and run simulations with its cores and memory")
    command = [sys.executable, "-m", "streamlit", "run", str(SCRIPT),
               "--server.address", args.host, "--server.port", str(port), "--server.headless", "true",
               "--server.fileWatcherType", "none", "--server.runOnSave", "false",
               "--server.maxUploadSize", str(MAX_UPLOAD_MB), "--server.enableStaticServing", "false",
               "--browser.gatherUsageStats", "false", "--client.showErrorDetails", "none",
               "--client.toolbarMode", "viewer", "--global.developmentMode", "false", "--logger.level", "warning"]
    environment = {**os.environ, WORKDIR_ENV: str(workdir.resolve())}
    shown = "localhost" if args.host in ("127.0.0.1", "localhost", "::1") else args.host
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    try:  # a plain kill stops the server too, and cleans up (cli.main: SIGTERM raises a KeyboardInterrupt)
        scope = "this machine only; --host to change" if _loopback(args.host) else "open to the network"
        say(out, f"simsampling app: http://{shown}:{port} ({scope}); working folder {workdir}"
            + (" (removed when the app stops)" if temporary else ""))
        if _wait_ready(args.host, port, server):
            say(out, "ready: open the address in a browser; Ctrl-C stops the app")
        server.wait()
        if server.returncode not in (0, None, -2):
            say(err, f"the app stopped with status {server.returncode}")
            return OS_FAILURE
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _any_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _wait_ready(host: str, port: int, server: subprocess.Popen) -> bool:
    """Wait until the server answers its health check (or stops)."""
    import urllib.request  # with http and ssl, a tenth of validate's imports: only here

    connect = "127.0.0.1" if host in ("0.0.0.0", "localhost") else ("::1" if host == "::" else host)
    url = f"http://{'[' + connect + ']' if ':' in connect else connect}:{port}/_stcore/health"
    end = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < end and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False
