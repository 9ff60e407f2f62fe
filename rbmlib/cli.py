"""Command line: ``python -m rbmlib train | sample | evaluate``.

Every command has ``--help``. Bad arguments and unreadable or invalid files end with a
one-line ``rbmlib: error: ...`` message and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ._io import atomic_savez
from .data import TEST_BINARIZE_SEED, DataError, binarize_fixed, load_mnist
from .evaluate import MAX_EXACT_UNITS, evaluate_model
from .model import RBM, ModelFileError
from .sampling import sample
from .train import RECIPES, TrainConfig, fit, recipe
from .validation import check_int

try:  # the evaluation kit needs scikit-learn (the ``metrics`` extra); evaluate reports without it
    from .metrics.discrimination import comparison_sets, discrimination_report
except ImportError:  # pragma: no cover - rbmlib installed without the extra
    comparison_sets = discrimination_report = None

#: Scores, comparison-set size and seed of ``evaluate``'s cheap discrimination numbers.
CLI_DISCRIMINATION = {"scores": ("log_likelihood", "ratio_context", "combined"), "n_per_set": 1000, "seed": 0}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write(f"rbmlib: error: {message} (see --help)\n")
        raise SystemExit(2)


def _positive_int(text):
    try:
        return check_int(int(text), "value")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None


def _nonneg_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m rbmlib", description="Train, sample and evaluate binary RBMs on MNIST.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser(
        "train",
        help="train an RBM on MNIST",
        description="Train an RBM on the 60,000 MNIST training images, binarised afresh "
        "each time they are used. Flags override the recipe's settings.",
    )
    t.add_argument("--recipe", choices=sorted(RECIPES), help="start from a named recipe (e.g. 'best')")
    t.add_argument("--hidden", type=_positive_int, help="number of hidden units (default 10)")
    t.add_argument("--epochs", type=_positive_int, help="number of epochs (default 10)")
    t.add_argument("--method", choices=["cd", "pcd"], help="CD-k or persistent CD-k (default cd)")
    t.add_argument("--k", type=_positive_int, help="Gibbs steps per update (default 1)")
    t.add_argument(
        "--n-chains", "--chains", type=_positive_int, help="persistent chains for pcd (default: the batch size)"
    )
    t.add_argument("--lr", type=_nonneg_float, help="learning rate (default 0.1)")
    t.add_argument("--batch-size", type=_positive_int, help="minibatch size (default 64)")
    t.add_argument("--momentum", type=_nonneg_float)
    t.add_argument("--weight-decay", type=_nonneg_float)
    t.add_argument("--lr-schedule", choices=["constant", "linear", "cosine"])
    t.add_argument("--centering", action=argparse.BooleanOptionalAction, default=None)
    t.add_argument("--init-visible-bias", action=argparse.BooleanOptionalAction, default=None)
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--out", required=True, type=Path, help="output model file (.npz)")
    t.add_argument("--checkpoint", type=Path, help="checkpoint file written after every epoch")
    t.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    t.add_argument("--data-dir", type=Path, help="MNIST folder (default: $RBMLIB_DATA or the cache)")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    s = sub.add_parser(
        "sample",
        help="draw samples with Gibbs chains or parallel tempering",
        description="Run --n-chains chains from random visible states for --steps sweeps; save the final samples "
        "(v, bool) and visible probabilities (p). --method gibbs is plain block Gibbs (the assignment's "
        "way); --method pt is parallel tempering from the MNIST pixel-means model to the RBM, with a "
        "ladder tuned for a swap acceptance of about 0.3 (--n-chains tempered systems, each giving one chain).",
    )
    s.add_argument("--model", required=True, type=Path)
    s.add_argument("--n-chains", "--n", type=_positive_int, default=1000, help="chains (default 1000)")
    s.add_argument("--steps", type=_positive_int, default=1000, help="sweeps of every chain (default 1000)")
    s.add_argument("--method", choices=["gibbs", "pt"], default="gibbs", help="sampler (default gibbs)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True, type=Path)
    s.add_argument("--data-dir", type=Path, help="MNIST folder, for the PT base (default: $RBMLIB_DATA or the cache)")

    e = sub.add_parser(
        "evaluate",
        help="log Z and test log-likelihood as JSON",
        description=f"Print JSON with log Z (exact when the smaller layer has at most "
        f"{MAX_EXACT_UNITS} units, AIS otherwise) and "
        "the average log-likelihood of the MNIST test set, binarised once with "
        f"seed {TEST_BINARIZE_SEED}; with the evaluation kit installed, also how well the model "
        "tells test digits from noise and letters (AUROC per image, rejection of batches of 5; "
        "rbmlib.metrics.discrimination).",
    )
    e.add_argument("--model", required=True, type=Path)
    e.add_argument("--seed", type=int, default=0, help="AIS seed (default 0)")
    e.add_argument("--ais-runs", type=_positive_int, default=100)
    e.add_argument("--ais-betas", type=_positive_int, default=14500)
    e.add_argument(
        "--ais-seeds", type=_positive_int, default=1, help="repeat AIS with this many seeds and report the spread"
    )
    e.add_argument(
        "--reverse",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run reverse AIS for a pessimistic bound (AIS only; default on)",
    )
    e.add_argument(
        "--discrimination",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also score digits against 1000 images each of noise and letters (a few seconds; default on)",
    )
    e.add_argument("--data-dir", type=Path)
    return p


def _train(args) -> int:
    base = recipe(args.recipe or "assignment")
    overrides = {
        "epochs": args.epochs,
        "method": args.method,
        "k": args.k,
        "n_chains": args.n_chains,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "momentum": args.momentum,
        "weight_decay": args.weight_decay,
        "lr_schedule": args.lr_schedule,
        "centering": args.centering,
        "init_visible_bias": args.init_visible_bias,
    }
    config: TrainConfig = base.config.replace(**{k: v for k, v in overrides.items() if v is not None})
    if args.resume and args.checkpoint is None:
        raise ValueError("--resume needs --checkpoint")
    images, _ = load_mnist("train", data_dir=args.data_dir)
    held, _ = load_mnist("test", data_dir=args.data_dir)
    rbm = RBM(images.shape[1], args.hidden or base.n_hidden, rng=args.seed)
    record = {"recipe": args.recipe, "seed": args.seed}
    try:
        history = fit(
            rbm,
            images,
            config,
            rng=args.seed,
            held_out=held,
            checkpoint=args.checkpoint,
            resume=args.resume,
            progress=not args.no_progress,
        )
        if base.then is not None:  # a second stage with another negative phase (e.g. ``equilibrium``)
            record["then"] = base.then.to_dict()
            base.then.run(rbm, images, rng=args.seed, progress=not args.no_progress)
    except KeyboardInterrupt:
        rbm.save(args.out, record)
        done = len(rbm.metadata.get("history", []))
        print(f"interrupted: saved the last completed epoch ({done}) to {args.out}", file=sys.stderr)
        return 130
    rbm.save(args.out, record)
    summary = {
        "out": str(args.out),
        "epochs": history[-1]["epoch"],
        "recon_error": history[-1]["recon_error"],
        "seconds_per_epoch": float(np.mean([r["seconds"] for r in history])),
    }
    if base.then is not None:
        later = rbm.metadata["phases"][-1]["history"]
        summary.update(then=base.then.phase, then_epochs=len(later), then_seconds=sum(r["seconds"] for r in later))
    print(json.dumps(summary))
    return 0


def _sample(args) -> int:
    rbm = RBM.load(args.model)
    data = load_mnist("train", data_dir=args.data_dir)[0] if args.method == "pt" else None
    if data is not None and data.shape[1] != rbm.n_visible:
        raise ValueError(f"{args.model}: model has {rbm.n_visible} visible units, MNIST needs 784")
    run = sample(rbm, args.n_chains, args.steps, method=args.method, data=data, rng=args.seed)
    atomic_savez(args.out, v=run.samples().astype(bool), p=run.probs().astype(np.float32))
    report = {"out": str(args.out), "n_chains": args.n_chains, "steps": args.steps, "method": args.method}
    if args.method == "pt":
        report.update(replicas=len(run.betas), swap_acceptance_min=float(run.acceptance.min()))
    print(json.dumps(report))
    return 0


def _evaluate(args) -> int:
    rbm = RBM.load(args.model)
    if rbm.n_visible != 784:
        raise ValueError(f"{args.model}: model has {rbm.n_visible} visible units, MNIST needs 784")
    test, _ = load_mnist("test", data_dir=args.data_dir)
    discriminate = args.discrimination and discrimination_report is not None
    need_train = discriminate or min(rbm.n_hidden, rbm.n_visible) > MAX_EXACT_UNITS
    train = load_mnist("train", data_dir=args.data_dir)[0] if need_train else None
    out = evaluate_model(
        rbm,
        test,
        train if min(rbm.n_hidden, rbm.n_visible) > MAX_EXACT_UNITS else None,
        rng=args.seed,
        ais_runs=args.ais_runs,
        ais_betas=args.ais_betas,
        ais_seeds=args.ais_seeds,
        reverse=args.reverse,
    )
    out = {"model": str(args.model), **out}
    if args.discrimination:
        out["discrimination"] = _discrimination(rbm, test, train) if discriminate else None
    print(json.dumps(out, indent=2))
    return 0


def _discrimination(rbm, test, train) -> dict:
    """AUROC per image and rejection of batches of 5 for the cheap scores (no compressors)."""
    cfg = CLI_DISCRIMINATION
    others = comparison_sets(cfg["n_per_set"], rng=cfg["seed"])
    rep = discrimination_report(
        rbm, binarize_fixed(test), others, train, scores=cfg["scores"], n_batches=2000, rng=cfg["seed"]
    )
    auroc = {score: {r["set"]: r["auroc"] for r in rep["auroc"] if r["score"] == score} for score in cfg["scores"]}
    batch = {
        score: {
            test_: {r["set"]: r["rejected"] for r in rep["batch"] if r["score"] == score and r["test"] == test_}
            for test_ in ("two-sided", "one-sided")
        }
        for score in cfg["scores"]
    }
    return {"n_per_set": cfg["n_per_set"], "seed": cfg["seed"], "auroc": auroc, "batch_of_5_rejected": batch}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"train": _train, "sample": _sample, "evaluate": _evaluate}[args.command]
    try:
        return handler(args)
    except (FileNotFoundError, IsADirectoryError, PermissionError, ModelFileError, DataError, ValueError) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        sys.stderr.write(f"rbmlib: error: {msg}\n")
        if isinstance(err, DataError) and len(str(err).splitlines()) > 1:
            sys.stderr.write("\n".join(str(err).splitlines()[1:]) + "\n")
        return 2
