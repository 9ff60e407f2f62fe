"""Every number of the science report, in one reproducible run.

    .venv/bin/python benchmarks/science_report.py [--json build/science.json] [--quick] [--sections 1 2 ...]

Uses the course book's models (:func:`rbmlib.book.zoo.book_model`: the assignment's CD-1
configuration with 10 and 400 hidden units, and the committed ``best`` model) and the
same cached computations as the notebooks (:mod:`rbmlib.book.nbtools`), with larger settings
than the book can afford in its time budget (AIS with 14,500 distributions and three
seeds, 1000 chains), so its numbers are close to, but not the same as, the book's.
It prints Markdown tables, one section per function below:

1. the exact test log-likelihood of the 10-unit CD-1 model after each epoch;
2. test log-likelihoods: exact (10 units) or AIS over several seeds with the spread,
   beside reverse AIS (pessimistic);
3. samples of 1000 chains from random starts after 100, 1000 and 10,000 Gibbs steps, and of
   1000 parallel-tempering systems after 100 and 1000 sweeps, scored by the class-histogram
   TV distance, classifier confidence, copying and AATS, with each run's mixing diagnostics;
4. recall of dropped halves against the baselines;
5. discrimination of test digits from noise and letters.

``--quick`` uses fewer chains, images and AIS steps (for a smoke run; not the
README's numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from rbmlib.book import nbtools
from rbmlib.book.tables import Table
from rbmlib.book.zoo import book_model
from rbmlib.completion import HALVES, half_mask
from rbmlib.data import binarize, binarized_test_set, load_mnist
from rbmlib.metrics.baselines import select_k
from rbmlib.metrics.classifier import load_classifier
from rbmlib.metrics.discrimination import comparison_sets, discrimination_report
from rbmlib.metrics.recall import paired_difference, score_recall


def _jsonable(d: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def section_exact_ll(ctx, out):
    print("## 1. Assignment configuration (CD-1, lr 0.1, batch 64, 10 hidden): exact test log-likelihood per epoch\n")
    hist = ctx["models"]["cd1-10"].metadata["history"]
    rows = [{"epoch": r["epoch"], "test LL (nats)": r["test_log_likelihood"], "s/epoch": r["seconds"]} for r in hist]
    print(Table(rows, formats={"test LL (nats)": ".2f", "s/epoch": ".2f"}).render("github"), "\n")
    out["cd1_10_exact_ll_per_epoch"] = [r["test_log_likelihood"] for r in hist]


def section_log_likelihood(ctx, out):
    print("## 2. Test log-likelihood (MNIST test set binarised once, seed 20081)\n")
    rows = []
    for name, rbm in ctx["models"].items():
        ev = nbtools.cached_evaluation(rbm, ctx["x_test"], ctx["x_train"], **ctx["ais"])
        out[f"evaluate_{name}"] = _jsonable(ev)
        rows.append(
            {
                "model": name,
                "hidden": rbm.n_hidden,
                "log Z method": ev["log_z.method"],
                "test LL (AIS / exact)": ev["test_log_likelihood"],
                "AIS seed spread of log Z": ev.get("ais_seeds.spread"),
                "test LL (reverse AIS, pessimistic)": ev.get("test_log_likelihood_pessimistic"),
                "reverse start at equilibrium": ev.get("reverse_ais_consistent"),
            }
        )
    print(Table(rows, floatfmt=".2f").render("github"), "\n")


def section_samples(ctx, out):
    n_chains, steps = ctx["n_chains"], ctx["steps"]
    print(f"## 3. {n_chains} chains from random starts: plain Gibbs and parallel tempering\n")
    rows, mix_rows = [], []
    for name in ("cd1-400", "pcd64", "best"):
        rbm = ctx["models"][name]
        runs = {"gibbs": (steps, nbtools.cached_chains(rbm, n_chains, steps, rng=0, classifier=ctx["clf"]))}
        if name != "cd1-400":
            pt_steps = ctx["pt_steps"]
            runs["pt"] = (
                pt_steps,
                nbtools.cached_chains(
                    rbm, n_chains, pt_steps, rng=0, method="pt", classifier=ctx["clf"], train_images=ctx["x_train"]
                ),
            )
        for method, (sweeps, run) in runs.items():
            for t in sweeps:
                v = run["snapshots"][t][0]
                rep = nbtools.cached_sample_report(
                    rbm,
                    v,
                    {"chains": n_chains, "steps": t, "method": method, "seed": 0},
                    classifier=ctx["clf"],
                    train_images=ctx["x_train"],
                    test_images=ctx["x_test"],
                    train_labels=ctx["y_train"],
                    test_labels=ctx["y_test"],
                    rng=0,
                )
                out[f"chains_{name}_{method}_{t}"] = _jsonable(rep)
                rows.append(
                    {
                        "model": name,
                        "sampler": method,
                        "sweeps": t,
                        "TV distance": rep["tv_distance"],
                        "TV (real digits)": rep["reference_tv_distance"],
                        "confidence": rep["mean_confidence"],
                        "confidence (real)": rep["reference_confidence"],
                        "copy fraction": rep["copy_fraction"],
                        "copy expected": rep["copy_expected"],
                        "AATS": rep["aats"],
                    }
                )
            mix = run["mixing"]
            out[f"mixing_{name}_{method}"] = mix
            mix_rows.append(
                {
                    "model": name,
                    "sampler": method,
                    "sweeps after burn-in": mix["n_sweeps"],
                    "label changes / 1000 sweeps": mix["label_changes_per_1000"],
                    "tau energy": mix["tau_energy"],
                    "tau label": mix["tau_label"],
                    "ESS label": mix["ess_label"],
                    "replicas": len(run["betas"]) if method == "pt" else None,
                    "swap acceptance min": float(run["acceptance"].min()) if method == "pt" else None,
                }
            )
    print(Table(rows, floatfmt=".3f").render("github"), "\n")
    print(Table(mix_rows, floatfmt=".3g").render("github"), "\n")


def section_recall(ctx, out):
    n_img, x_test, y_test, x_train, y_train = ctx["n_img"], ctx["x_test"], ctx["y_test"], ctx["x_train"], ctx["y_train"]
    clf = ctx["clf"]
    chains = 8
    settings = dict(steps=300, burn_in=100, n_chains=chains, vote_every=20, estimators=("last", "mean", "vote"))
    print(
        f"## 4. Recall of a dropped half ({n_img} test digits; RBM: last step, and posterior mean and classifier "
        f"vote over {chains} clamped chains x 300 Gibbs steps, 100 burn-in; k-NN with k chosen per half on "
        "1000 held-out training digits)\n"
    )
    held_out, held_labels = binarize(x_train[-1000:], rng=1), y_train[-1000:]
    knn_k = {}
    for kind in HALVES:
        knn_k[kind], _ = select_k(
            held_out,
            half_mask(kind, rng=5),
            x_train[:-1000],
            (1, 2, 3, 5, 10, 20, 50),
            lambda filled: np.mean(clf.predict(filled) == held_labels),
        )
    v_test, labels = binarize(x_test[:n_img], rng=0), y_test[:n_img]
    rows, versus = [], []
    for name in ("cd1-400", "best"):
        scored, pred = score_recall(
            ctx["models"][name],
            v_test,
            labels,
            classifier=clf,
            mean_image=x_train.mean(axis=0) / 255,
            knn_bank=x_train,
            knn_k=knn_k,
            rng=7,
            return_predictions=True,
            **settings,
        )
        rows += [{"model": name, **r} for r in scored]
        acc = {(r["kind"], r["method"]): r for r in scored}
        for kind in HALVES:
            d = paired_difference(pred[kind, "rbm_mean"], pred[kind, "knn"], labels)
            versus.append(
                {
                    "model": name,
                    "dropped": kind,
                    "k": knn_k[kind],
                    "RBM (posterior mean) accuracy": acc[kind, "rbm_mean"]["accuracy"],
                    "RBM (vote) accuracy": acc[kind, "rbm_vote"]["accuracy"],
                    "k-NN accuracy": acc[kind, "knn"]["accuracy"],
                    "difference (mean - k-NN)": d["difference"],
                    "95% low": d["low"],
                    "95% high": d["high"],
                    "RBM pixel error": acc[kind, "rbm_mean"]["pixel_error"],
                    "k-NN pixel error": acc[kind, "knn"]["pixel_error"],
                }
            )
    out["recall"] = rows
    out["recall_vs_knn"] = versus
    print(Table(rows, floatfmt=".3f").render("github"), "\n")
    print(Table(versus, floatfmt=".3f").render("github"), "\n")


def section_discrimination(ctx, out):
    n_img = ctx["n_img"]
    print(
        f"## 5. Discrimination ({n_img} images per comparison set, the book's seed 77; the 10,000 test digits "
        "split at random into calibration and evaluation halves; batch tests on batches of 5, 5 % false alarms)\n"
    )
    others = comparison_sets(n_img, rng=77)
    digits = binarized_test_set()
    auroc_rows, batch_rows = [], []
    for name in ("cd1-400", "best"):
        rbm = ctx["models"][name]
        log_z = nbtools.cached_evaluation(rbm, ctx["x_test"], ctx["x_train"], **ctx["ais"])["log_z.log_z"]
        rep = discrimination_report(rbm, digits, others, ctx["x_train"], log_z=log_z, template="4", rng=0)
        fe = rep["scores"]["digits"]["log_likelihood"][rep["evaluation"]]
        per_score = {}
        for r in rep["auroc"]:
            per_score.setdefault(r["score"], {"model": name, "score": r["score"]})[r["set"]] = r["auroc"]
        per_score["log_likelihood"]["mean log p(digit), evaluation half"] = float(fe.mean())
        auroc_rows += list(per_score.values())
        per_test = {}
        for r in rep["batch"]:
            key = (r["score"], r["test"])
            per_test.setdefault(key, {"model": name, "score": r["score"], "test": r["test"]})[r["set"]] = r["rejected"]
        batch_rows += list(per_test.values())
    out["discrimination_auroc"] = auroc_rows
    out["discrimination_batches"] = batch_rows
    print("AUROC per image (evaluation digits against each set)\n")
    print(Table(auroc_rows, floatfmt=".4f").render("github"), "\n")
    print("Fraction of random batches of 5 rejected ('digits': false alarms on evaluation digits)\n")
    print(Table(batch_rows, floatfmt=".4f").render("github"), "\n")


SECTIONS = {
    1: section_exact_ll,
    2: section_log_likelihood,
    3: section_samples,
    4: section_recall,
    5: section_discrimination,
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="also write all numbers to this JSON file")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sections", type=int, nargs="+", default=sorted(SECTIONS), choices=sorted(SECTIONS))
    args = p.parse_args(argv)
    q = args.quick
    t_start = time.time()
    x_train, y_train = load_mnist("train")
    x_test, y_test = load_mnist("test")
    ctx = {
        "x_train": x_train,
        "y_train": y_train,
        "x_test": x_test,
        "y_test": y_test,
        "models": {name: book_model(name, progress=False) for name in ("cd1-10", "cd1-400", "pcd64", "best")},
        "clf": load_classifier(),
        "n_chains": 200 if q else 1000,
        "steps": (100, 1000) if q else (100, 1000, 10000),
        "pt_steps": (100, 300) if q else (100, 1000),
        "n_img": 200 if q else 1000,
        "ais": dict(rng=0, ais_runs=100, ais_betas=2000 if q else 14500, ais_seeds=2 if q else 3, reverse=True),
    }
    out: dict = {}
    for number in args.sections:
        SECTIONS[number](ctx, out)
    print(f"(report took {time.time() - t_start:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
