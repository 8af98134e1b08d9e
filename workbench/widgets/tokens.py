"""Tokens widget: a text box whose text is re-tokenized by the view (`TokensView.with_text`)."""
from __future__ import annotations

import traitlets

from ._anywidget import ViewWidget, renderer


class TokensWidget(ViewWidget):
    _esm = renderer("tokens")["_esm"]
    _css = renderer("tokens")["_css"]
    text = traitlets.Unicode("").tag(sync=True)

    @traitlets.observe("text")
    def _retokenize(self, change) -> None:
        if change["new"] != self.view.text:
            self.view = self.view.with_text(change["new"], self.view.text_pair)
            self.view._widget = self  # the new view's widget() is this one, not a fresh unlinked copy
            self.selected = -1  # positions of the old text mean nothing in the new one
            self.state = self.view.traits()["state"]


def widget_for(view) -> TokensWidget:
    return TokensWidget(view)
