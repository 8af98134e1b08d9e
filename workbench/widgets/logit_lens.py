"""Logit lens widget: the view's table as JSON state (small: top-k per layer and position)."""
from __future__ import annotations

from ._anywidget import ViewWidget, renderer


class LogitLensWidget(ViewWidget):
    _esm = renderer("logit_lens")["_esm"]
    _css = renderer("logit_lens")["_css"]


def widget_for(view) -> LogitLensWidget:
    return LogitLensWidget(view)
