"""Decoder families (GPT-2, Llama, Mistral, Qwen2, Gemma, Phi-3, GPT-NeoX) x heads against tiny random transformers
models: logits, attentions, hidden states, the SDPA path, left and right padding, the KV cache, save_pretrained."""
import pytest
import torch
import transformers

import workbench as wb
from workbench.models.causal import KVCache

from parity import assert_same_outputs, random_batch, tiny_reference

VOCAB = 101
LLAMA_TINY = dict(vocab_size=VOCAB, hidden_size=24, intermediate_size=37, num_hidden_layers=2, num_attention_heads=3,
                  num_key_value_heads=3, max_position_embeddings=64, initializer_range=0.2, num_labels=3, pad_token_id=0)
# case name: (transformers class prefix, config class, config fields). Odd head counts, GQA and MQA, every rope type.
CASES = {
    "gpt2": ("GPT2", "GPT2Config", dict(vocab_size=VOCAB, n_embd=24, n_layer=2, n_head=3, n_positions=40,
                                         initializer_range=0.2, num_labels=3, pad_token_id=0)),
    "gpt2-variants": ("GPT2", "GPT2Config", dict(vocab_size=VOCAB, n_embd=24, n_layer=3, n_head=3, n_positions=40,
                                                  n_inner=37, activation_function="relu", scale_attn_by_inverse_layer_idx=True,
                                                  reorder_and_upcast_attn=True, tie_word_embeddings=False,
                                                  initializer_range=0.2, num_labels=3, pad_token_id=0)),
    "llama": ("Llama", "LlamaConfig", LLAMA_TINY),
    "llama-gqa-bias-tied": ("Llama", "LlamaConfig", {**LLAMA_TINY, "num_attention_heads": 6, "num_key_value_heads": 2,
                                                      "head_dim": 6, "attention_bias": True, "mlp_bias": True,
                                                      "tie_word_embeddings": True}),
    "llama-mqa-linear": ("Llama", "LlamaConfig", {**LLAMA_TINY, "num_key_value_heads": 1,
                                                   "rope_scaling": {"rope_type": "linear", "factor": 2.0}}),
    "llama-dynamic": ("Llama", "LlamaConfig", {**LLAMA_TINY, "max_position_embeddings": 6,
                                                "rope_scaling": {"rope_type": "dynamic", "factor": 3.0}}),
    "llama-llama3": ("Llama", "LlamaConfig", {**LLAMA_TINY, "head_dim": 16, "rope_theta": 500.0, "rope_scaling": {
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 16}}),
    "llama-yarn": ("Llama", "LlamaConfig", {**LLAMA_TINY, "head_dim": 16, "rope_scaling": {
        "rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}}),
    "mistral-window": ("Mistral", "MistralConfig", {**LLAMA_TINY, "num_attention_heads": 6, "num_key_value_heads": 2,
                                                     "sliding_window": 4}),
    "qwen2-bias-window": ("Qwen2", "Qwen2Config", {**LLAMA_TINY, "num_key_value_heads": 1, "use_sliding_window": True,
                                                    "sliding_window": 3, "max_window_layers": 1}),
    "gemma": ("Gemma", "GemmaConfig", {**LLAMA_TINY, "head_dim": 8, "num_key_value_heads": 1, "hidden_act": "gelu"}),
    "phi3-partial": ("Phi3", "Phi3Config", {**LLAMA_TINY, "num_attention_heads": 6, "num_key_value_heads": 2,
                                            "partial_rotary_factor": 0.5}),
    "phi3-longrope": ("Phi3", "Phi3Config", {**LLAMA_TINY, "max_position_embeddings": 32,
                                             "original_max_position_embeddings": 8, "rope_scaling": {
                                                 "type": "longrope", "short_factor": [1.0, 1.5, 2.0, 1.2],
                                                 "long_factor": [2.0, 3.0, 4.0, 5.0]}}),
    "gpt_neox-parallel": ("GPTNeoX", "GPTNeoXConfig", dict(
        vocab_size=VOCAB, hidden_size=24, intermediate_size=37, num_hidden_layers=2, num_attention_heads=3,
        rotary_pct=0.5, max_position_embeddings=64, initializer_range=0.2, num_labels=3, pad_token_id=0,
        use_parallel_residual=True)),
    "gpt_neox-sequential": ("GPTNeoX", "GPTNeoXConfig", dict(
        vocab_size=VOCAB, hidden_size=24, intermediate_size=37, num_hidden_layers=2, num_attention_heads=3,
        rotary_pct=1.0, max_position_embeddings=64, initializer_range=0.2, num_labels=3, pad_token_id=0,
        use_parallel_residual=False, tie_word_embeddings=True, hidden_act="gelu_new")),
}
HEADS = {"feature-extraction": "Model", "text-generation": "ForCausalLM",
         "text-classification": "ForSequenceClassification", "token-classification": "ForTokenClassification"}


def reference_class(prefix: str, task: str) -> str:
    if prefix == "GPT2" and task == "text-generation":
        return "GPT2LMHeadModel"
    return prefix + HEADS[task]


def tiny_pair(case, task, folder, **overrides):
    prefix, config_class, fields = CASES[case]
    reference = tiny_reference(reference_class(prefix, task), config_class, **{**fields, **overrides})
    reference.save_pretrained(folder)
    return reference, wb.load_model(folder, task=task)


def left_padded(batch):
    """The same rows with their padding moved to the left."""
    ids, mask = batch["input_ids"].clone(), batch["attention_mask"].clone()
    for row in range(ids.shape[0]):
        n = int(mask[row].sum())
        ids[row] = torch.roll(ids[row], ids.shape[1] - n)
        mask[row] = torch.roll(mask[row], ids.shape[1] - n)
    return {"input_ids": ids, "attention_mask": mask}


# Every head on one case per family; the rope and attention variants through the text-generation head.
ONE_PER_FAMILY = ("gpt2", "llama", "mistral-window", "qwen2-bias-window", "gemma", "phi3-partial", "gpt_neox-parallel")
CASE_HEAD_PAIRS = [(case, task) for case in CASES for task in HEADS
                   if task == "text-generation" or case in ONE_PER_FAMILY]


@pytest.mark.parametrize(("case", "task"), CASE_HEAD_PAIRS)
def test_head_matches_transformers(case, task, tmp_path):
    reference, ours = tiny_pair(case, task, tmp_path)
    assert ours.task == task and ours.loading_info["fresh"] == []
    right = random_batch(VOCAB, lengths=(9, 5), token_types=False)
    for batch in (right, left_padded(right)):
        with torch.no_grad():
            theirs = reference(**batch, output_attentions=True, output_hidden_states=True)
            mine = ours(**batch, output_attentions=True, output_hidden_states=True)
            assert_same_outputs(mine, theirs)
            fast = ours(**batch)  # SDPA, no weights
            assert fast.attentions is None and fast.hidden_states is None
            assert_same_outputs(fast, reference(**batch))


@pytest.mark.parametrize("case", ["llama-dynamic", "phi3-longrope"])
def test_length_dependent_rope_beyond_the_original_length(case, tmp_path):
    """dynamic NTK and longrope change frequencies once the sequence outgrows the (original) max length."""
    reference, ours = tiny_pair(case, "text-generation", tmp_path)
    ids = torch.randint(1, VOCAB, (1, 12), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, reference(ids).logits, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("case", ["gpt2", "llama-gqa-bias-tied", "mistral-window", "qwen2-bias-window", "gemma",
                                  "phi3-partial", "gpt_neox-parallel"])
def test_kv_cache_matches_full_forward(case, tmp_path):
    """Prefill 5 tokens, then feed 4 more one at a time: the same logits as one pass over all 9."""
    _, ours = tiny_pair(case, "text-generation", tmp_path)
    ids = torch.randint(1, VOCAB, (2, 9), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        full = ours(ids).logits
        cache = KVCache.for_model(ours, batch_size=2, capacity=6)  # too small on purpose: it grows
        steps = [ours(ids[:, :5], past_key_values=cache).logits]
        for t in range(5, 9):
            steps.append(ours(ids[:, t:t + 1], past_key_values=cache).logits)
    assert cache.length == 9
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("case", ["gpt2", "llama-gqa-bias-tied", "qwen2-bias-window", "gemma", "phi3-partial",
                                  "gpt_neox-sequential", "gpt_neox-parallel"])
def test_save_pretrained_loads_back_in_transformers(case, tmp_path):
    reference, ours = tiny_pair(case, "text-generation", tmp_path / "reference")
    ours.save_pretrained(tmp_path / "ours")
    again = getattr(transformers, type(reference).__name__).from_pretrained(tmp_path / "ours", attn_implementation="eager").eval()
    batch = random_batch(VOCAB, token_types=False)
    with torch.no_grad():
        torch.testing.assert_close(again(**batch).logits, ours(**batch).logits)
    assert wb.load_model(tmp_path / "ours").architecture_name() == type(reference).__name__


def test_tied_and_untied_lm_heads(tmp_path):
    _, tied = tiny_pair("llama-gqa-bias-tied", "text-generation", tmp_path / "tied")
    assert tied.lm_head.weight is tied.model.embed_tokens.weight
    _, untied = tiny_pair("llama", "text-generation", tmp_path / "untied")
    assert untied.lm_head.weight is not untied.model.embed_tokens.weight
    _, gpt2 = tiny_pair("gpt2", "text-generation", tmp_path / "gpt2")
    assert gpt2.lm_head.weight is gpt2.transformer.wte.weight


def test_logit_lens_pieces_rebuild_the_logits(tmp_path):
    """final_norm + unembed on the last layer's residual stream (hook_out) give the model's logits."""
    for case, name in [("llama", "model.layers.1.hook_out"), ("gpt2", "transformer.h.1.hook_out"),
                       ("gpt_neox-parallel", "gpt_neox.layers.1.hook_out")]:
        _, ours = tiny_pair(case, "text-generation", tmp_path / case)
        ids = torch.randint(1, VOCAB, (1, 7), generator=torch.Generator().manual_seed(5))
        with torch.no_grad(), ours.capture("*.hook_out", "*.hook_post") as cache:
            logits = ours(ids).logits
        assert name in cache and any(k.endswith("mlp.hook_post") for k in cache)
        torch.testing.assert_close(ours.unembed(ours.final_norm(cache[name])), logits)


def test_attention_only_for_the_layers_asked_and_hooks(tmp_path):
    _, ours = tiny_pair("mistral-window", "text-generation", tmp_path)
    batch = random_batch(VOCAB, token_types=False)
    with torch.no_grad(), ours.capture("*.hook_pattern") as cache:
        out = ours(**batch, output_attentions=[1])
    assert out.attentions[0] is None and out.attentions[1].shape == (2, 6, 9, 9)
    assert sorted(cache) == ["model.layers.0.self_attn.hook_pattern", "model.layers.1.self_attn.hook_pattern"]
    # the sliding window (4) hides keys more than 3 positions back
    assert float(out.attentions[1][0, :, 8, :5].abs().max()) == 0.0


def test_classification_without_pad_token_needs_batch_of_one(tmp_path):
    _, ours = tiny_pair("llama", "text-classification", tmp_path, pad_token_id=None)
    ids = torch.randint(1, VOCAB, (2, 5))
    assert ours(ids[:1]).logits.shape == (1, 3)
    with pytest.raises(ValueError, match="no pad_token_id"):
        ours(ids)


def test_gpt2_too_long_input_is_a_clear_error(tmp_path):
    _, ours = tiny_pair("gpt2", "feature-extraction", tmp_path)
    with pytest.raises(ValueError, match="40 positions"):
        ours(torch.ones(1, 41, dtype=torch.long))


def test_causal_lm_loss_and_gradients(tmp_path):
    reference, ours = tiny_pair("qwen2-bias-window", "text-generation", tmp_path)
    ids = torch.randint(1, VOCAB, (2, 8), generator=torch.Generator().manual_seed(6))
    loss = ours(ids, labels=ids).loss
    torch.testing.assert_close(loss, reference(ids, labels=ids).loss)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in ours.parameters())


def test_generate_on_a_non_causal_head_is_a_clear_error(tmp_path):
    _, ours = tiny_pair("llama", "text-classification", tmp_path)
    with pytest.raises(wb.GenerationError, match="text-classification model and cannot generate"):
        ours.generate(torch.ones(1, 3, dtype=torch.long))
