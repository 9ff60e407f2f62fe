"""File helpers shared by rbmlib's modules: atomic ``.npz`` writes, cross-process locks,
cache folders and cached artefacts (build once per machine, rebuild if corrupt)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from filelock import FileLock

__all__ = ["atomic_savez", "cache_dir", "cached_artifact", "file_lock", "user_cache_path"]


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


def file_lock(path) -> FileLock:
    """An exclusive cross-process lock on the file ``path`` (``filelock.FileLock``), for ``with``.

    Parallel processes (pytest-xdist workers, notebooks run side by side) wait for
    each other instead of downloading or training the same thing twice. A lock that
    cannot be taken (read-only folder) raises instead of silently doing nothing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path))


def cached_artifact(path, load, build):
    """``load(path)`` if that works, else ``build(path)`` once per machine, under a lock.

    The one "cache, lock, rebuild if corrupt" pattern of rbmlib (trained models,
    cached results, the digit classifier). ``build`` must write ``path`` (atomically)
    and return the artefact. A file that exists but fails to load (``ValueError``,
    ``OSError``, ``KeyError``, ``EOFError``) is reported with a warning and rebuilt.
    Processes asking for the same ``path`` at once wait on ``.<name>.lock`` beside it;
    the second one loads what the first built.

    Parameters
    ----------
    path : path-like
        Where the artefact lives.
    load : callable
        ``load(path) -> artefact``.
    build : callable
        ``build(path) -> artefact``; writes ``path``.
    """
    path = Path(path)

    def try_load():
        if not path.is_file():
            return False, None
        try:
            return True, load(path)
        except (ValueError, OSError, KeyError, EOFError) as err:
            warnings.warn(f"cached file {path} is unusable ({err}); building it again", RuntimeWarning, stacklevel=4)
            with contextlib.suppress(OSError):
                path.unlink()
            return False, None

    ok, value = try_load()
    if ok:
        return value
    with file_lock(path.parent / f".{path.name}.lock"):
        ok, value = try_load()  # another process may have built it while we waited
        return value if ok else build(path)


def user_cache_path(env_var: str, leaf: str) -> Path:
    """``$env_var`` if set, else ``$XDG_CACHE_HOME/rbmlib/<leaf>``, else ``~/.cache/rbmlib/<leaf>``."""
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rbmlib" / leaf


def cache_dir() -> Path:
    """Folder of trained models, the digit classifier and cached results (not created).

    ``$RBMLIB_CACHE`` if set, else ``$XDG_CACHE_HOME/rbmlib/models``, else
    ``~/.cache/rbmlib/models``.
    """
    return user_cache_path("RBMLIB_CACHE", "models")
