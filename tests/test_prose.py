"""The book's prose rule: every measured figure in a markdown cell is inserted from the run (glue)."""

from pathlib import Path

import pytest

from rbmlib.book.prose import notebook_typed_figures, typed_figures

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_checker_finds_a_planted_figure_and_spares_what_is_not_prose():
    assert typed_figures("The test log-likelihood is -84.52 nats, 0.3 better.") == ["-84.52"]
    assert typed_figures("Digits win by {glue:text}`gap:.1f` nats at lr `0.1` and $p = 0.5$.") == []
    assert typed_figures("Melchior et al. report -84.86 nats; Salakhutdinov & Murray (2008) -86.34.") == []
    assert typed_figures("```python\nx = 3.14\n```\nSee [v1.2](https://x.org/1.5) and 1000 steps.") == []
    assert typed_figures("A learning rate of 0.1 and weights in U(-0.01, 0.01).") == []
    assert typed_figures("accuracy 96.5 % (−0.024)") == ["96.5", "−0.024"]


def test_the_book_types_no_measured_figure(tmp_path):
    assert len(NOTEBOOKS) >= 8
    typed = {p.name: found for p in NOTEBOOKS if (found := notebook_typed_figures(p))}
    assert typed == {}


def test_a_planted_figure_in_a_notebook_is_found(tmp_path):
    import json

    nb = json.loads(NOTEBOOKS[0].read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["The model reaches 97.3 %."]})
    planted = tmp_path / "planted.ipynb"
    planted.write_text(json.dumps(nb))
    assert list(notebook_typed_figures(planted).values()) == [["97.3"]]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_reader_facing_project_bookkeeping(path):
    """Issue numbers, targets and 'met: False' belong to the project's notes, not to a course book."""
    import json
    import re

    cells = json.loads(path.read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    outputs = "".join(
        "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
        for c in cells
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )
    for where, body in (("prose", text), ("outputs", outputs)):
        assert not re.search(r"\bissue \d+|\btargets? of issue|\bmet: (True|False)", body, re.I), (where, path.name)


#: Longest code cell a reader sees unfolded; longer cells (table building, figure layout) are
#: tagged ``hide-input`` so the book folds them, and logic belongs in rbmlib.
MAX_VISIBLE_LINES = 20
FOLDED = {"hide-input", "remove-input", "remove-cell"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_visible_code_cells_are_short(path):
    import json

    long = {
        i: n
        for i, c in enumerate(json.loads(path.read_text())["cells"])
        if c["cell_type"] == "code"
        and not FOLDED & set(c.get("metadata", {}).get("tags", []))
        and (n := len("".join(c["source"]).splitlines())) > MAX_VISIBLE_LINES
    }
    assert long == {}, f"{path.name}: visible code cells longer than {MAX_VISIBLE_LINES} lines: {long}"


@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.stem[:2] in {"01", "02", "03", "04", "05", "06", "07"}], ids=lambda p: p.stem
)
def test_each_graded_chapter_opens_with_its_answer(path):
    """A grader finds the answer at a glance: a 'Graded answer' box among the first three cells."""
    import json

    cells = json.loads(path.read_text())["cells"][:3]
    assert any("Graded answer" in "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"), path.name
