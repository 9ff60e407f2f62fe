"""Tables for notebooks and scripts: rows of dicts rendered by ``tabulate``."""

from __future__ import annotations

from tabulate import tabulate

__all__ = ["Table"]


class Table:
    """A table of ``rows`` (dicts) with the given ``columns``: plain text in a console, HTML in a notebook.

    Parameters
    ----------
    rows : list of dict
    columns : list of str, optional
        Keys to show, in order (default: the first row's keys). Missing values are blank.
    formats : dict, optional
        Format spec per column, e.g. ``{"ll": ".1f"}``; other floats use ``floatfmt``.
    floatfmt : str
    """

    def __init__(self, rows, columns=None, formats=None, floatfmt=".3g"):
        self.rows = list(rows)
        self.columns = list(columns or (self.rows[0].keys() if self.rows else []))
        self.floatfmt = [dict(formats or {}).get(c, floatfmt) for c in self.columns]

    def render(self, tablefmt: str = "simple") -> str:
        """The table as text in one of ``tabulate``'s formats ("simple", "github", "html", ...)."""
        cells = [[row.get(c) for c in self.columns] for row in self.rows]
        return str(tabulate(cells, headers=self.columns, tablefmt=tablefmt, floatfmt=self.floatfmt, missingval=""))

    def __repr__(self) -> str:
        return self.render("simple")

    def _repr_html_(self) -> str:
        return self.render("html")
