"""View widgets without a browser: instantiate, change traits from Python and 'from the front end', check the
state the comm would sync (binary buffers for attention), and that widget code stays wiring."""
import math
import re
from pathlib import Path

import numpy as np
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

import workbench as wb
from workbench.views.attention import AttentionView, expand_attention, show_attention
from workbench.generation import GenerationStep
from workbench.views.generation import GenerationView, Step
from workbench.views.tokens import Piece
from workbench.widgets.attention import AttentionWidget
from workbench.widgets.tokens import TokensWidget

WIDGETS = Path(wb.__file__).parent / "widgets"


def recorded(widget) -> list:
    """Replace the (dummy) comm's send with a recorder of the messages the front end would get."""
    messages = []
    widget.comm.send = lambda data=None, buffers=None, **_: messages.append((data, buffers))
    return messages


def pieces(n: int) -> list[Piece]:
    return [Piece(index=i, id=100 + i, piece=f"p{i}", label=f"p{i}", start=i, end=i + 1, sequence=0, word=i)
            for i in range(n)]


def test_tokens_widget_retokenizes_when_the_text_changes(minilm_dir):
    view = wb.show_tokens("hello", tokenizer=minilm_dir)
    widget = view.widget()
    assert isinstance(widget, TokensWidget) and widget is view.widget()
    assert [p["piece"] for p in widget.state["tokenizations"][0]["pieces"]] == ["[CLS]", "hello", "[SEP]"]
    messages = recorded(widget)
    widget.set_state({"text": "unaffable <img src=x onerror=alert(1)>"})  # as the JS text box does
    pieces_now = [p["piece"] for p in widget.state["tokenizations"][0]["pieces"]]
    assert pieces_now[:4] == ["[CLS]", "una", "##ffa", "##ble"] and "<" in pieces_now
    synced = [data["state"] for data, _ in messages if "state" in data["state"]]
    assert synced and synced[-1]["state"]["text"] == "unaffable <img src=x onerror=alert(1)>"
    bundle = view._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    assert data["text/plain"].startswith("<TokensView")


def test_attention_widget_sends_weights_as_a_binary_buffer():
    weights = np.random.default_rng(0).dirichlet(np.ones(5), size=(2, 3, 5)).astype(np.float32)
    view = AttentionView(pieces(5), weights, [1, 4], floor=0.0)
    widget = view.widget()
    assert isinstance(widget, AttentionWidget)
    state, paths, buffers = _remove_buffers(widget.get_state())
    assert paths == [["weights"]] and "weights" not in state
    np.testing.assert_allclose(expand_attention(bytes(buffers[0]), weights.shape), weights, atol=0.5 / 255 + 1e-7)
    assert state["state"]["layers"] == [1, 4] and state["state"]["n_heads"] == 3 and state["heads"] == [0, 1, 2]

    messages = recorded(widget)
    widget.layer = 4
    widget.heads = [2]
    assert [data["state"] for data, _ in messages] == [{"layer": 4}, {"heads": [2]}]
    assert view.layer == 4 and view.heads == [2]  # so save("x.png") draws what the widget shows
    widget.set_state({"mode": "model", "threshold": 0.2})  # a click in the model view / the slider
    assert view.mode == "model" and view.threshold == 0.2
    with pytest.raises(traitlets.TraitError, match="not computed"):
        widget.layer = 2
    with pytest.raises(traitlets.TraitError):
        widget.mode = "sideways"


def test_attention_widget_on_minilm_pairs(minilm_dir):
    view = show_attention("The cat sat.", model=minilm_dir, text_pair="It purred.", layers=[0, 5])
    widget = view.widget()
    assert widget.state["pair"] is True and widget.layer == 0
    assert [t["sequence"] for t in widget.state["tokens"]].count(1) == 4
    widget.direction = "AB"
    assert widget.get_state()["direction"] == "AB"


def test_generation_widget_follows_the_stream():
    label = {1: "Hello", 2: "␣world", 3: "!"}.get
    view = GenerationView(pieces(2), label, name="tiny")
    widget = view.widget()
    messages = recorded(widget)
    steps = [Step(1, "Hello", math.log(0.5), [(1, math.log(0.5)), (3, math.log(0.2))]),
             GenerationStep(index=1, token_id=2, token="Ġworld", text=" world", logprob=math.log(0.25), top_ids=[2],
                            top_probs=[0.25])]
    view.consume(iter(steps), background=True).wait(10)
    assert view.done and view.text == "Hello world"
    assert [s["prob"] for s in widget.state["steps"]] == [0.5, 0.25]
    assert widget.state["steps"][0]["alternatives"] == [["Hello", 0.5, True], ["!", 0.2, False]]
    assert len(messages) >= 3  # one update per step and one at the end


def test_generation_errors_show_in_the_view():
    def broken():
        yield Step(1, "a", 0.0)
        raise RuntimeError("out of memory")

    view = GenerationView([], str).consume(broken(), background=True).wait(10)
    assert view.done and view.error == "RuntimeError: out of memory" and view.traits()["state"]["error"]


def test_widget_files_hold_wiring_only():
    for path in WIDGETS.glob("*.py"):
        source = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(torch|numpy)\b", source, re.M), path.name
    for path in WIDGETS.glob("*.js"):
        source = path.read_text()
        assert "innerHTML" not in source and "insertAdjacentHTML" not in source and "eval(" not in source, path.name
        assert not re.search(r"https?://|import\s*\(|^import ", source, re.M), path.name
