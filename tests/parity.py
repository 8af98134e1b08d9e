"""Helpers for parity tests: build a tiny random transformers model, save it, compare outputs with ours.

transformers is the reference only; it is imported by tests, never by `workbench/`.
"""
from __future__ import annotations

import torch
import transformers

ATOL = RTOL = 1e-5  # fp32 on CPU: the same maths in a different order


def tiny_reference(model_class_name: str, config_class_name: str, seed: int = 0, **config_fields):
    """A randomly initialised transformers model (eager attention so it can return weights), in eval mode."""
    config_class = getattr(transformers, config_class_name)
    config = config_class(**config_fields)
    config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = getattr(transformers, model_class_name)(config)
    return model.eval()


def random_batch(vocab_size: int, lengths=(9, 5), pad_token_id: int = 0, seed: int = 1, token_types: bool = True):
    """A right-padded batch: input_ids avoid the pad id; attention_mask marks real tokens."""
    generator = torch.Generator().manual_seed(seed)
    T = max(lengths)
    input_ids = torch.randint(0, vocab_size, (len(lengths), T), generator=generator)
    input_ids[input_ids == pad_token_id] = (pad_token_id + 3) % vocab_size
    attention_mask = torch.zeros_like(input_ids)
    for row, length in enumerate(lengths):
        attention_mask[row, :length] = 1
        input_ids[row, length:] = pad_token_id
    batch = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_types:
        batch["token_type_ids"] = (torch.arange(T) >= T // 2).long().expand_as(input_ids) * attention_mask
    return batch


def assert_same_outputs(ours, theirs, fields=("last_hidden_state", "logits", "start_logits", "end_logits")):
    """Compare every named field present in the reference, plus attentions and hidden states when returned."""
    compared = 0
    for name in fields:
        reference = getattr(theirs, name, None)
        if reference is None:
            continue
        torch.testing.assert_close(getattr(ours, name), reference, atol=ATOL, rtol=RTOL, msg=lambda m: f"{name}: {m}")
        compared += 1
    for name in ("attentions", "hidden_states"):
        reference = getattr(theirs, name, None)
        if reference is None:
            continue
        mine = getattr(ours, name)
        assert mine is not None and len(mine) == len(reference), f"{name}: {len(mine or ())} vs {len(reference)} layers"
        for layer, (a, b) in enumerate(zip(mine, reference)):
            torch.testing.assert_close(a, b, atol=ATOL, rtol=RTOL, msg=lambda m: f"{name}[{layer}]: {m}")
        compared += 1
    assert compared, "nothing was compared"
