"""Write the README's results from the book's executed notebooks, or check that they match.

The README quotes the book's measurements; this script makes that literal. Every number in the
block between the two markers below is a value a notebook glued for its own prose
(:func:`rbmlib.book.prose.glued_values`), so the README, the book and the run that made the
numbers cannot disagree.

Usage (from the repository root)::

    python scripts/readme_results.py           # rewrite the block in README.md
    python scripts/readme_results.py --check   # exit 1 if README.md is out of date (make test)
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rbmlib.book.prose import glued_values

BEGIN = "<!-- results: written by scripts/readme_results.py from the executed notebooks; do not edit -->"
END = "<!-- end of results -->"

#: Chapter short names -> notebooks.
CHAPTERS = {
    "train": "02_training",
    "recall": "04_recall",
    "resample": "05_resampling",
    "discr": "07_discrimination",
    "feat": "08_features",
}

TEMPLATE = """\
### Log-likelihood: chapter 2 (`notebooks/02_training.ipynb`)

Average log-likelihood of the MNIST test set (binarised once, seed 20081), in nats: exact for
10 hidden units, AIS (100 runs, 5000 distributions) and reverse AIS from parallel-tempering
samples (a pessimistic bound when those samples are at equilibrium) for the others.

| model | training | test log-likelihood | reverse AIS |
| --- | --- | --- | --- |
| `cd1-10` | the assignment: CD-1, lr 0.1, batch 64, 10 hidden, 20 epochs | {train.ll_cd1_10:.2f} (exact) | |
| `cd1-400` | the assignment with 400 hidden units | {train.ll_cd1_400:.2f} | no bound (see chapter 2) |
| `pcd64` | centred PCD-1, 64 chains, lr 0.01, 300 epochs | {train.ll_pcd64:.2f} | {train.reverse_pcd64:.2f} |
| `best` | centred PCD-1, 256 chains, lr 0.02, 280 epochs | **{train.ll_best:.2f}** | **{train.reverse_best:.2f}** |

Salakhutdinov & Murray (2008) report −86.34 nats for CD-25 with 500 hidden units and
Melchior et al. (2016) −84.86 for a centred RBM trained with PCD-1. Seconds per epoch of the
assignment's CD-1 on the machine that built the book: {train.epoch_10:.2f} s (10 hidden) and
{train.epoch_400:.2f} s (400 hidden), against the assignment's 20 s and 80 s on Colab.

### Resampling: chapter 5 (`notebooks/05_resampling.ipynb`)

{resample.n_chains} plain Gibbs chains per model from random images; class histograms by
rbmlib's digit classifier against MNIST's class frequencies (TV: total variation distance;
floor: what a perfect sampler scores, 95th percentile).

| model | sampler | TV to MNIST | noise floor | verdict |
| --- | --- | --- | --- | --- |
{resample_rows}

The assignment's CD-1 model does not reproduce the data: {resample.cd1_noisy_10000:.0f} % of its
chains are still noise after 10,000 steps. Chains of `best` started from test digits and from
noise agree (split R-hat of the energy {resample.rhat:.3f}). Over three training seeds at the
assignment's budget (400 hidden units, 20 epochs), CD-1 leaves {resample.seed_cd_noisy_low:.0f} to
{resample.seed_cd_noisy_high:.0f} % of its chains in noise after 1000 steps, PCD-1 at most
{resample.seed_pcd_noisy_high:.0f} %. Per unit of work, plain Gibbs changes
digit {resample.changes_gibbs:.2f} times per 1000 replica-sweeps, parallel tempering
{resample.changes_pt:.2f}.

### Recipe search: chapter 5 and `python benchmarks/recipe_search.py`

Training methods aimed at the chains' class mix, each continuing `best` with another negative phase
(`rbmlib.train.negative`), and `best` retrained with twice the hidden units (`best-1000h`: is it
capacity?), three training seeds each; per model, 1000 plain Gibbs chains from random
images (as `python -m rbmlib sample`), class-mix TV after 1000 and 10,000 sweeps against the noise
floor ({resample.search_floor:.3f}), confidence against real digits', test log-likelihood by forward
AIS; mean ± standard deviation over the seeds (rows in `benchmarks/results/recipe_search.json`, with
the command and commit of each). Training times are both stages; the second stages, and `best-1000h`,
ran beside up to two other trainings on the 2 cores, so they are slower than alone:

{resample.search_table}

