"""File helpers shared by rbmlib's modules: atomic ``.npz`` writes and a cross-process lock."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_savez", "cache_dir", "file_lock", "user_cache_path"]


def atomic_savez(path, *, compressed: bool = True, **arrays) -> Path:
    """Save ``arrays`` to ``path`` (``.npz``) atomically: a temporary file, then ``os.replace``.

    A crash or Ctrl-C leaves either the old file or the new one, never half of one.
    The file gets mode 0644 (``mkstemp`` makes 0600): caches may be shared.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compressed else np.savez)(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def file_lock(path):
    """Hold an exclusive advisory lock (POSIX ``flock``) on ``path`` while inside the block.

    Lets parallel processes (pytest-xdist workers, notebooks run side by side) wait
    for each other instead of downloading or training the same thing twice. Where
    locking is unavailable (non-POSIX, read-only folder) it does nothing.
    """
    try:
        import fcntl

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a")
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(f, fcntl.LOCK_UN)
        f.close()


def user_cache_path(env_var: str, leaf: str) -> Path:
    """``$env_var`` if set, else ``$XDG_CACHE_HOME/rbmlib/<leaf>``, else ``~/.cache/rbmlib/<leaf>``."""
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rbmlib" / leaf


def cache_dir() -> Path:
    """Folder of trained models and cached results (not created).

    ``$RBMLIB_CACHE`` if set, else ``$XDG_CACHE_HOME/rbmlib/models``, else
    ``~/.cache/rbmlib/models``.
    """
    return user_cache_path("RBMLIB_CACHE", "models")
