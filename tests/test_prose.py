"""The book's prose rule: every measured figure in a markdown cell is inserted from the run (glue)."""

from pathlib import Path

from rbmlib.book.prose import notebook_typed_figures, typed_figures

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_checker_finds_a_planted_figure_and_spares_what_is_not_prose():
    assert typed_figures("The test log-likelihood is -84.52 nats, 0.3 better.") == ["-84.52"]
    assert typed_figures("Digits win by {glue:text}`gap:.1f` nats at lr `0.1` and $p = 0.5$.") == []
    assert typed_figures("Melchior et al. report -84.86 nats; Salakhutdinov & Murray (2008) -86.34.") == []
    assert typed_figures("```python\nx = 3.14\n```\nSee [v1.2](https://x.org/1.5) and 1000 steps.") == []
    assert typed_figures("A learning rate of 0.1 and weights in U(-0.01, 0.01).") == []
    assert typed_figures("accuracy 96.5 % (−0.024)") == ["96.5", "−0.024"]


def test_a_planted_figure_in_a_notebook_is_found(tmp_path):
    import json

    nb = json.loads(NOTEBOOKS[0].read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["The model reaches 97.3 %."]})
    planted = tmp_path / "planted.ipynb"
    planted.write_text(json.dumps(nb))
    assert list(notebook_typed_figures(planted).values()) == [["97.3"]]
