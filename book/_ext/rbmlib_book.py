"""Small Sphinx extension for the rbmlib book (loaded via ``_config.yml``).

It does two things:

1. **Colab launch button switch.**  ``_config.yml`` always configures
   ``launch_buttons.colab_url``, but a Colab link needs the repository
   (``repository.url``).  sphinx-book-theme fails while building the link when
   no repository is set, so while ``repository.url`` is empty the launch
   buttons are removed here.  Setting ``repository.url`` in ``_config.yml`` is
   therefore the single switch that turns the "Open in Colab" button on.

2. **Duplicate inline scripts.**  With Sphinx 7.4, an inline script added by
   an extension (``app.add_js_file(None, body=...)``, as sphinx-thebe does)
   is emitted twice (once with filename ``None``, once with ``''``), which
   makes every page throw "Identifier 'THEBE_JS_URL' has already been
   declared".  Exact duplicates are dropped from each page's script list.

3. **``rbmlib-api`` directive.**  Emits one ``automodule`` section per
   ``rbmlib`` submodule that exists on disk, so the API page never references
   a module that has not been written yet (which would fail a ``-W`` build).
"""

from __future__ import annotations

import sys
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

#: Repository root (this file is ``<root>/book/_ext/rbmlib_book.py``).
REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_ROOT / "rbmlib"

#: Preferred order of the API page; other submodules found on disk follow,
#: sorted by name.
MODULE_ORDER = (
    "data",
    "model",
    "train",
    "evaluate",
    "recall",
    "plotting",
    "classifier",
    "quality",
    "ood",
    "cli",
)

#: Docname of the page holding the ``rbmlib-api`` directive.
API_DOCNAME = "api"

if str(REPO_ROOT) not in sys.path:
    # Make ``import rbmlib`` work for autodoc without PYTHONPATH.
    sys.path.insert(0, str(REPO_ROOT))


def existing_modules(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Return the names of the public submodules of ``rbmlib`` found on disk.

    Parameters
    ----------
    package_dir : pathlib.Path
        Directory of the ``rbmlib`` package.

    Returns
    -------
    list of str
        Module names without the package prefix (``"model"``, ...), in
        :data:`MODULE_ORDER` first and then alphabetically.  Private modules
        (leading underscore, including ``__init__`` and ``__main__``) are
        skipped.
    """
    if not package_dir.is_dir():
        return []
    found = {p.stem for p in package_dir.glob("*.py") if not p.stem.startswith("_")}
    ordered = [m for m in MODULE_ORDER if m in found]
    ordered += sorted(found - set(ordered))
    return ordered


class RbmlibApiDirective(SphinxDirective):
    """``.. rbmlib-api::`` -- one autodoc section per existing submodule."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        modules = existing_modules()
        for name in modules:
            self.env.note_dependency(str(PACKAGE_DIR / f"{name}.py"))
        if not modules:
            para = nodes.paragraph(text="No rbmlib modules were found.")
            return [para]
        lines: list[str] = []
        for name in modules:
            title = f"``rbmlib.{name}``"
            lines += [
                title,
                "-" * len(title),
                "",
                f".. automodule:: rbmlib.{name}",
                "   :members:",
                "   :show-inheritance:",
                "",
            ]
        container = nodes.section()
        container.document = self.state.document
        content = StringList(lines, source="<rbmlib-api>")
        nested_parse_with_titles(self.state, content, container)
        return container.children


def _drop_launch_buttons_without_repository(app: Sphinx, config) -> None:
    """Remove launch buttons when ``repository.url`` is not configured."""
    opts = config.html_theme_options
    if not isinstance(opts, dict):
        return
    if str(opts.get("repository_url") or "").strip():
        return
    if opts.get("launch_buttons"):
        opts["launch_buttons"] = {}
    # An empty string would be treated as "set" by some theme code paths.
    opts.pop("repository_url", None)


def _dedupe_inline_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop scripts that differ only by a ``None``/``''`` filename."""
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen = set()
    unique = []
    for js in scripts:
        filename = getattr(js, "filename", js) or ""
        attrs = getattr(js, "attributes", {}) or {}
        key = (str(filename), getattr(js, "priority", None),
               tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    scripts[:] = unique


def _always_reread_api(app, env, added, changed, removed):
    """The API page depends on which modules exist: re-read it every build."""
    if API_DOCNAME in env.found_docs:
        return [API_DOCNAME]
    return []


def setup(app: Sphinx) -> dict:
    app.add_directive("rbmlib-api", RbmlibApiDirective)
    # Run before sphinx-book-theme reads the theme options.
    app.connect("config-inited", _drop_launch_buttons_without_repository, priority=100)
    app.connect("env-get-outdated", _always_reread_api)
    app.connect("html-page-context", _dedupe_inline_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
