"""Widgets: thin anywidget wiring around the pure views in `workbench.views` (no maths here).

Each view has its own module (`tokens`, `attention`, `logit_lens`, `generation`) with a `widget_for(view)`
factory and a JS renderer next to it. Names are imported on first use so `import workbench` stays light.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "TokensWidget": "workbench.widgets.tokens",
    "AttentionWidget": "workbench.widgets.attention",
    "LogitLensWidget": "workbench.widgets.logit_lens",
    "GenerationWidget": "workbench.widgets.generation",
    "TrainingPanel": "workbench.widgets.training",
    "Workbench": "workbench.widgets.app",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workbench.widgets' has no attribute {name!r}")
