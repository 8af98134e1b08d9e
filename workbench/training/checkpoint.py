"""Training checkpoints: a Hugging Face model folder plus `training_state.pt` (optimizer, step, log, args).

A checkpoint is written to a temporary folder next to its target and then renamed into place, so a
crash or a second Stop never leaves a half-written checkpoint under the real name.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from pathlib import Path

import torch

from ..errors import CheckpointNotFoundError
from .loop import TrainingArgs, TrainState

STATE_FILE = "training_state.pt"


def save_checkpoint(folder: str | Path, model, tokenizer, optimizer, state: TrainState, args: TrainingArgs) -> Path:
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = folder.parent / f".{folder.name}.partial-{uuid.uuid4().hex[:8]}"
    model.save_pretrained(scratch)
    if hasattr(tokenizer, "save_pretrained"):
        tokenizer.save_pretrained(scratch)
    torch.save({"optimizer": optimizer.state_dict(), "state": dataclasses.asdict(state),
                "args": dataclasses.asdict(args)}, scratch / STATE_FILE)
    # a folder cannot be renamed over a non-empty one: move the old one aside first, then drop it
    old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
    if folder.exists():
        os.replace(folder, old)
    os.replace(scratch, folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def load_training_state(folder: str | Path) -> tuple[dict, TrainState, TrainingArgs]:
    """(optimizer state dict, TrainState, TrainingArgs) of a checkpoint written by `save_checkpoint`."""
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        raise CheckpointNotFoundError(
            f"'{folder}' has no {STATE_FILE}; resume_from= needs a folder written by a stopped fine_tune run.")
    saved = torch.load(path, weights_only=True)
    return saved["optimizer"], TrainState(**saved["state"]), TrainingArgs(**saved["args"])
