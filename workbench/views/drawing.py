"""matplotlib drawing shared by the views' PNG form (no browser needed).

Fonts: DejaVu Sans has no Hangul or CJK; any installed font that does (Nanum, Noto CJK, ...) is added as
a fallback so Korean prints as Hangul. Without one, matplotlib draws boxes and the text stays in the HTML.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

from .text import say

PALETTE = ["#fde68a", "#bfdbfe", "#bbf7d0", "#fbcfe8", "#ddd6fe", "#fed7aa"]  # piece colours, as in views.css
SPECIAL = "#e5e7eb"
PARTIAL = "#fca5a5"
HEAD_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"]
FALLBACK_FONTS = ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR", "Noto Sans KR", "Noto Sans CJK JP",
                  "Source Han Sans K", "UnDotum", "Baekmuk Gulim", "WenQuanYi Zen Hei", "Droid Sans Fallback")


FALLBACK_FILES = ("NanumGothic.ttf", "NanumBarunGothic.ttf", "NotoSansCJK-Regular.ttc", "NotoSansKR-Regular",
                  "wqy-zenhei.ttc", "DroidSansFallbackFull.ttf")


def font_family() -> list[str]:
    """DejaVu Sans, then the installed fallbacks for Hangul/CJK (matplotlib's cache may predate their install)."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    if not installed.intersection(FALLBACK_FONTS):
        for path in font_manager.findSystemFonts():
            if any(path.endswith(name) or name in path for name in FALLBACK_FILES):
                font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *[name for name in FALLBACK_FONTS if name in installed]]


def new_figure(width: float, height: float):
    """A Figure on the Agg canvas, outside pyplot (so a notebook does not also show it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


@contextmanager
def drawing():
    """rcParams for building the views' figures; missing-glyph warnings (emoji) are silenced."""
    import matplotlib

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Gg]lyph.*missing.*")
        warnings.filterwarnings("ignore", message=".*does not have a glyph.*")
        with matplotlib.rc_context({"font.family": font_family(), "font.size": 10, "axes.unicode_minus": False}):
            yield


def token_rows_figure(rows: list[tuple[str, list[dict]]], width: float = 10.0, row_height: float = 0.42):
    """Rows of coloured token boxes, wrapped to `width` inches; each row has a heading.

    cell: {"label", "caption" (small text below), "special", "partial", "gap" (space before the box),
    "colour" (optional, overrides the palette)}.
    """
    with drawing():
        figure = new_figure(width, 1.0)
        renderer = figure.canvas.get_renderer()
        dpi = figure.dpi
        margin, gap, line = 0.1, 0.08, row_height + 0.22  # inches
        placed, y = [], 0.0  # (x, y, text kwargs) in inches from the top-left
        for heading, cells in rows:
            placed.append(("heading", margin, y, heading, None))
            y += 0.32
            x = margin
            for i, cell in enumerate(cells):
                w = 0.0
                for text, size in ((cell["label"], 11), (cell.get("caption") or "", 7)):
                    probe = figure.text(0, 0, text, fontsize=size)
                    w = max(w, probe.get_window_extent(renderer).width / dpi + 0.12)
                    probe.remove()
                step = (gap if cell.get("gap", True) else 0.015)
                if x + step + w > width - margin and x > margin:
                    x, y = margin, y + line
                x += step
                colour = cell.get("colour") or (SPECIAL if cell.get("special") else PALETTE[i % len(PALETTE)])
                placed.append(("cell", x, y, cell, colour))
                x += w
            y += line + 0.15
        height = y + 0.1
        figure.set_size_inches(width, height)
        for kind, x, top, content, colour in placed:
            fx, fy = x / width, 1 - top / height
            if kind == "heading":
                figure.text(fx, fy - 0.18 / height, content, fontsize=10.5, color="#111827", va="center")
                continue
            edge = "#dc2626" if content.get("partial") else ("#9ca3af" if content.get("special") else "none")
            figure.text(fx, fy - 0.2 / height, content["label"], fontsize=11, va="center", ha="left",
                        bbox=dict(boxstyle="round,pad=0.18", facecolor=colour, edgecolor=edge,
                                  linestyle="--" if content.get("special") else "-"))
            if content.get("caption"):
                figure.text(fx + 0.02 / width, fy - 0.47 / height, content["caption"], fontsize=7, color="#4b5563",
                            va="center", ha="left")
        return figure


