#!/usr/bin/env python
"""Check the built HTML book in a real (headless, offline) Chromium.

Usage::

    python scripts/check_book.py [HTML_DIR] [--screenshot PNG] [--chromium PATH]

``HTML_DIR`` defaults to ``book/_build/html`` (what
``jupyter-book build -W -n --keep-going --path-output book book/`` writes).

The script serves ``HTML_DIR`` on ``127.0.0.1`` (random free port) and opens
every page with Playwright driving the system Chromium (``/usr/bin/chromium``
or ``$CHROMIUM``; ``playwright install`` is never needed).  It fails when

* any request goes to a host other than localhost/127.0.0.1 (such requests
  are blocked and listed -- the book must work offline),
* a local request fails or returns an HTTP error status,
* a page lacks a ``<title>`` or a main ``<h1>`` heading,
* a page throws a JavaScript error,
* math on a page is not typeset by the bundled MathJax,
* an image does not load (``naturalWidth == 0``), or a notebook page has
  fewer output figures than :data:`EXPECTED_FIGURES` asks for,
* an internal link points to a missing file or a missing ``#anchor``.

It also saves a full-page screenshot of the introduction page (the page that
``index.html`` redirects to), by default to
``<HTML_DIR>/../screenshots/intro.png``.

Exit status: 0 when everything passes, 1 on check failures, 2 on usage
errors (missing directory, missing browser).
"""

from __future__ import annotations

import argparse
import functools
import html.parser
import os
import posixpath
import re
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HTML_DIR = REPO_ROOT / "book" / "_build" / "html"
DEFAULT_CHROMIUM = "/usr/bin/chromium"

#: Minimum number of figures (``<img>`` inside notebook cell outputs) that each
#: notebook page must show.  Pages listed here must exist.
EXPECTED_FIGURES: dict[str, int] = {
    "notebooks/01_data.html": 1,
    "notebooks/02_training.html": 1,
    "notebooks/03_reconstruction.html": 1,
    "notebooks/04_recall.html": 1,
    "notebooks/05_resampling.html": 1,
    "notebooks/06_weights.html": 1,
    "notebooks/07_discrimination.html": 1,
    "notebooks/08_features.html": 1,
}

#: Hosts that pages may contact.
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

#: Directories of the build that hold assets, not pages.
ASSET_DIRS = ("_static", "_sources", "_images", "_downloads", "_modules")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: JavaScript run in each page: title, heading, images, links, math.
PAGE_PROBE_JS = """
() => {
  const main = document.querySelector('main') || document.body;
  const clean = el => el.textContent.replace(/[#¶\\s]+$/u, '').trim();
  const h1s = Array.from(main.querySelectorAll('h1')).concat(
    Array.from(document.querySelectorAll('h1')));
  const h1 = h1s.map(clean).find(text => text.length > 0) || '';
  const imgs = Array.from(document.images).map(img => ({
    src: img.currentSrc || img.src,
    complete: img.complete,
    naturalWidth: img.naturalWidth,
    inOutput: !!img.closest('.cell_output, .output'),
  }));
  const links = Array.from(document.querySelectorAll('a[href]')).map(
    a => a.getAttribute('href'));
  return {
    title: document.title.trim(),
    h1: h1,
    imgs: imgs,
    links: links,
    hasMath: document.querySelectorAll('.math, span.math, div.math').length,
    mathjax: document.querySelectorAll('mjx-container').length,
    isNotebook: document.querySelectorAll('.cell').length > 0,
    // outputs a static reader cannot see: widget views (their JavaScript is off in this offline book,
    // so they render as nothing) and widgets or progress bars stored as text
    deadWidgets: document.querySelectorAll(
      '.cell_output script[type="application/vnd.jupyter.widget-view+json"], .cell_output .jupyter-widgets').length,
    widgetText: Array.from(document.querySelectorAll('.cell_output .output pre, .cell_output pre'))
      .map(el => el.textContent)
      .filter(t => /interactive\\(children=|HBox\\(children=|IntProgress\\(/.test(t)
        || /\\|\\s*\\d+\\/\\d+ \\[[\\d:<?]+/.test(t)).length,
  };
}
"""