Within the noise floor at both lengths on every seed: {resample.search_all_met}
({resample.search_cells_met} of {resample.search_cells} (seed, length) pairs are). Twice the hidden
units raises the test LL to {resample.capacity_ll:.2f} nats on average (`best`: {resample.search_best_ll:.2f})
and brings the class mix {resample.capacity_direction} MNIST's, {resample.capacity_vs_best} the
spread across seeds. The closest
candidate, `{resample.search_lowest}`, is the `equilibrium` recipe (`python -m rbmlib train --recipe
equilibrium`); its committed seed-0 model, re-run by the chapter: TV {resample.eq_tv_1000:.3f} after
1000 sweeps, {resample.eq_tv_10000:.3f} after 10,000.

### Recall: chapter 4 (`notebooks/04_recall.ipynb`)

Half of each of {recall.n_scored} test digits dropped and refilled by clamped Gibbs sampling
(`best`, posterior mean of the chains). Recognised as the original digit by the classifier:
{recall.acc_random:.1%} with a random half dropped, {recall.acc_top:.1%} with the top half.
Expected wrong pixels on the dropped half, averaged over five ways of dropping it:
{recall.pix_rbm:.3f}, against {recall.pix_knn:.3f} for the mean of the nearest training digits.
Halves where the RBM is recognised significantly less often than that baseline (5 % for the
five together): {recall.behind_family}.

### Discrimination: chapter 7 (`notebooks/07_discrimination.ipynb`)

A test digit is on average {discr.gap_cd1:.0f} nats more probable than a letter under the
assignment's CD-1 model and {discr.gap_best:.0f} nats under `best`; noise is less probable still.
`best`'s free energy ranks a random digit above a random letter with probability (AUROC)
{discr.auroc_ll_letters:.3f}; the chapter's combined score (likelihood and the ratio to a context
model, by Fisher's method) {discr.auroc_combined_letters:.3f}. Batches of 5 letters rejected at a
5 % false-alarm rate: {discr.batches_ll_letters:.1%} by the likelihood, {discr.batches_combined_letters:.1%}
by the combined score.

### Features: chapter 8 (`notebooks/08_features.ipynb`)

Test accuracy of a logistic regression on standardised features: `best`'s 500 hidden units
{feat.acc_best:.1f} %, the 784 pixels {feat.acc_pixels:.1f} %, 500 principal components
{feat.acc_pca500:.1f} %; 10 hidden units of `cd1-10` {feat.acc_small:.1f} % against 10 principal
components {feat.acc_pca10:.1f} %. On scikit-learn's own RBM example (8×8 digits),
`rbmlib.sklearn.BernoulliRBM` {feat.example_rbmlib:.1f} %, scikit-learn's `BernoulliRBM`
{feat.example_scikit_learn:.1f} %, pixels alone {feat.example_pixels:.1f} %.
"""


def _resample_rows(r: dict) -> str:
    rows = []
    for sampler, tag in (("Gibbs, 10,000 steps", "gibbs"), ("parallel tempering, equilibrium", "pt")):
        for model in ("best", "pcd64"):
            v = {k: r[f"{model}_{tag}_{k}"] for k in ("tv", "floor", "verdict", "n")}
            what = f"{sampler} ({v['n']} effective samples)" if tag == "pt" else sampler
            verdict = v["verdict"].removesuffix(" of").removesuffix(" from")  # the prose's "within the noise of"
            rows.append(f"| `{model}` | {what} | {v['tv']:.3f} | {v['floor']:.3f} | {verdict} |")
    return "\n".join(rows)


def render(notebooks: Path = ROOT / "notebooks") -> str:
    """The results block, rendered from the executed notebooks under ``notebooks``."""
    values = {key: glued_values(notebooks / f"{name}.ipynb") for key, name in CHAPTERS.items()}
    spaces = {key: SimpleNamespace(**v) for key, v in values.items()}
    try:
        body = TEMPLATE.format(**spaces, resample_rows=_resample_rows(values["resample"]))
    except (AttributeError, KeyError) as err:
        raise SystemExit(f"a notebook does not glue a value the README quotes: {err}") from err
    return f"{BEGIN}\n\n{body}\n{END}"


def _split(readme: str) -> tuple[str, str, str]:
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        raise SystemExit(f"README.md must hold the markers once each:\n{BEGIN}\n{END}")
    head, rest = readme.split(BEGIN)
    block, tail = rest.split(END)
    return head, BEGIN + block + END, tail


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md differs from the notebooks")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    readme = args.readme.read_text()
    head, block, tail = _split(readme)
    fresh = render()
    if args.check:
        if block != fresh:
            diff = difflib.unified_diff(block.splitlines(), fresh.splitlines(), "README.md", "notebooks", lineterm="")
            print("README.md's results differ from the notebooks; run python scripts/readme_results.py\n")
            print("\n".join(diff))
            return 1
        print("README.md's results match the notebooks")
        return 0
    args.readme.write_text(head + fresh + tail)
    print(f"wrote the results block of {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