def head_view_figure(weights, labels: list[str], heads: list[int], threshold: float = 0.0, title: str = ""):
    """Lines from each query token (left) to the key tokens (right) it attends to; one colour per head.

    weights: [H, T, S] of one layer; a line's opacity is its weight.
    """
    import numpy as np
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgba

    T, S = weights.shape[1], weights.shape[2]
    height = max(2.0, 0.22 * max(T, S) + 0.6)
    with drawing():
        figure = new_figure(6.0, height)
        axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
        axes.set_xlim(0, 1)
        axes.set_ylim(max(T, S), -1)
        axes.axis("off")
        for i, label in enumerate(labels[:T]):
            axes.text(0.33, i, label, ha="right", va="center", fontsize=9)
        for j, label in enumerate(labels[:S]):
            axes.text(0.67, j, label, ha="left", va="center", fontsize=9)
        for h in heads:
            rows, cols = np.nonzero(weights[h] >= max(threshold, 1e-3))
            strength = weights[h][rows, cols]
            segments = [((0.34, r), (0.66, c)) for r, c in zip(rows, cols)]
            base = to_rgba(HEAD_COLOURS[h % len(HEAD_COLOURS)])
            fade = min(1.0, 3.0 / len(heads))  # many heads at once: fainter lines, as the browser draws them
            colours = [(base[0], base[1], base[2], float(min(1.0, s) * fade)) for s in strength]
            axes.add_collection(LineCollection(segments, colors=colours, linewidths=1.5))
        if title:
            axes.set_title(title, fontsize=10)
        return figure


def attention_grid_figure(weights, layers: list[int], labels: list[str], lang: str = "en"):
    """Model view: one heatmap per (layer, head); rows are layers, columns heads."""
    L, H = weights.shape[0], weights.shape[1]
    with drawing():
        figure = new_figure(min(1.1 * H + 0.8, 16), min(1.1 * L + 0.6, 20))
        grid = figure.subplots(L, H, squeeze=False)
        for li in range(L):
            for h in range(H):
                axes = grid[li][h]
                axes.imshow(weights[li, h], cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
                axes.set_xticks([])
                axes.set_yticks([])
                if li == 0:
                    axes.set_title(say(lang, "head", head=h), fontsize=8)
                if h == 0:
                    axes.set_ylabel(say(lang, "layer", layer=layers[li]), fontsize=8)
        figure.suptitle(say(lang, "figure_grid", count=len(labels)), fontsize=10)
        return figure


def lens_figure(top_probs, top_labels: list[list[str]], columns: list[str], rows: list[str], next_token: bool,
                title: str = "", lang: str = "en"):
    """Logit lens table: rows are layers, columns positions; each cell the top prediction, coloured by probability."""
    L, T = top_probs.shape
    with drawing():
        figure = new_figure(min(1.0 * T + 1.5, 24), min(0.32 * L + 1.4, 24))
        axes = figure.add_subplot(1, 1, 1)
        image = axes.imshow(top_probs, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        for layer in range(L):
            for position in range(T):
                axes.text(position, layer, top_labels[layer][position][:10], ha="center", va="center", fontsize=7)
        axes.set_xticks(range(T), [("→ " if next_token else "") + c for c in columns], rotation=45, ha="right", fontsize=8)
        axes.set_yticks(range(L), rows, fontsize=8)
        axes.set_xlabel(say(lang, "figure_lens_next" if next_token else "figure_lens_same"), fontsize=8)
        figure.colorbar(image, ax=axes, fraction=0.03, label=say(lang, "figure_probability"))
        if title:
            axes.set_title(title, fontsize=10)
        return figure
