"""The recipe-search glue of the Resampling chapter (rbmlib.book.search) on hand-made rows."""

import json

import numpy as np
import pytest

from rbmlib.book.search import (
    FIELDS,
    frontier_figure,
    load_search,
    method_gap,
    seed_mean,
    seed_spread,
    seed_summary,
    targets_met,
)


def _row(candidate="c", seed=0, **changes):
    row = dict.fromkeys(FIELDS, 0.0)
    row.update(candidate=candidate, then=None, seed=seed, floor=0.05, tv_1000=0.04, tv_10000=0.06,
               confidence_1000=-0.01, confidence_10000=-0.04, ll_forward=-84.8, ll_reverse=-84.6,
               train_seconds=600.0, command="python benchmarks/recipe_search.py", commit="abc")  # fmt: skip
    row.update(changes)
    return row


def test_targets_met_reads_each_target():
    assert targets_met(_row()) == {"tv_1000": True, "tv_10000": False, "confidence": False, "likelihood": True}
    assert not targets_met(_row(ll_reverse=-85.1))["likelihood"]  # the reverse bound counts too
    assert not targets_met(_row(ll_forward=-84.0, ll_reverse=-84.6))["likelihood"]  # AIS disagree by 0.6
    assert targets_met(_row(tv_10000=0.05))["tv_10000"]  # on the floor is within it


def test_seed_summary_over_seeds():
    rows = [_row(seed=s, tv_1000=tv) for s, tv in enumerate((0.03, 0.04, 0.08))] + [_row("d")]
    summary = {r["candidate"]: r for r in seed_summary(rows)}
    c = summary["c"]
    assert c["seeds"] == 3 and c["within floor (1000 / 10,000)"] == "2 / 0"
    assert c["TV, 1000"] == f"{np.mean([0.03, 0.04, 0.08]):.3f} ± {np.std([0.03, 0.04, 0.08], ddof=1):.3f}"
    assert summary["d"]["seeds"] == 1 and summary["d"]["TV, 1000"] == "0.040 (one seed)"
    assert c["training, slowest seed (min)"] == 10 and c["test LL (forward)"] == "-84.80 ± 0.00"


def test_load_search_checks_the_file(tmp_path):
    path = tmp_path / "r.json"
    with pytest.raises(FileNotFoundError, match="recipe_search.py"):
        load_search(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a recipe-search results file"):
        load_search(path)
    bad = _row()
    del bad["ll_reverse"]
    path.write_text(json.dumps({"rows": [bad]}))
    with pytest.raises(ValueError, match="ll_reverse"):
        load_search(path)
    path.write_text(json.dumps({"rows": [_row(), _row("d")]}))
    rows = load_search(path)
    assert [r["candidate"] for r in rows] == ["c", "d"]
    assert len(frontier_figure(rows).axes) == 2


def test_seed_spread_and_method_gap():
    rows = [_row("best", s, tv_1000=tv, tv_10000=0.06) for s, tv in enumerate((0.04, 0.06, 0.08))]
    rows += [_row("x", s, tv_1000=0.05, tv_10000=t) for s, t in enumerate((0.02, 0.03, 0.04))] + [_row("y")]
    # sd over seeds, averaged over the candidates with several seeds; the larger of the two lengths
    assert seed_spread(rows) == pytest.approx(max(np.mean([0.02, 0.0]), np.mean([0.0, 0.01])))
    assert method_gap(rows, "x") == pytest.approx(0.03)  # 10,000 sweeps: 0.06 against 0.03
    assert method_gap(rows, "best") == 0
    assert seed_mean(rows, "best", "tv_1000") == pytest.approx(0.06)
    with pytest.raises(ValueError, match="'z'"):
        method_gap(rows, "z")
    with pytest.raises(ValueError, match="more than one seed"):
        seed_spread([_row("y")])
