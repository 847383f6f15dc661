"""Where built engines go, and how they are written: a resolved, writable cache directory, atomic writes that are
unique per writer, and a lock so that concurrent builders of the same engine build it once.

A relative ``engine_cache_dir`` is taken under the user cache (``$XDG_CACHE_HOME/tracker``, default
``~/.cache/tracker``), not under the working directory (a node started from ``/`` or by launch would otherwise
write somewhere unexpected, or nowhere); when that is not writable, beside the model; when neither is, engines
are built in memory and not cached (one log line says so). An absolute directory is used as it is.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

XDG_SUBDIR = "tracker"


def user_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / XDG_SUBDIR


def cache_dir_candidates(setting: str, model_path: Path) -> list[Path]:
    """The directories to try for ``setting``, best first."""
    p = Path(os.path.expanduser(setting))
    if p.is_absolute():
        return [p]
    return [user_cache_root() / p, Path(model_path).resolve().parent / p]


def _writable(d: Path) -> str | None:
    """None when ``d`` can be created and written, else why not."""
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=d, prefix=".probe-"):
            pass
    except OSError as e:  # PermissionError, read-only file system, a file in the way, ...
        return f"{d}: {type(e).__name__}: {e.strerror or e}"
    return None


def resolve_cache_dir(setting: str, model_path: Path, report: Callable[[str], None] | None = None) -> Path | None:
    """The first writable directory of :func:`cache_dir_candidates`, or None (report says why)."""
    reasons = []
    for d in cache_dir_candidates(setting, model_path):
        why = _writable(d)
        if why is None:
            if reasons and report:
                report(f"engine cache: using {d} ({'; '.join(reasons)} not writable)")
            return d
        reasons.append(why)
    if report:
        report(f"engine cache: no writable directory ({'; '.join(reasons)}): engines are built in memory and not "
               "cached (set backend.options.engine_cache_dir to a writable absolute path)")
    return None


def atomic_write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file unique to this writer in the same directory, then
    ``os.replace`` it: a reader sees the old file or the complete new one, never a part, and concurrent writers
    do not share a temporary name."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def exclusive_lock(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
    """Hold an exclusive advisory lock on ``path`` (``fcntl.flock``; other processes building the same engine
    wait here). Yields False, without locking, where locks are unavailable (no fcntl, unwritable directory):
    the atomic writes still keep the files whole, concurrent builders then merely build twice."""
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
        f = open(path, "a+b")  # noqa: SIM115 - closed below
    except (ImportError, OSError):
        yield False
        return
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        yield True
    finally:
        f.close()  # releases the lock
