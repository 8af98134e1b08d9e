"""Pictures of a run as PNG bytes (matplotlib's Agg canvas, no pyplot: safe to call from any thread).

loss_curve_png(records, total_steps)  train loss (raw, faint; smoothed, bold), eval loss points, eval accuracy
comparison_png(table)                 confidence before vs after fine-tuning, one pair of bars per text
"""
from __future__ import annotations

import io
import math


def smoothed(values: list[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (TensorBoard's smoothing): early points are not
    dragged towards 0."""
    out, average = [], 0.0
    for i, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight ** i))
    return out


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=80)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def loss_curve_png(records: list[dict], total_steps: int | None = None, title: str = "") -> bytes:
    figure = _figure(6.4, 3.0)
    axes = figure.add_subplot()
    steps = [r["step"] for r in records]
    losses = [r["loss"] for r in records]
    if records:
        axes.plot(steps, losses, color="tab:blue", alpha=0.25, linewidth=1)
        axes.plot(steps, smoothed(losses), color="tab:blue", linewidth=2, label="train loss (smoothed)")
    evals = [r for r in records if not math.isnan(r.get("eval_loss", math.nan))]
    if evals:
        axes.plot([r["step"] for r in evals], [r["eval_loss"] for r in evals], "o-", color="tab:orange",
                  label="eval loss")
        accuracy_axes = axes.twinx()
        accuracy_axes.plot([r["step"] for r in evals], [r["eval_accuracy"] for r in evals], "s--",
                           color="tab:green", label="eval accuracy")
        accuracy_axes.set_ylim(0, 1.02)
        accuracy_axes.set_ylabel("accuracy")
        accuracy_axes.legend(loc="upper right", fontsize=8)
    axes.set_xlim(0, max(total_steps or 0, steps[-1] if steps else 1, 1))
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    if title:
        axes.set_title(title, fontsize=10)
    if records:
        axes.legend(loc="upper left" if not evals else "lower left", fontsize=8)
    axes.grid(alpha=0.3)
    figure.subplots_adjust(left=0.1, right=0.9, bottom=0.16, top=0.9)  # fixed margins: tight_layout costs a draw
    return _png(figure)


def comparison_png(table) -> bytes:
    """table: columns text, before, before_score, after, after_score (from Run.compare)."""
    n = len(table)
    figure = _figure(6.4, 0.5 + 0.45 * max(n, 1))
    axes = figure.add_subplot()
    rows = list(range(n))
    axes.barh([y + 0.2 for y in rows], table["before_score"], height=0.4, color="tab:gray", label="before")
    axes.barh([y - 0.2 for y in rows], table["after_score"], height=0.4, color="tab:blue", label="after")
    for y, (before, after) in enumerate(zip(table["before"], table["after"])):
        axes.text(0.01, y + 0.2, str(before), va="center", fontsize=7, color="white")
        axes.text(0.01, y - 0.2, str(after), va="center", fontsize=7, color="white")
    axes.set_yticks(rows, [t if len(t) <= 40 else t[:37] + "..." for t in map(str, table["text"])], fontsize=7)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("confidence of the predicted label")
    axes.legend(loc="lower right", fontsize=7)
    figure.tight_layout()
    return _png(figure)
