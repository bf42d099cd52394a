"""Finished pieces of a resumable run (a therapy arm, a chunk of virtual patients) kept on disk
so that a rerun reuses them, and never reuses one that is incomplete, damaged or another run's.

A unit is one or more Parquet tables plus a manifest written last. Each table goes to a
temporary name and is renamed into place; then the manifest (the unit's fingerprint, each
table's SHA-256 and the row keys it must hold, and any metadata) is written the same way. A
unit is reused only when its manifest reads, its fingerprint is the one asked for, every table
has the recorded digest and holds the expected keys; anything else is recomputed, and the
reason is reported through ``notice``. A process killed at any point therefore leaves either
a whole unit or one that is recomputed.

A run holds the folder's lock (:meth:`RunStore.locked`) so that two runs cannot write into the
same folder at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pandas as pd

MANIFEST = "manifest.json"


class RunFolderError(ValueError):
    """An output folder that cannot be used (not a folder, not writable, or in use)."""


@cache
def source_digest() -> str:
    """Digest of what a stored result depends on besides its inputs: every shipped data file
    and il2sim's own code, so a changed catalog or model never reuses stale results (read once
    per process, like the catalog itself)."""
    import il2sim

    root = Path(il2sim.__file__).parent
    h = hashlib.sha256()
    files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in sorted(files):
        if path.suffix in (".py", ".yaml", ".csv", ".json", ".tsv"):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint(*parts: object, extra: bytes = b"") -> str:
    """A short digest of JSON-able ``parts`` (plus raw ``extra`` bytes), il2sim's version and
    its :func:`source_digest`."""
    from il2sim import __version__

    blob = json.dumps([*parts, __version__, source_digest()], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode() + extra).hexdigest()[:16]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_output_folder(path: Path, flag: str = "--out") -> None:
    """Fail before any work when ``path`` cannot hold a run's outputs: it is a file, or it
    cannot be created or written (tried with a probe file, which root's permissions and
    read-only file systems both answer truthfully)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunFolderError(f"{flag}: {path} is a file; give a folder for the outputs")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".il2sim-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise RunFolderError(
            f"{flag}: cannot write into {path} ({e.strerror or e}); give a folder you can write"
        ) from None


def write_results(
    out: Path, tables: dict[str, pd.DataFrame], summary: dict, name: str = "summary.json"
) -> list[Path]:
    """A run's result files, each written whole (atomically): the tables as Parquet, then the
    summary with its provenance (il2sim version, code and catalog digest, command line, time,
    and each table's SHA-256), written last so that it names exactly the tables beside it."""
    from il2sim import __version__

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths, digests = [], {}
    for file, frame in tables.items():
        data = _table_bytes(frame)
        atomic_write_bytes(out / file, data)
        digests[file] = hashlib.sha256(data).hexdigest()
        paths.append(out / file)
    provenance = {
        "il2sim_version": __version__,
        "source_digest": source_digest(),
        "command": sys.argv,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files_sha256": digests,
    }
    text = json.dumps({**summary, "provenance": provenance}, indent=2, default=float)
    atomic_write_bytes(out / name, text.encode())
    return [*paths, out / name]


def _table_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


class RunStore:
    """The finished units of a resumable run under ``root`` (None: keep nothing)."""

    def __init__(self, root: Path | str | None, notice: Callable[[str], None] | None = None):
        self.root = None if root is None else Path(root)
        self.notice = notice

    def _say(self, message: str) -> None:
        if self.notice is not None:
            self.notice(message)

    def _path(self, unit: str, part: str) -> Path:
        assert self.root is not None
        return self.root / f"{unit}.{part}"

    def save(
        self,
        unit: str,
        fp: str,
        tables: dict[str, pd.DataFrame],
        meta: dict | None = None,
        keys: Sequence[int] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Write ``unit``'s tables, then its manifest (fingerprint ``fp``, digests, ``keys``:
        the patient ids every table must hold, and ``meta``). Returns the tables as a resumed
        run reads them back (Parquet's types), so a fresh and a resumed run give identical
        results; with no folder too."""
        encoded = {name: _table_bytes(frame) for name, frame in tables.items()}
        if self.root is not None:
            manifest_path = self._path(unit, MANIFEST)
            manifest_path.parent.mkdir(parents=True, exist_ok=True)
            manifest_path.unlink(missing_ok=True)  # incomplete until the new manifest lands
            for name, data in encoded.items():
                atomic_write_bytes(self._path(unit, f"{name}.parquet"), data)
            manifest = {
                "fingerprint": fp,
                "tables": {n: hashlib.sha256(d).hexdigest() for n, d in encoded.items()},
                "keys": None if keys is None else [int(k) for k in keys],
                "meta": meta or {},
            }
            atomic_write_bytes(manifest_path, json.dumps(manifest, sort_keys=True).encode())
        return {name: pd.read_parquet(io.BytesIO(data)) for name, data in encoded.items()}

    def load(
        self, unit: str, fp: str, keys: Sequence[int] | None = None
    ) -> tuple[dict[str, pd.DataFrame], dict] | None:
        """``unit``'s tables and metadata when it is whole and is the one asked for (fingerprint
        ``fp``, every table's digest, the patient ids ``keys`` in each table's ``patient``
        column); otherwise None, after reporting why it is recomputed."""
        if self.root is None:
            return None
        manifest_path = self._path(unit, MANIFEST)
        if not manifest_path.exists():
            leftovers = list(manifest_path.parent.glob(f"{Path(unit).name}.*.parquet"))
            if leftovers:
                self._say(f"{unit}: unfinished (no manifest); recomputing it")
            return None
        try:
            manifest = json.loads(manifest_path.read_bytes())
            recorded, digests = manifest["fingerprint"], dict(manifest["tables"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            self._say(f"{unit}: unreadable manifest ({e}); recomputing it")
            return None
        if recorded != fp:
            self._say(f"{unit}: its manifest belongs to another run; recomputing it")
            return None
        want = None if keys is None else sorted(int(k) for k in keys)
        if want is not None and sorted(manifest.get("keys") or []) != want:
            self._say(f"{unit}: its manifest lists other patients; recomputing it")
            return None
        tables = {}
        for name, digest in digests.items():
            path = self._path(unit, f"{name}.parquet")
            try:
                data = path.read_bytes()
            except OSError:
                self._say(f"{unit}: its {name} table is missing; recomputing it")
                return None
            if hashlib.sha256(data).hexdigest() != digest:
                self._say(
                    f"{unit}: its {name} table does not match the manifest (damaged or another "
                    "run's); recomputing it"
                )
                return None
            try:
                frame = pd.read_parquet(io.BytesIO(data))
            except (OSError, ValueError) as e:  # pragma: no cover - the digest matched
                self._say(f"{unit}: its {name} table is unreadable ({e}); recomputing it")
                return None
            if want is not None and "patient" in frame and not set(frame.patient) <= set(want):
                self._say(f"{unit}: its {name} table holds other patients; recomputing it")
                return None
            tables[name] = frame
        return tables, manifest.get("meta", {})

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock for the run: a second run into the same folder fails at once
        with a :class:`RunFolderError` instead of interleaving its writes."""
        if self.root is None:
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            yield
            return
        with open(self.root / ".il2sim.lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                raise RunFolderError(
                    f"--out: another il2sim run ({holder}) is writing to {self.root}; wait for it "
                    "to finish or give another folder"
                ) from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
