"""Generation widget: re-reads the view's state after every streamed step."""
from __future__ import annotations

from ._anywidget import ViewWidget, renderer


class GenerationWidget(ViewWidget):
    _esm = renderer("generation")["_esm"]
    _css = renderer("generation")["_css"]

    def __init__(self, view, **traits):
        super().__init__(view, **traits)
        view.subscribe(self._refresh)

    def _refresh(self) -> None:
        self.state = self.view.traits()["state"]


def widget_for(view) -> GenerationWidget:
    return GenerationWidget(view)
