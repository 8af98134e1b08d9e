"""The base of the view widgets: an AnyWidget whose ES module and CSS are the view's renderer files."""
from __future__ import annotations

import anywidget
import traitlets

from ..views.base import script, stylesheet
from ..views.linking import view_anchors
from ..views.text import LANGUAGES


class ViewWidget(anywidget.AnyWidget):
    """`state` is the view's JSON; subclasses add binary (`traitlets.Bytes`) and interactive traits.

    `selected` is the selected token, a position in the view's token sequence (see `workbench.views.linking`;
    -1 = none). A click on a token sets it; setting it from Python marks the token in the view.

    `lang` is the language of the view's texts ("en" | "ko"; the view's own `lang` at first): the JS draws its
    labels from its table in that language, and a change redraws the view in the other language."""

    state = traitlets.Dict().tag(sync=True)
    live = traitlets.Bool(True).tag(sync=True)  # a kernel is behind it (the exported page sets False)
    selected = traitlets.Int(-1).tag(sync=True)
    lang = traitlets.Enum(LANGUAGES, "en").tag(sync=True)

    def __init__(self, view, **traits):
        self.view = view
        super().__init__(**{**view.traits(), "lang": view.lang, **traits})

    @traitlets.observe("lang")
    def _speak(self, change) -> None:
        """The texts made in Python (tokenizer notes, layer names) follow the language, and so does the view."""
        if change["new"] != self.view.lang:
            self.view.lang = change["new"]
            self.state = self.view.traits()["state"]

    def positions(self) -> int:
        """How many token positions the view has (what `selected` may point at)."""
        return len(view_anchors(self.view))

    @traitlets.validate("selected")
    def _a_position_of_the_view(self, proposal):
        position, count = proposal["value"], self.positions()
        if not -1 <= position < count:
            raise traitlets.TraitError(f"selected={position} is not a token of this view; use -1 (none) or a "
                                       f"position from 0 to {count - 1}.")
        return position


def renderer(kind: str) -> dict:
    """Class attributes `_esm` and `_css` for the widget of a view kind."""
    return {"_esm": script(kind), "_css": stylesheet()}
