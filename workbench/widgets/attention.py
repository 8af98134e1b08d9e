"""Attention widget: the packed weights as bytes, the layer / heads / threshold / mode choices as traits."""
from __future__ import annotations

import traitlets

from ._anywidget import ViewWidget, renderer


class AttentionWidget(ViewWidget):
    _esm = renderer("attention")["_esm"]
    _css = renderer("attention")["_css"]
    weights = traitlets.Bytes(b"").tag(sync=True)  # see workbench.views.attention.compact_attention
    layer = traitlets.Int(0).tag(sync=True)
    heads = traitlets.List(traitlets.Int()).tag(sync=True)
    threshold = traitlets.Float(0.0).tag(sync=True)
    mode = traitlets.Enum(["head", "model"], "head").tag(sync=True)
    direction = traitlets.Enum(["all", "AB", "BA", "AA", "BB"], "all").tag(sync=True)

    @traitlets.validate("layer")
    def _computed_layer(self, proposal):
        if proposal["value"] not in self.state.get("layers", [proposal["value"]]):
            raise traitlets.TraitError(f"layer {proposal['value']} was not computed; choose one of {self.state['layers']}")
        return proposal["value"]

    @traitlets.observe("layer", "heads", "threshold", "mode")
    def _remember(self, change) -> None:  # so that view.save("x.png") draws what the widget shows
        setattr(self.view, change["name"], change["new"])


def widget_for(view) -> AttentionWidget:
    return AttentionWidget(view)
