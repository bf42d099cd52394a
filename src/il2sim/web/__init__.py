"""il2sim in the browser: a Streamlit app with a drug designer (live dose-responses, EC50 and
selectivity against a reference drug, exposure), therapy runs (figures, tables, downloads,
SBML) and small virtual trials. :func:`serve` starts it; the pages call only the public entry
points of the layers below, and every form goes through :mod:`il2sim.web._forms`."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

#: The Streamlit script.
APP = Path(__file__).with_name("app.py")


def streamlit_command(host: str = "127.0.0.1", port: int = 8501) -> list[str]:
    """The command line that serves the app on ``host:port``, headless and offline (no usage
    statistics, no file watcher)."""
    if not 0 < port < 65536:
        raise ValueError(f"port must be from 1 to 65535, got {port}")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.headless=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=minimal",
        "--theme.base=light",
    ]


#: Signals passed on to the server, so that stopping ``il2sim web`` stops it.
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def serve(host: str = "127.0.0.1", port: int = 8501) -> int:
    """Serve the app until interrupted; returns Streamlit's exit status. SIGTERM, SIGINT and
    SIGHUP sent to this process are passed on to the server, which also dies with it."""
    from il2sim.simulate import kill_when_parent_dies

    proc = subprocess.Popen(streamlit_command(host, port), preexec_fn=kill_when_parent_dies)

    def forward(signum: int, _frame) -> None:
        proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in FORWARDED}
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # pragma: no cover - forwarded above
                continue
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if proc.poll() is None:
            proc.kill()
