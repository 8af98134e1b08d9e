"""The base of the view widgets: an AnyWidget whose ES module and CSS are the view's renderer files."""
from __future__ import annotations

import anywidget
import traitlets

from ..views.base import script, stylesheet


class ViewWidget(anywidget.AnyWidget):
    """`state` is the view's JSON; subclasses add binary (`traitlets.Bytes`) and interactive traits."""

    state = traitlets.Dict().tag(sync=True)
    live = traitlets.Bool(True).tag(sync=True)  # a kernel is behind it (the exported page sets False)

    def __init__(self, view, **traits):
        self.view = view
        super().__init__(**{**view.traits(), **traits})


def renderer(kind: str) -> dict:
    """Class attributes `_esm` and `_css` for the widget of a view kind."""
    return {"_esm": script(kind), "_css": stylesheet()}
