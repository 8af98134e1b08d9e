"""The views on the real SmolLM2-135M-Instruct (GGUF, byte-level BPE, Llama decoder), loaded once."""
import math

import pytest
import torch

import workbench as wb
from workbench.views.generation import GenerationView, Step, labeller
from workbench.views.tokens import backend_of, describe_pieces, scheme_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm(smollm_gguf):
    return wb.load_model(smollm_gguf), wb.load_tokenizer(smollm_gguf)


def test_logit_lens(smollm):
    model, tok = smollm
    view = wb.show_logit_lens("The capital of France is Paris", model=model, tokenizer=tok)
    frame = view.to_dataframe()
    assert frame.layer.max() == model.config.num_hidden_layers and len(frame) == 31 * len(view.pieces)
    last = frame[frame.layer == 30]
    assert last.top_token.iloc[4] == "␣Paris"  # after "is", the real model says " Paris"
    assert last.target_prob.iloc[4] == pytest.approx(last.top_prob.iloc[4])
    with torch.inference_mode():
        logits = model(**tok("The capital of France is Paris", return_tensors="pt")).logits[0]
    assert last.top_id.tolist() == logits.argmax(-1).tolist()  # the last row is the model's own output


def test_decoder_attention_is_causal_and_korean_is_grouped(smollm):
    model, tok = smollm
    view = wb.show_attention("안녕 world", model=model, tokenizer=tok, layers=[0, 29])
    assert view.weights.shape[:2] == (2, model.config.num_attention_heads)
    upper = torch.triu(torch.from_numpy(view.weights), diagonal=1)
    assert float(upper.abs().max()) == 0.0
    grouped = [p for p in view.pieces if p.group is not None]
    assert {p.covers for p in grouped} <= set("안녕") and grouped


def greedy_steps(model, tok, prompt: str, n: int, k: int = 5):
    """Steps made directly from the real model's logits (greedy), independent of workbench.generation."""
    ids = tok(prompt, return_tensors="pt")["input_ids"]
    new, text = [], ""
    for _ in range(n):
        with torch.inference_mode():
            logprobs = torch.log_softmax(model(input_ids=ids).logits[0, -1].float(), dim=-1)
        top = logprobs.topk(k)
        chosen = int(top.indices[0])
        new.append(chosen)
        full = tok.decode(new)
        yield Step(chosen, full[len(text):], float(logprobs[chosen]),
                   [(int(i), float(v)) for i, v in zip(top.indices, top.values)])
        text = full
        ids = torch.cat([ids, torch.tensor([[chosen]])], dim=1)


def test_generation_view_from_real_steps(smollm, tmp_path):
    model, tok = smollm
    prompt = "The capital of France is"
    backend = backend_of(tok)
    pieces = describe_pieces(tok(prompt).encodings[0], [prompt], scheme_of(backend))
    view = GenerationView(pieces, labeller(backend, scheme_of(backend)), name="SmolLM2")
    view.consume(greedy_steps(model, tok, prompt, 4))
    assert view.text.startswith(" Paris")
    state = view.traits()["state"]
    assert state["steps"][0]["token"] == "␣Paris" and state["steps"][0]["alternatives"][0][2] is True
    assert all(0 < s["prob"] <= 1 and s["prob"] == s["alternatives"][0][1] for s in state["steps"])
    assert "".join(p["label"] for p in state["prompt"]) == prompt
    assert view.save(tmp_path / "generation.png").stat().st_size > 3000
    assert "Paris" in view.to_html()


@pytest.fixture(scope="module")
def streamed(smollm):
    model, tok = smollm  # stream=True (default): produced in a background thread, wait() joins it
    view = wb.show_generation("The capital of France is", model=model, tokenizer=tok, max_new_tokens=4).wait(120)
    return view, list(greedy_steps(model, tok, "The capital of France is", 4))


def test_show_generation_top_k_limits_sampling_not_the_alternatives_shown(smollm, streamed):
    """top_k has transformers' meaning (sampling from the k likeliest): top_k=1 sampling is greedy decoding,
    whatever the temperature; how many alternatives are shown is `alternatives`."""
    model, tok = smollm
    greedy, _ = streamed
    sampled = wb.show_generation("The capital of France is", model=model, tokenizer=tok, max_new_tokens=4,
                                 do_sample=True, temperature=1.5, top_k=1, seed=3, stream=False)
    assert [s.token_id for s in sampled.steps] == [s.token_id for s in greedy.steps]
    assert all(len(s.alternatives) == 5 for s in sampled.steps)
    fewer = wb.show_generation("The capital of France is", model=model, tokenizer=tok, max_new_tokens=2,
                               alternatives=2, stream=False)
    assert all(len(s.alternatives) == 2 for s in fewer.steps)


def test_show_generation_streams_on_smollm2(streamed, tmp_path):
    view, expected = streamed
    assert view.done and view.error is None and len(view.steps) == 4
    assert [s.token_id for s in view.steps] == [s.token_id for s in expected]
    assert view.text == "".join(s.text for s in expected)
    for mine, direct in zip(view.steps, expected):  # probabilities as a full forward pass gives them
        assert math.isclose(mine.logprob, direct.logprob, abs_tol=1e-4)
    assert view.save(tmp_path / "g.html").read_text().count("Paris") >= 1
