"""Hook points: identity modules that name an activation so it can be read or changed on demand.

Every model places `HookPoint`s at the activations worth looking at; each one's dotted module path is its
stable name, e.g. `bert.encoder.layer.3.attention.self.hook_pattern  # [B, H, T, S]`. With no hook
attached a HookPoint costs one Python call and changes nothing. Attention modules look at
`hook_pattern.active` to decide whether to compute attention weights at all (SDPA otherwise).

    with model.capture("*.hook_pattern") as cache:     # glob patterns over hook names
        model(**enc)
    cache["bert.encoder.layer.0.attention.self.hook_pattern"]   # [B, H, T, T]

    with model.hooks({"*.layer.2.hook_out": lambda x, hook: x * 0}):   # edit an activation
        model(**enc)
"""
from __future__ import annotations

import fnmatch
from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn

HookFn = Callable[[torch.Tensor, "HookPoint"], "torch.Tensor | None"]


class HookPoint(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.name = ""  # set by HookedModel.name_hook_points() to the module's dotted path
        self._fns: list[HookFn] = []

    @property
    def active(self) -> bool:
        return bool(self._fns)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for fn in self._fns:
            replaced = fn(x, self)
            if replaced is not None:
                x = replaced
        return x


class HookedModel(nn.Module):
    """Mixin for a model: find its hook points by glob pattern, attach functions, capture activations."""

    def name_hook_points(self) -> None:
        for name, module in self.named_modules():
            if isinstance(module, HookPoint):
                module.name = name

    def hook_points(self, pattern: str = "*") -> dict[str, HookPoint]:
        found = {name: m for name, m in self.named_modules() if isinstance(m, HookPoint)}
        return {name: m for name, m in found.items() if fnmatch.fnmatchcase(name, pattern)}

    def _matching(self, pattern: str) -> dict[str, HookPoint]:
        matched = self.hook_points(pattern)
        if not matched:
            examples = ", ".join(list(self.hook_points())[:4])
            raise KeyError(f"No hook point matches {pattern!r}; names look like: {examples}, ...")
        return matched

    @contextmanager
    def hooks(self, fns: dict[str, HookFn]) -> Iterator[None]:
        """Attach `{pattern: fn(x, hook) -> x or None}` for the duration of the block; always removed."""
        attached: list[tuple[HookPoint, HookFn]] = []
        try:
            for pattern, fn in fns.items():
                for point in self._matching(pattern).values():
                    point._fns.append(fn)
                    attached.append((point, fn))
            yield
        finally:
            for point, fn in attached:
                point._fns.remove(fn)

    @contextmanager
    def capture(self, *patterns: str) -> Iterator[dict[str, torch.Tensor]]:
        """Record (detached) activations of every hook point matching the patterns during the block."""
        cache: dict[str, torch.Tensor] = {}

        def record(x: torch.Tensor, hook: HookPoint) -> None:
            cache[hook.name] = x.detach()

        with self.hooks({pattern: record for pattern in patterns or ("*",)}):
            yield cache
