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
   ``rbmlib`` module that exists on disk, grouped by the package's layers (core,
   evaluation kit, book glue and CLI), so the API page never references a module
   that has not been written yet (which would fail a ``-W`` build).
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

#: The API page's sections: the package's layers, each a list of module-name prefixes
#: in page order. A module found on disk goes under the first prefix it starts with;
#: modules that match none are listed last.
LAYERS = (
    ("Core: data and model", ("rng", "validation", "data", "model", "pretrained")),
    ("Core: training, sampling and measuring", ("train", "sampling", "evaluate", "completion", "plotting")),
    ("Evaluation kit", ("metrics",)),
    ("scikit-learn estimator", ("sklearn",)),
    ("Course book glue and command line", ("book", "cli")),
)

#: Docname of the page holding the ``rbmlib-api`` directive.
API_DOCNAME = "api"

if str(REPO_ROOT) not in sys.path:
    # Make ``import rbmlib`` work for autodoc without PYTHONPATH.
    sys.path.insert(0, str(REPO_ROOT))


def existing_modules(package_dir: Path = PACKAGE_DIR) -> list[tuple[str, list[str]]]:
    """Return the public modules of ``rbmlib`` found on disk, grouped by :data:`LAYERS`.

    Parameters
    ----------
    package_dir : pathlib.Path
        Directory of the ``rbmlib`` package.

    Returns
    -------
    list of (str, list of str)
        Section titles and dotted module names without the package prefix
        (``"model"``, ``"train.loop"``, ``"metrics"`` for a subpackage ...), in the
        order of :data:`LAYERS`. Private modules (a part starting with an
        underscore, ``__main__``) are skipped.
    """
    if not package_dir.is_dir():
        return []
    found = set()
    for path in package_dir.rglob("*.py"):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and not any(part.startswith("_") for part in parts):
            found.add(".".join(parts))
    sections, placed = [], set()
    for title, prefixes in LAYERS:
        names = [m for prefix in prefixes for m in sorted(found - placed) if m == prefix or m.startswith(prefix + ".")]
        placed.update(names)
        if names:
            sections.append((title, names))
    if found - placed:
        sections.append(("Other modules", sorted(found - placed)))
    return sections


class RbmlibApiDirective(SphinxDirective):
    """``.. rbmlib-api::`` -- one autodoc section per existing module, grouped by layer."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        sections = existing_modules()
        for path in PACKAGE_DIR.rglob("*.py"):
            self.env.note_dependency(str(path))
        if not sections:
            para = nodes.paragraph(text="No rbmlib modules were found.")
            return [para]
        lines: list[str] = []
        for heading, names in sections:
            lines += [heading, "-" * len(heading), ""]
            for name in names:
                title = f"``rbmlib.{name}``"
                lines += [
                    title,
                    "~" * len(title),
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
        key = (str(filename), getattr(js, "priority", None), tuple(sorted((k, str(v)) for k, v in attrs.items())))
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
