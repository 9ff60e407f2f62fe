"""Small tables for notebooks and scripts: rows of dicts shown as Markdown/HTML or plain text."""
from __future__ import annotations

import html
import numbers

__all__ = ["Table"]


class Table:
    """A table of ``rows`` (dicts) with the given ``columns``, rendered in notebooks.

    Parameters
    ----------
    rows : list of dict
    columns : list of str, optional
        Keys to show, in order (default: the first row's keys).
    formats : dict, optional
        Format spec per column, e.g. ``{"ll": ".1f"}``; other floats use ``floatfmt``.
    floatfmt : str
    """

    def __init__(self, rows, columns=None, formats=None, floatfmt=".3g"):
        self.rows = list(rows)
        self.columns = list(columns or (self.rows[0].keys() if self.rows else []))
        self.formats = dict(formats or {})
        self.floatfmt = floatfmt

    def _cell(self, col, value) -> str:
        if value is None:
            return ""
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
            return format(float(value), self.formats.get(col, self.floatfmt))
        if col in self.formats and isinstance(value, numbers.Number):
            return format(value, self.formats[col])
        return str(value)

    def _cells(self):
        return [[self._cell(c, row.get(c)) for c in self.columns] for row in self.rows]

    def __repr__(self) -> str:
        cells = self._cells()
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        line = lambda vals: "  ".join(v.rjust(w) for v, w in zip(vals, widths))  # noqa: E731
        return "\n".join([line(self.columns), line(["-" * w for w in widths])] + [line(r) for r in cells])

    def _repr_markdown_(self) -> str:
        head = "| " + " | ".join(self.columns) + " |"
        sep = "|" + "|".join(" --- " for _ in self.columns) + "|"
        return "\n".join([head, sep] + ["| " + " | ".join(r) + " |" for r in self._cells()])

    def _repr_html_(self) -> str:
        th = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        trs = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in self._cells())
        return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"
