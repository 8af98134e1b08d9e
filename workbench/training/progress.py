"""Where a run reports progress: a notebook kernel (the live panel) or plain printed lines."""
from __future__ import annotations

import math
import sys
import time


def in_notebook_kernel() -> bool:
    """True inside a Jupyter kernel (a front end may show widgets); False in a script or plain IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def format_seconds(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def progress_line(progress: dict) -> str:
    """'step 12/50 · epoch 0.48/2 · 0:14 elapsed, ~0:44 left · loss 1.234 · eval_accuracy 0.812'."""
    parts = [f"step {progress['step']}/{progress['total_steps']}",
             f"epoch {progress['epoch']:.2f}/{progress['epochs']:g}",
             f"{format_seconds(progress['elapsed'])} elapsed, ~{format_seconds(progress['eta'])} left"]
    metrics = progress["metrics"]
    for name in ("loss", "eval_loss", "eval_accuracy", "eval_f1"):
        if name in metrics:
            parts.append(f"{name} {metrics[name]:.4g}")
    return " · ".join(parts)


class PrintedProgress:
    """Prints a line every ~10% of the steps, after each evaluation and at the end (no front end needed)."""

    def __init__(self, run, stream=None, min_interval: float = 2.0):
        self.run = run
        self.stream = stream or sys.stdout
        self.min_interval = min_interval
        self._last_print = 0.0

    def __call__(self, record: dict | None) -> None:
        progress = self.run.progress()
        if record is None:
            state = self.run.status
            detail = f": {progress['message']}" if progress["message"] else ""
            if state == "stopped" and self.run.checkpoint:
                detail += f" (checkpoint: {self.run.checkpoint})"
            print(f"fine_tune {state}{detail} — {progress_line(progress)}", file=self.stream, flush=True)
            return
        every = max(1, progress["total_steps"] // 10)
        evaluated = any(k.startswith("eval_") for k in record)
        now = time.monotonic()
        if evaluated or (record["step"] % every == 0 and now - self._last_print >= self.min_interval):
            self._last_print = now
            print(progress_line(progress), file=self.stream, flush=True)
