"""Worker processes that die with the process that started them, so a killed run leaves no
workers behind (each holds a compiled model, hundreds of MB)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

#: Most worker processes a run may start: beyond the machine's cores they only cost memory
#: (each holds a compiled model, ~400 MB).
MAX_WORKERS = max(2, os.cpu_count() or 1) * 2


def kill_when_parent_dies() -> None:
    """Ask the kernel to kill this process when its parent ends (Linux ``PR_SET_PDEATHSIG``;
    it survives ``exec``, so it also serves as a ``preexec_fn``). Elsewhere nothing."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def die_with_parent(parent_pid: int) -> None:
    """Call first thing in a worker process: it ends when ``parent_pid`` ends. On Linux the
    kernel kills it at once; elsewhere a watchdog thread notices within a second (once the
    solver releases Python's lock)."""
    kill_when_parent_dies()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="il2sim-parent-watch", daemon=True).start()
