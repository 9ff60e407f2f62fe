"""The README's results are the book's: written from the executed notebooks' glued values."""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from rbmlib.book.prose import glued_values

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("readme_results", ROOT / "scripts" / "readme_results.py")
readme_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_results)


def test_the_readme_quotes_the_executed_notebooks(capsys):
    assert readme_results.main(["--check"]) == 0, capsys.readouterr().out


def _glue_cell(name, text):
    return {
        "cell_type": "code",
        "metadata": {},
        "execution_count": 1,
        "source": [],
        "outputs": [
            {
                "output_type": "display_data",
                "data": {"application/papermill.record/text/plain": text},
                "metadata": {"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}},
            }
        ],
    }


def test_glued_values_reads_back_numbers_and_strings_and_refuses_the_rest(tmp_path):
    nb = {"cells": [_glue_cell("ll", "-84.52"), _glue_cell("verdict", "'within the noise of'")], "metadata": {}}
    path = tmp_path / "a.ipynb"
    path.write_text(json.dumps(nb))
    assert glued_values(path) == {"ll": -84.52, "verdict": "within the noise of"}
    nb["cells"].append(_glue_cell("figure", "<Figure size 640x480>"))
    path.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="figure"):
        glued_values(path)


def test_a_changed_measurement_changes_the_readme(tmp_path):
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    before = readme_results.render(notebooks)
    path = notebooks / "02_training.ipynb"
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook", {}).get("name") == "ll_best":
                out["data"]["application/papermill.record/text/plain"] = "-80.0"
    path.write_text(json.dumps(nb))
    after = readme_results.render(notebooks)
    assert "-80.00" in after and "-80.00" not in before
