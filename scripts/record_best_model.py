"""Copy a model trained with ``python -m rbmlib train --recipe <name>`` into the package, with provenance.

Usage::

    python -m rbmlib train --recipe best --seed 0 --out build/best.npz
    python scripts/record_best_model.py build/best.npz \
        --command "python -m rbmlib train --recipe best --seed 0 --out build/best.npz"

Writes ``rbmlib/models/<name>.npz`` and ``rbmlib/models/<name>.json`` (command, seed, git
commit, SHA-256, training configuration and time), which :func:`rbmlib.load_pretrained`
checks; ``--name`` defaults to ``best``.
"""

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rbmlib import RBM
from rbmlib.pretrained import MODELS_DIR, PRETRAINED
from rbmlib.train.phased import training_seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path)
    p.add_argument("--command", required=True, help="the exact command that trained the model")
    p.add_argument("--commit", help="git commit of the training code (default: HEAD)")
    p.add_argument("--note", default="")
    p.add_argument("--name", default="best", choices=PRETRAINED)
    args = p.parse_args(argv)
    model_path, record_path = MODELS_DIR / f"{args.name}.npz", MODELS_DIR / f"{args.name}.json"
    rbm = RBM.load(args.model)
    history = rbm.metadata.get("history", [])
    later = [row for stage in rbm.metadata.get("phases", []) for row in stage["history"]]  # a second stage
    commit = (
        args.commit
        or subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    shutil.copyfile(args.model, model_path)
    record = {
        "command": args.command,
        "seed": rbm.metadata.get("seed"),
        "recipe": rbm.metadata.get("recipe") or args.name,
        "commit": commit,
        "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
        "config": rbm.metadata.get("config"),
        "epochs_done": len(history),
        "train_seconds": round(training_seconds(rbm), 1),
        **({"then": rbm.metadata.get("then"), "then_epochs_done": len(later)} if later else {}),
        "note": args.note,
    }
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
