"""The committed models, loaded by name and checked against their provenance records.

``rbmlib/models/<name>.npz`` holds a model trained with ``python -m rbmlib train --recipe
<name>``; ``<name>.json`` beside it records the command, seed, commit, configuration,
training time and the file's SHA-256. :func:`load_pretrained` refuses a file whose digest
does not match its record: it never trains a replacement behind the caller's back (the
course book asks for that explicitly, :func:`rbmlib.book.zoo.book_model`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .model import RBM, ModelFileError

__all__ = ["MODELS_DIR", "PRETRAINED", "load_pretrained", "pretrained_record"]

#: Folder of the committed models: ``<name>.npz`` with its provenance record ``<name>.json``.
MODELS_DIR = Path(__file__).resolve().parent / "models"

#: The committed models: ``best`` (the strongest by test log-likelihood), ``pcd64`` (the
#: previous best, kept for comparison) and ``equilibrium`` (``best`` continued with the
#: negative phase the recipe search chose for the class mix of its chains).
PRETRAINED = ("best", "pcd64", "equilibrium")


def pretrained_record(name: str) -> dict:
    """The provenance record of the committed model ``name`` (``MODELS_DIR/<name>.json``).

    Raises
    ------
    ValueError
        An unknown name.
    ModelFileError
        A missing or unreadable record.
    """
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained model {name!r}; choose one of {', '.join(PRETRAINED)}")
    path = MODELS_DIR / f"{name}.json"
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{path}: the provenance record of {name!r} is missing") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path}: unreadable provenance record ({err})") from None
    if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
        raise ModelFileError(f"{path}: the provenance record has no SHA-256")
    return record


def load_pretrained(name: str = "best") -> RBM:
    """Load the committed model ``name``, checked against the SHA-256 in its provenance record.

    Parameters
    ----------
    name : {"best", "pcd64", "equilibrium"}

    Returns
    -------
    RBM
        With the provenance record in ``metadata["provenance"]``.

    Raises
    ------
    ValueError
        An unknown name.
    ModelFileError
        The file or its record is missing, or the file's SHA-256 differs from the record's
        (a corrupt or replaced file); the message says how to retrain it.
    """
    record = pretrained_record(name)
    path = MODELS_DIR / f"{name}.npz"
    if not path.is_file():
        raise ModelFileError(f"{path}: the committed model {name!r} is missing")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != record["sha256"]:
        command = record.get("command", f"python -m rbmlib train --recipe {name}")
        raise ModelFileError(
            f"{path}: SHA-256 {digest[:12]}... does not match {record['sha256'][:12]}... in {name}.json "
            f"(corrupt or replaced); retrain it with: {command}"
        )
    rbm = RBM.load(path)
    rbm.metadata["provenance"] = record
    return rbm
