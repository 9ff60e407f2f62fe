r"""The book's prose rule: a measured figure in a sentence comes from the run, never typed.

Every decimal number in a notebook's markdown must be inserted from the notebook's own run
(MyST-NB's ``{glue:text}`name``` role, filled by :func:`rbmlib.book.nbtools.glue`), so that the
prose cannot drift from the numbers printed beside it. :func:`typed_figures` finds the decimal
numbers that are typed instead; the exceptions are settings and published results:

* the assignment's parameters and other settings (:data:`ALLOWED`, e.g. the learning rate 0.1);
* numbers in code spans, math, links and glue roles (they are not prose);
* a line that cites a publication (``et al.`` or a year in parentheses), whose numbers are
  the publication's.

Integers are settings or counts ("1000 steps", "500 hidden units") and may stay typed.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

__all__ = ["ALLOWED", "glued_values", "notebook_typed_figures", "typed_figures"]

#: Decimal numbers that are settings, not measurements: the assignment's learning rate, the
#: initial weights' range, the book's learning rates and schedules, significance levels.
ALLOWED = frozenset({"0.1", "0.01", "-0.01", "−0.01", "0.02", "0.05", "0.06", "0.3", "0.5", "1.5", "0.95", "0.99"})

_NOT_PROSE = (
    r"```.*?```",  # fenced code
    r"\{glue(?::\w+)?\}`[^`]*`",  # glue roles (before plain code spans)
    r"`[^`]*`",  # code spans
    r"\$\$.*?\$\$",  # display math
    r"\$[^$\n]*\$",  # inline math
    r"\[[^\]]*\]\([^)]*\)",  # links
)
_CITATION = re.compile(r"et al\.?|\((?:19|20)\d\d[a-z]?\)|\b(?:19|20)\d\d\)")
_DECIMAL = re.compile(r"(?<![\w.])[-−]?\d+\.\d+(?![\w.])")


def typed_figures(markdown: str, allowed=ALLOWED) -> list[str]:
    """The decimal numbers typed into ``markdown`` that are neither inserted nor allowed.

    Parameters
    ----------
    markdown : str
        A markdown cell's text.
    allowed : collection of str
        Numbers that may be typed (settings).

    Returns
    -------
    list of str
        The offending numbers, in order.
    """
    text = markdown
    for pattern in _NOT_PROSE:
        text = re.sub(pattern, " ", text, flags=re.S)
    found = []
    for line in text.splitlines():
        if not _CITATION.search(line):
            found += [m for m in _DECIMAL.findall(line) if m not in allowed]
    return found


def notebook_typed_figures(path, allowed=ALLOWED) -> dict[int, list[str]]:
    """:func:`typed_figures` of every markdown cell of the notebook at ``path``: ``{cell index: numbers}``."""
    nb = json.loads(Path(path).read_text())
    out = {}
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "markdown":
            found = typed_figures("".join(cell.get("source", "")), allowed)
            if found:
                out[i] = found
    return out


def glued_values(path) -> dict:
    """The values an executed notebook glued for its prose: ``{name: value}``.

    MyST-NB stores each :func:`rbmlib.book.nbtools.glue` call as a display output whose
    metadata names it; its ``text/plain`` is the value's ``repr`` (numbers and strings, which
    :func:`ast.literal_eval` reads back exactly).

    Parameters
    ----------
    path : str or pathlib.Path
        An executed notebook.

    Returns
    -------
    dict
        Name to value, in the order the notebook glued them (a later glue of a name wins).

    Raises
    ------
    ValueError
        When a glued value is not a literal (the README and the tests cannot read it).
    """
    nb = json.loads(Path(path).read_text())
    values = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            record = out.get("metadata", {}).get("scrapbook")
            if not record:
                continue
            text = out.get("data", {}).get(record.get("mime_prefix", "") + "text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            try:
                values[record["name"]] = ast.literal_eval(text)
            except (ValueError, SyntaxError) as err:
                raise ValueError(f"{path}: glued value {record['name']!r} is not a literal: {text[:60]!r}") from err
    return values
