"""Build the Jupyter Book with warnings as errors, then check it in Chromium.

The build renders the notebooks' committed outputs (``execute_notebooks:
"off"``), so it is quick.  The browser check (``scripts/check_book.py``) needs
``/usr/bin/chromium`` (or ``$CHROMIUM``) and the ``playwright`` package; when
they are missing the check is skipped, unless ``RBMLIB_REQUIRE_BROWSER`` is set
(CI sets it), in which case the test fails.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BOOK_DIR = REPO_ROOT / "book"
BUILD_DIR = BOOK_DIR / "_build"
HTML_DIR = BUILD_DIR / "html"
SCREENSHOT = BUILD_DIR / "screenshots" / "intro.png"
CHECK_SCRIPT = REPO_ROOT / "scripts" / "check_book.py"

pytestmark = [pytest.mark.book, pytest.mark.browser, pytest.mark.slow]


def _required() -> bool:
    return bool(os.environ.get("RBMLIB_REQUIRE_BROWSER"))


def _skip_or_fail(reason: str) -> None:
    if _required():
        pytest.fail(f"{reason} (RBMLIB_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


def _jupyter_book() -> str | None:
    candidate = Path(sys.executable).with_name("jupyter-book")
    if candidate.is_file():
        return str(candidate)
    return shutil.which("jupyter-book")


def _chromium() -> str | None:
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return shutil.which(path) or (path if Path(path).is_file() else None)


def _tail(text: str, n: int = 60) -> str:
    return "\n".join(text.splitlines()[-n:])


def test_book_builds_and_renders_offline():
    jb = _jupyter_book()
    if jb is None:
        _skip_or_fail("jupyter-book (<2) is not installed (pip install '.[book]')")

    # A fresh HTML tree, so pages of removed notebooks cannot linger.
    shutil.rmtree(HTML_DIR, ignore_errors=True)
    cmd = [jb, "build", "-W", "-n", "--keep-going", "--all", "--path-output", str(BOOK_DIR), str(BOOK_DIR)]
    build = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    output = build.stdout + build.stderr
    assert build.returncode == 0, f"`{' '.join(cmd)}` failed (rc={build.returncode}):\n{_tail(output)}"
    assert (HTML_DIR / "index.html").is_file(), f"no index.html in {HTML_DIR}"
    assert (HTML_DIR / "_static" / "mathjax" / "tex-chtml.js").is_file(), (
        "offline MathJax was not copied (sphinx-mathjax-offline missing?)"
    )

    chromium = _chromium()
    if chromium is None:
        _skip_or_fail(
            "book built; browser check skipped: Chromium not found (apt-get install -y chromium, or set $CHROMIUM)"
        )
    if importlib.util.find_spec("playwright") is None:
        _skip_or_fail("book built; browser check skipped: playwright is not installed")

    check = subprocess.run(
        [
            sys.executable,
            str(CHECK_SCRIPT),
            str(HTML_DIR),
            "--chromium",
            chromium,
            "--screenshot",
            str(SCREENSHOT),
            "--timeout",
            "540",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = check.stdout + check.stderr
    assert check.returncode == 0, f"check_book.py failed:\n{_tail(report, 80)}"
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 0
