"""Pieces every page uses: messages under fields, a per-session work folder, figures as PNG,
and the bookkeeping that tells a cancelled run from a finished one."""

from __future__ import annotations

import contextlib
import html
import io
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import streamlit as st

from il2sim.web._forms import FormError

T = TypeVar("T")

_ALERT = (
    "<div role='alert' class='il2sim-error' style='color:#8a1c1c;background:#fdecea;"
    "border-radius:6px;padding:0.45rem 0.75rem;font-size:0.92rem'>&#9888; {}</div>"
)


def show_error(text: str, where=None) -> None:
    """An error message shown exactly as written (not as Markdown, which would turn ``<=``
    into a symbol and could render what a user typed), in ``where`` (a placeholder) or here."""
    (where or st).html(_ALERT.format(html.escape(text)))


class FieldMessages:
    """A place under each field for its message, filled once the form has been checked (so a
    message appears at its field and disappears when the field is mended)."""

    def __init__(self) -> None:
        self._slots: dict[str, st.delta_generator.DeltaGenerator] = {}

    def place(self, key: str) -> None:
        """Reserve the place for ``key``'s message here (right after its field)."""
        self._slots[key] = st.empty()

    def show(self, errors: dict[str, str]) -> None:
        """Each message at its field; one without a place goes to the place of ``""``."""
        stray = [m for k, m in errors.items() if k not in self._slots]
        for key, slot in self._slots.items():
            msgs = [errors[key]] if key in errors else []
            if key == "":
                msgs += stray
            if msgs:
                show_error("; ".join(msgs), slot)
            else:
                slot.empty()


#: Where the sessions' folders live; one left by a server that died is removed after this.
WORK_ROOT = Path(tempfile.gettempdir()) / "il2sim_web"
STALE_AFTER_S = 24 * 3600.0


class SessionFolder:
    """A browser session's scratch folder, removed when the session is discarded (its state
    is garbage-collected) or the server exits; folders that a crashed server left behind are
    swept when a new session starts."""

    def __init__(self, root: Path = WORK_ROOT) -> None:
        root.mkdir(parents=True, exist_ok=True)
        _sweep(root)
        self.path = Path(tempfile.mkdtemp(prefix="session_", dir=root))
        weakref.finalize(self, shutil.rmtree, str(self.path), ignore_errors=True)


def _sweep(root: Path) -> None:
    now = time.time()
    for old in root.glob("session_*"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > STALE_AFTER_S:
                shutil.rmtree(old, ignore_errors=True)


def work_dir(name: str) -> Path:
    """A folder of this browser session for ``name`` (finished arms and chunks are kept here,
    so a rerun resumes; removed with the session)."""
    key = "_il2sim_work_dir"
    if key not in st.session_state:
        st.session_state[key] = SessionFolder()
    path = st.session_state[key].path / name
    path.mkdir(parents=True, exist_ok=True)
    path.parent.touch()  # in use: not stale
    return path


def png(fig: plt.Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes (and closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def interrupted(job: str) -> bool:
    """True once after a run of ``job`` stopped before finishing (the Cancel button, Stop,
    or a changed input interrupts a Streamlit run)."""
    return bool(st.session_state.pop(f"_running_{job}", False))


@contextmanager
def running(job: str) -> Iterator[None]:
    """Mark ``job`` as running for the block. The mark is cleared when the block ends or
    raises an error, and stays only when Streamlit interrupts the script (its control
    exceptions are not ``Exception``s), so the next run can say :func:`interrupted`."""
    key = f"_running_{job}"
    st.session_state[key] = True
    try:
        yield
    except Exception:
        st.session_state.pop(key, None)
        raise
    st.session_state.pop(key, None)


def submit(
    clicked: bool,
    messages: FieldMessages,
    errors_key: str,
    check: Callable[[], T],
    run: Callable[[T], None],
) -> None:
    """On a click: ``check`` the form (:class:`FormError` = messages at the fields, kept in
    ``errors_key`` until the next click) and ``run`` what it returns; otherwise show the
    messages of the last click."""
    ss = st.session_state
    if not clicked:
        messages.show(ss.get(errors_key, {}))
        return
    try:
        value = check()
        ss[errors_key] = {}
    except FormError as e:
        value, ss[errors_key] = None, e.errors
    messages.show(ss[errors_key])
    if value is not None:
        run(value)


def downloads(label: str, frame: pd.DataFrame, summary: str, stem: str) -> None:
    """Buttons for ``frame`` as CSV and Parquet and ``summary`` (JSON text), named ``stem_*``."""
    st.download_button(
        f"{label} (CSV)", frame.to_csv(index=False), file_name=f"{stem}.csv", mime="text/csv"
    )
    st.download_button(
        f"{label} (Parquet)",
        frame.to_parquet(index=False),
        file_name=f"{stem}.parquet",
        mime="application/octet-stream",
    )
    st.download_button(
        "Summary (JSON)", summary, file_name=f"{stem}_summary.json", mime="application/json"
    )