class _IdCollector(html.parser.HTMLParser):
    """Collect ``id``/``name`` attributes and a meta-refresh target."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refresh: str | None = None

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if d.get("id"):
            self.ids.add(d["id"])
        if tag == "a" and d.get("name"):
            self.ids.add(d["name"])
        if tag == "meta" and (d.get("http-equiv") or "").lower() == "refresh":
            m = re.search(r"url\s*=\s*['\"]?([^'\";]+)", d.get("content") or "", re.I)
            if m:
                self.refresh = m.group(1).strip()


@dataclass
class PageInfo:
    ids: set[str]
    refresh: str | None


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    n_requests: int = 0
    n_links: int = 0
    n_external_links: int = 0
    figures: dict[str, int] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)

    def fail(self, msg: str) -> None:
        self.failures.append(msg)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def start_server(root: Path) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``root`` on 127.0.0.1 at a random free port (daemon thread)."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}/"


def list_pages(root: Path) -> list[str]:
    """Relative POSIX paths of all HTML pages of the build (assets excluded)."""
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root).as_posix()
        if rel.split("/", 1)[0] in ASSET_DIRS:
            continue
        pages.append(rel)
    return pages


def parse_page(path: Path) -> PageInfo:
    parser = _IdCollector()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return PageInfo(parser.ids, parser.refresh)


def resolve_local(href: str, page_rel: str) -> tuple[str, str] | None:
    """Map a local ``href`` on ``page_rel`` to ``(target_rel, fragment)``.

    Returns ``None`` for hrefs that are not local files (external URLs,
    ``mailto:``, ``javascript:``...).
    """
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    target = unquote(parts.path)
    if not target:
        target = page_rel
    else:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page_rel), target))
        if href.split("#", 1)[0].endswith("/"):
            target = posixpath.join(target, "index.html")
    return target, unquote(parts.fragment)


def check_links(root: Path, page_rel: str, hrefs: list[str], cache: dict, report: Report) -> None:
    """Check that internal links resolve to existing files and anchors."""
    for href in hrefs:
        href = (href or "").strip()
        if not href or href == "#" or href.startswith(("javascript:", "mailto:", "data:")):
            continue
        parts = urlsplit(href)
        if parts.scheme in ("http", "https") and parts.hostname not in LOCAL_HOSTS:
            report.n_external_links += 1
            continue
        resolved = resolve_local(href, page_rel)
        if resolved is None:
            report.n_external_links += 1
            continue
        target, fragment = resolved
        report.n_links += 1
        if target.startswith("../") or target == "..":
            report.fail(f"{page_rel}: link {href!r} leaves the book directory")
            continue
        path = root / target
        if path.is_dir():
            path = path / "index.html"
            target = posixpath.join(target, "index.html")
        if not path.is_file():
            report.fail(f"{page_rel}: link {href!r} -> missing file {target}")
            continue
        if fragment and path.suffix == ".html":
            if target not in cache:
                cache[target] = parse_page(path)
            if fragment not in cache[target].ids:
                report.fail(f"{page_rel}: link {href!r} -> no anchor #{fragment} in {target}")


def _is_local_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "file"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in LOCAL_HOSTS


def run_checks(html_dir: Path, screenshot: Path, chromium: str, page_timeout_ms: int, verbose: bool) -> Report:
    from playwright.sync_api import sync_playwright

    report = Report()
    pages = list_pages(html_dir)
    report.pages = pages
    cache: dict[str, PageInfo] = {}
    for rel in pages:
        cache[rel] = parse_page(html_dir / rel)

    for rel in EXPECTED_FIGURES:
        if rel not in cache:
            report.fail(f"expected notebook page {rel} is missing from the build")

    # The root index.html of a Jupyter Book is a meta-refresh redirect.
    intro_rel = None
    if "index.html" in cache and cache["index.html"].refresh:
        resolved = resolve_local(cache["index.html"].refresh, "index.html")
        if resolved and (html_dir / resolved[0]).is_file():
            intro_rel = resolved[0]
        else:
            report.fail(f"index.html redirects to missing page {cache['index.html'].refresh!r}")
    elif "index.html" in cache:
        intro_rel = "index.html"
    else:
        report.fail("index.html is missing")

    server, base = start_server(html_dir)
    user_data = tempfile.mkdtemp(prefix="rbmlib-book-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                user_data,
                executable_path=chromium,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
                service_workers="block",
            )
            context.set_default_timeout(page_timeout_ms)

            current: dict[str, str] = {"page": ""}

            def route_handler(route, request):
                url = request.url
                if _is_local_url(url):
                    route.continue_()
                else:
                    report.blocked.append(f"{current['page']}: {request.method} {url}")
                    route.abort("blockedbyclient")

            context.route("**/*", route_handler)

            def on_request(request):
                report.n_requests += 1

            def on_response(response):
                if response.status >= 400 and _is_local_url(response.url):
                    report.fail(f"{current['page']}: HTTP {response.status} for {response.url}")

            def on_failed(request):
                if _is_local_url(request.url):
                    report.fail(f"{current['page']}: request failed {request.url} ({request.failure})")

            context.on("request", on_request)
            context.on("response", on_response)
            context.on("requestfailed", on_failed)

            page = context.pages[0] if context.pages else context.new_page()
            page.on("pageerror", lambda exc: report.fail(f"{current['page']}: JavaScript error: {exc}"))

            for rel in pages:
                info = cache[rel]
                current["page"] = rel
                if info.refresh is not None:
                    # Redirect page: only its target is checked (statically
                    # above and as a page of its own).
                    if verbose:
                        print(f"  {rel}: redirect -> {info.refresh}")
                    continue
                page.goto(base + rel, wait_until="load")
                try:
                    page.wait_for_load_state("networkidle", timeout=page_timeout_ms)
                except Exception:
                    pass
                probe = page.evaluate(PAGE_PROBE_JS)
                if probe["hasMath"] and not probe["mathjax"]:
                    try:
                        page.wait_for_selector("mjx-container", timeout=page_timeout_ms)
                        probe = page.evaluate(PAGE_PROBE_JS)
                    except Exception:
                        report.fail(f"{rel}: {probe['hasMath']} math elements but MathJax typeset none")
                if not probe["title"]:
                    report.fail(f"{rel}: empty <title>")
                if not probe["h1"]:
                    report.fail(f"{rel}: no main <h1> heading")
                for img in probe["imgs"]:
                    if not img["complete"] or img["naturalWidth"] == 0:
                        report.fail(f"{rel}: image did not load: {img['src'][:120]}")
                n_fig = sum(1 for img in probe["imgs"] if img["inOutput"] and img["naturalWidth"] > 0)
                if probe["isNotebook"] or rel in EXPECTED_FIGURES:
                    report.figures[rel] = n_fig
                want = EXPECTED_FIGURES.get(rel, 0)
                if n_fig < want:
                    report.fail(f"{rel}: {n_fig} figure(s) in cell outputs, expected >= {want}")
                if probe["deadWidgets"] or probe["widgetText"]:
                    report.fail(
                        f"{rel}: {probe['deadWidgets']} widget output(s) that render as nothing and "
                        f"{probe['widgetText']} shown as widget or progress-bar text; give the book a static figure"
                    )
                check_links(html_dir, rel, probe["links"], cache, report)
                if verbose:
                    print(
                        f"  {rel}: title={probe['title']!r} h1={probe['h1']!r} "
                        f"imgs={len(probe['imgs'])} figs={n_fig} links={len(probe['links'])}"
                    )

                if rel == intro_rel:
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    tmp = screenshot.with_name(screenshot.name + ".tmp.png")
                    page.screenshot(path=str(tmp), full_page=True)
                    os.replace(tmp, screenshot)
            context.close()
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(user_data, ignore_errors=True)

    if report.blocked:
        report.fail(f"{len(report.blocked)} request(s) to non-local hosts were blocked")
    if intro_rel is not None and not screenshot.is_file():
        report.fail(f"screenshot of {intro_rel} was not written")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "html_dir",
        nargs="?",
        type=Path,
        default=DEFAULT_HTML_DIR,
        help="built HTML directory (default: book/_build/html)",
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        help="PNG path for the intro screenshot (default: HTML_DIR/../screenshots/intro.png)",
    )
    parser.add_argument(
        "--chromium",
        default=os.environ.get("CHROMIUM", DEFAULT_CHROMIUM),
        help="Chromium executable (default: $CHROMIUM or /usr/bin/chromium)",
    )
    parser.add_argument("--page-timeout", type=float, default=30.0, help="seconds allowed per page action (default 30)")
    parser.add_argument("--timeout", type=float, default=600.0, help="overall time limit in seconds (default 600)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every page")
    args = parser.parse_args(argv)

    html_dir = args.html_dir.resolve()
    if not (html_dir / "index.html").is_file():
        hint = ""
        if (REPO_ROOT / "_build" / "html" / "index.html").is_file():
            hint = (
                " (a build exists in _build/html: pass it, or build with "
                "`jupyter-book build -W -n --keep-going --path-output book book/`)"
            )
        print(f"check_book: no built book at {html_dir}{hint}", file=sys.stderr)
        return 2
    chromium = shutil.which(args.chromium) or args.chromium
    if not Path(chromium).is_file():
        print(
            f"check_book: Chromium not found at {args.chromium!r} "
            "(install it: apt-get install -y chromium, or set $CHROMIUM)",
            file=sys.stderr,
        )
        return 2
    screenshot = (args.screenshot or html_dir.parent / "screenshots" / "intro.png").resolve()

    def _on_alarm(signum, frame):
        raise TimeoutError(f"check_book: overall time limit of {args.timeout:.0f} s exceeded")

    if hasattr(signal, "SIGALRM") and args.timeout > 0:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.alarm(int(args.timeout))
    try:
        report = run_checks(html_dir, screenshot, chromium, int(args.page_timeout * 1000), args.verbose)
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.alarm(0)

    print(f"check_book: {len(report.pages)} page(s) in {html_dir}")
    print(f"  requests: {report.n_requests} total, {len(report.blocked)} blocked (non-local)")
    print(f"  internal links checked: {report.n_links}; external links (not followed): {report.n_external_links}")
    for rel, n in sorted(report.figures.items()):
        want = EXPECTED_FIGURES.get(rel, 0)
        print(f"  figures {rel}: {n} (expected >= {want})")
    if screenshot.is_file():
        print(f"  screenshot: {screenshot}")
    if report.blocked:
        print("Blocked non-local requests:")
        for line in report.blocked:
            print(f"  - {line}")
    if report.failures:
        print(f"FAILED: {len(report.failures)} problem(s):")
        for line in report.failures:
            print(f"  - {line}")
        return 1
    print("OK: all book checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
