"""Text generation for causal language models: greedy or sampled decoding over a preallocated KV cache.

    ids = model.generate(input_ids, max_new_tokens=20)                     # LongTensor [B, prompt + new]
    out = model.generate(input_ids, do_sample=True, seed=0, return_dict_in_generate=True, output_scores=True)
    out.sequences, out.scores, out.logits                                 # as transformers names them
    for step in model.stream_generate(input_ids, tokenizer=tok, max_new_tokens=20):
        step.text, step.logprob, step.top_tokens, step.top_probs          # one GenerationStep per new token

Arguments keep transformers' names and meaning; any left as None comes from the model's generation_config.json
(kept as `model.generation_config`), then from its config.json (eos/pad ids), then transformers' defaults
(max_length=20, greedy, temperature=1, top_k=50, top_p=1). Greedy decoding gives transformers' tokens exactly.

How a step works: the prompt runs once (prefill) and fills the cache; each new token then runs alone, its keys
and values written into the cache at the next free position. Left-padded batches work: positions count real
tokens only and the padding is masked. Logits processing follows transformers' order: repetition penalty,
then (when sampling) temperature, top-k, top-p.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import torch

from .errors import GenerationError
from .models.causal import KVCache, positions_from_mask
from .models.outputs import ModelOutput

DEFAULTS = dict(max_length=20, do_sample=False, temperature=1.0, top_k=50, top_p=1.0, repetition_penalty=1.0)


@dataclass
class GenerateOutput(ModelOutput):
    """`generate(..., return_dict_in_generate=True)`: transformers' GenerateDecoderOnlyOutput fields we fill."""
    sequences: torch.Tensor | None = None  # [B, prompt + new]
    scores: tuple | None = None  # per new token: [B, V] processed scores (after penalties / temperature / top-k / top-p)
    logits: tuple | None = None  # per new token: [B, V] raw logits of the model


@dataclass
class GenerationStep:
    """One new token of `stream_generate`, with what the token-probability view shows.

    Probabilities come from the model's own distribution (softmax of the raw logits), not from the sampling
    settings, so the view shows what the model believed.
    """
    index: int  # 0 for the first new token
    token_id: int
    token: str | None  # the vocabulary entry (e.g. "Ġworld"); None without a tokenizer
    text: str  # the decoded text this token adds ("" while a multi-byte character is incomplete)
    logprob: float  # log-probability of the chosen token
    top_ids: list[int] = field(default_factory=list)  # the most likely tokens, best first
    top_tokens: list[str] | None = None
    top_probs: list[float] = field(default_factory=list)
    finish_reason: str | None = None  # on the last step: "eos", "stop_string" or "length"


@dataclass
class Settings:
    max_new_tokens: int
    do_sample: bool
    temperature: float
    top_k: int | None
    top_p: float
    repetition_penalty: float
    eos_token_ids: list[int]
    pad_token_id: int | None


# ---- argument handling ---------------------------------------------------------------------------------------

def _as_batch(input_ids) -> torch.Tensor:
    if input_ids is None:
        raise GenerationError("generate() needs a prompt: pass input_ids (token ids from the tokenizer).")
    if not isinstance(input_ids, torch.Tensor):
        input_ids = torch.tensor(input_ids, dtype=torch.long)
    if input_ids.dim() == 1:
        input_ids = input_ids[None]
    if input_ids.dim() != 2 or input_ids.is_floating_point():
        raise GenerationError(f"input_ids must be integer token ids of shape [batch, length], got {tuple(input_ids.shape)} "
                              f"{input_ids.dtype}.")
    if input_ids.shape[1] == 0:
        raise GenerationError("The prompt is empty; give at least one token (e.g. the tokenizer's bos token).")
    return input_ids.long()


def _id_list(value) -> list[int]:
    if value is None:
        return []
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


def context_length(model) -> int | None:
    """How many positions the model was trained for (max_position_embeddings, GPT-2's n_positions)."""
    config = model.config
    return config.get("max_position_embeddings") or config.get("n_positions")


def resolve_settings(model, prompt_length: int, given: dict[str, Any]) -> Settings:
    """Explicit arguments, else generation_config.json, else config.json, else transformers' defaults."""
    stored = dict(getattr(model, "generation_config", None) or {})

    def pick(name):
        if given.get(name) is not None:
            return given[name]
        if stored.get(name) is not None:
            return stored[name]
        if name in ("eos_token_id", "pad_token_id") and model.config.get(name) is not None:
            return model.config.get(name)
        return DEFAULTS.get(name)

    if given.get("max_new_tokens") is not None:
        max_new = given["max_new_tokens"]
    elif given.get("max_length") is not None:
        max_new = given["max_length"] - prompt_length
    elif stored.get("max_new_tokens") is not None:
        max_new = stored["max_new_tokens"]
    else:
        max_new = pick("max_length") - prompt_length
    if not isinstance(max_new, int) or isinstance(max_new, bool):
        raise GenerationError(f"max_new_tokens must be an integer, got {max_new!r}.")
    if max_new < 0:
        raise GenerationError(f"max_new_tokens is {max_new}; it must be 0 or more (max_length counts the prompt).")
    temperature, top_p, penalty = float(pick("temperature")), float(pick("top_p")), float(pick("repetition_penalty"))
    do_sample = bool(pick("do_sample"))
    if do_sample and temperature <= 0:
        raise GenerationError(f"temperature must be > 0 when sampling, got {temperature}; use do_sample=False for greedy.")
    if not 0 < top_p <= 1:
        raise GenerationError(f"top_p must be in (0, 1], got {top_p}.")
    if penalty <= 0:
        raise GenerationError(f"repetition_penalty must be > 0, got {penalty}.")
    eos = _id_list(pick("eos_token_id"))
    pad = pick("pad_token_id")
    if pad is None and eos:
        pad = eos[0]  # as transformers: finished rows are filled with the first eos id
    top_k = pick("top_k")
    return Settings(max_new, do_sample, temperature, int(top_k) if top_k else None, top_p, penalty, eos,
                    int(pad) if pad is not None else None)


# ---- logits processing ---------------------------------------------------------------------------------------

def penalize_repetitions(scores: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """Make every token already in `seen` [B, V] (bool) less likely: divide positive scores, multiply negative."""
    penalized = torch.where(scores < 0, scores * penalty, scores / penalty)
    return torch.where(seen, penalized, scores)


def filter_top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    k = min(k, scores.shape[-1])
    kth_best = torch.topk(scores, k)[0][..., -1, None]
    return scores.masked_fill(scores < kth_best, -float("inf"))


def filter_top_p(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose probabilities reach top_p (at least one)."""
    sorted_scores, order = torch.sort(scores, descending=False)
    cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
    drop_sorted = cumulative <= (1 - top_p)
    drop_sorted[..., -1:] = False
    drop = drop_sorted.scatter(1, order, drop_sorted)
    return scores.masked_fill(drop, -float("inf"))


class _StopStrings:
    """transformers' rule: stop once a stop string appears in the text and overlaps the newest token."""

    def __init__(self, tokenizer, stop_strings, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor):
        self.decode = _decoder(tokenizer)
        self.stops = [stop_strings] if isinstance(stop_strings, str) else list(stop_strings)
        longest = max(len(s) for s in self.stops)
        # a stop string may begin inside the prompt: keep its last few real tokens in view
        self.ids = [row[mask.bool()].tolist()[-longest:] for row, mask in zip(prompt_ids, prompt_mask)]
        self.texts = [self.decode(ids) for ids in self.ids]

    def hit(self, row: int, token_id: int) -> bool:
        before = self.texts[row]
        self.ids[row].append(token_id)
        text = self.texts[row] = self.decode(self.ids[row])
        return any(text.find(stop, max(0, len(before) - len(stop) + 1)) != -1 for stop in self.stops)


def _decoder(tokenizer):
    def decode(ids):
        return tokenizer.decode(ids, skip_special_tokens=False)
    return decode


def _token_strings(tokenizer, ids: list[int]) -> list[str]:
    if hasattr(tokenizer, "convert_ids_to_tokens"):
        return list(tokenizer.convert_ids_to_tokens(ids))
    return [tokenizer.id_to_token(i) for i in ids]  # a bare `tokenizers.Tokenizer`


# ---- the decoding loop -----------------------------------------------------------------------------------------

def prepare_prompt(model, input_ids, attention_mask, settings: Settings, *, tokenizer=None, stop_strings=None,
                   truncation=False) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Check the call; returns (input_ids, attention_mask, number of tokens to generate), truncated if asked."""
    if getattr(model, "task", None) != "text-generation" or not hasattr(model, "lm_head"):
        raise GenerationError(f"{type(model).__name__} is not a causal language model; load one with task='text-generation'.")
    device = model.device
    input_ids = input_ids.to(device)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    attention_mask = torch.as_tensor(attention_mask).to(device).long()
    if attention_mask.shape != input_ids.shape:
        raise GenerationError(f"attention_mask has shape {tuple(attention_mask.shape)} but input_ids {tuple(input_ids.shape)}.")
    vocab = model.config.vocab_size
    if int(input_ids.max()) >= vocab or int(input_ids.min()) < 0:
        raise GenerationError(f"input_ids hold ids outside this model's vocabulary of {vocab}; use the model's own tokenizer.")
    if stop_strings is not None and (tokenizer is None or not stop_strings):
        raise GenerationError("stop_strings need the tokenizer to read the text: pass tokenizer=... and at least one string.")
    limit = context_length(model)
    prompt_length = input_ids.shape[1]
    if limit is not None and prompt_length > limit:
        if not truncation:
            raise GenerationError(
                f"The prompt has {prompt_length} tokens but the model's context holds {limit}; shorten it or pass "
                "truncation=True to keep its last tokens.")
        keep = max(1, limit - settings.max_new_tokens)
        input_ids, attention_mask, prompt_length = input_ids[:, -keep:], attention_mask[:, -keep:], keep
    max_new = settings.max_new_tokens if limit is None else min(settings.max_new_tokens, limit - prompt_length)
    return input_ids, attention_mask, max_new


def _decode_steps(model, input_ids, attention_mask, max_new: int, settings: Settings, *, tokenizer=None,
                  stop_strings=None, seed=None, use_cache=True, streamer=None) -> Iterator[tuple]:
    """Yield (sequences so far [B, L], new tokens [B], raw logits [B, V], scores [B, V], finish reason or None)."""
    device, vocab = model.device, model.config.vocab_size
    prompt_length = input_ids.shape[1]
    B = input_ids.shape[0]
    total = prompt_length + max_new
    fill = settings.pad_token_id if settings.pad_token_id is not None else 0
    sequences = input_ids.new_full((B, total), fill)  # preallocated: new tokens are written in place
    sequences[:, :prompt_length] = input_ids
    mask = attention_mask.new_ones((B, total))
    mask[:, :prompt_length] = attention_mask
    padded = not bool(attention_mask.all())
    positions = positions_from_mask(attention_mask)  # [B, P]
    stops = _StopStrings(tokenizer, stop_strings, input_ids, attention_mask) if stop_strings else None
    generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    eos = torch.tensor(settings.eos_token_ids, device=device) if settings.eos_token_ids else None
    unfinished = torch.ones(B, dtype=torch.bool, device=device)
    cache = KVCache.for_model(model, B, total) if use_cache else None
    seen = None
    if settings.repetition_penalty != 1.0:  # tokens of the prompt (not its padding) count as seen
        seen = torch.zeros(B, vocab + 1, dtype=torch.bool, device=device)
        seen.scatter_(1, input_ids.masked_fill(attention_mask == 0, vocab), True)
        seen = seen[:, :vocab]
    if streamer is not None:
        streamer.put(input_ids.cpu())

    def forward(length: int) -> torch.Tensor:  # logits [B, V] of the last position, after `length` tokens
        step_mask = mask[:, :length] if padded else None
        with torch.inference_mode():
            if cache is None:  # no cache: run the whole sequence again
                ids, pos = sequences[:, :length], positions_from_mask(mask[:, :length])
            elif cache.length == 0:  # prefill
                ids, pos = sequences[:, :length], positions
            else:  # only the newest token
                ids, pos = sequences[:, length - 1:length], next_position
            return model(ids, attention_mask=step_mask, position_ids=pos, past_key_values=cache,
                         logits_to_keep=1).logits[:, -1]

    next_position = positions[:, -1:]  # [B, 1] position of the newest token
    length = prompt_length
    try:
        for step in range(max_new):
            logits = forward(length)
            with torch.inference_mode():
                scores = logits
                if seen is not None:
                    scores = penalize_repetitions(scores, seen, settings.repetition_penalty)
                if settings.do_sample:
                    if settings.temperature != 1.0:
                        scores = scores / settings.temperature
                    if settings.top_k:
                        scores = filter_top_k(scores, settings.top_k)
                    if settings.top_p < 1.0:
                        scores = filter_top_p(scores, settings.top_p)
                    probs = torch.softmax(scores.float(), dim=-1)
                    new = torch.multinomial(probs, 1, generator=generator)[:, 0]
                else:
                    new = scores.argmax(dim=-1)
                if eos is not None:
                    new = torch.where(unfinished, new, settings.pad_token_id)
                sequences[:, length] = new
                if seen is not None:
                    seen[torch.arange(B, device=device), new] = True
            length += 1
            next_position = next_position + 1
            if streamer is not None:
                streamer.put(new.cpu())
            reason = None
            if eos is not None:
                unfinished &= ~torch.isin(new, eos)
                if not bool(unfinished.any()):
                    reason = "eos"
            if stops is not None:
                for row in range(B):
                    if bool(unfinished[row]) and stops.hit(row, int(new[row])):
                        unfinished[row] = False
                if reason is None and not bool(unfinished.any()):
                    reason = "stop_string"
            if reason is None and step == max_new - 1:
                reason = "length"
            yield sequences[:, :length], new, logits, scores, reason
            if reason is not None:
                return
    finally:
        if streamer is not None:
            streamer.end()


def _settings_and_prompt(model, input_ids: torch.Tensor, attention_mask, *, tokenizer, stop_strings, truncation,
                         **given) -> tuple[Settings, torch.Tensor, torch.Tensor, int]:
    """What generate and stream_generate both start with: the settings from `given` (their generation arguments)
    over the model's defaults, then the prompt checked and prepared -> (settings, input_ids, attention_mask,
    how many tokens may be added)."""
    settings = resolve_settings(model, input_ids.shape[1], given)
    input_ids, attention_mask, max_new = prepare_prompt(model, input_ids, attention_mask, settings, tokenizer=tokenizer,
                                                        stop_strings=stop_strings, truncation=truncation)
    return settings, input_ids, attention_mask, max_new


def _check_unknown(kwargs: dict) -> None:
    ignored = {"use_cache", "num_beams", "num_return_sequences"}
    unknown = sorted(set(kwargs) - ignored)
    if unknown:
        raise GenerationError(f"generate() does not know {', '.join(map(repr, unknown))}; see help(wb.generation.generate).")
    if (kwargs.get("num_beams") or 1) > 1 or (kwargs.get("num_return_sequences") or 1) > 1:
        raise GenerationError("Beam search and several sequences per prompt are not supported; use do_sample=True "
                              "with a seed per run instead.")


def generate(model, input_ids=None, attention_mask=None, max_new_tokens=None, max_length=None, do_sample=None,
             temperature=None, top_k=None, top_p=None, repetition_penalty=None, eos_token_id=None,
             pad_token_id=None, stop_strings=None, tokenizer=None, streamer=None, seed=None,
             return_dict_in_generate=False, output_scores=False, output_logits=False, truncation=False,
             use_cache=True, **kwargs):
    """Continue each prompt; returns LongTensor [B, prompt + new] (or a GenerateOutput with return_dict_in_generate).

    input_ids [B, P] (a list or 1-D tensor is one prompt); attention_mask [B, P] with 0 for left padding.
    max_new_tokens / max_length: how many tokens to add / total length with the prompt (default max_length 20).
    do_sample, temperature, top_k, top_p, repetition_penalty: transformers' meaning; seed makes sampling repeatable.
    eos_token_id (int or list) stops a row; finished rows are filled with pad_token_id (default: the first eos).
    stop_strings (str or list, needs tokenizer=) stop a row once its text contains one.
    streamer: an object with put(ids) / end(), called as transformers calls it (e.g. transformers' TextStreamer).
    truncation=True keeps the last tokens of a prompt longer than the model's context instead of raising.
    Generation also stops when the context is full.
    """
    _check_unknown(kwargs)
    settings, input_ids, attention_mask, max_new = _settings_and_prompt(
        model, _as_batch(input_ids), attention_mask, tokenizer=tokenizer, stop_strings=stop_strings,
        truncation=truncation, max_new_tokens=max_new_tokens, max_length=max_length, do_sample=do_sample,
        temperature=temperature, top_k=top_k, top_p=top_p, repetition_penalty=repetition_penalty,
        eos_token_id=eos_token_id, pad_token_id=pad_token_id)
    sequences = input_ids
    all_scores, all_logits = [], []
    for sequences, _, logits, scores, _ in _decode_steps(
            model, input_ids, attention_mask, max_new, settings, tokenizer=tokenizer, stop_strings=stop_strings,
            seed=seed, use_cache=use_cache, streamer=streamer):
        if output_scores:
            all_scores.append(scores.clone())
        if output_logits:
            all_logits.append(logits.clone())
    sequences = sequences.clone()
    if return_dict_in_generate:
        return GenerateOutput(sequences, tuple(all_scores) if output_scores else None,
                              tuple(all_logits) if output_logits else None)
    return sequences


class _TextDelta:
    """Decoded text, a token at a time, holding back the bytes of a character that is not complete yet.

    Byte-level tokenizers (SmolLM2, GPT-2) often split a Hangul syllable or an emoji over 2-4 tokens; decoding such a
    token alone gives U+FFFD ("\ufffd"). As `tokenizers`' DecodeStream does, text whose decoding ends in U+FFFD is
    held back until a later token completes the character. A character the generation never completed (the last
    token cut it) is left out at the end rather than shown as "\ufffd"; the token itself is still in the step (the
    views show its bytes). Decoding a window that starts one emission back (`prefix`) keeps
    what depends on the previous token (a SentencePiece leading space) right.
    """

    def __init__(self, tokenizer):
        self.tokenizer, self.ids, self.prefix, self.read = tokenizer, [], 0, 0

    def _pending(self) -> tuple[str, str]:
        """(text emitted up to `read`, text up to the newest token), both decoded from `prefix`."""
        before = self.tokenizer.decode(self.ids[self.prefix:self.read], skip_special_tokens=True)
        return before, self.tokenizer.decode(self.ids[self.prefix:], skip_special_tokens=True)

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        before, after = self._pending()
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self.prefix, self.read = self.read, len(self.ids)
            return after[len(before):]
        return ""

    def flush(self) -> str:
        """The text still held back, without the bytes of a character that will not be completed."""
        before, after = self._pending()
        self.prefix = self.read = len(self.ids)
        return after.rstrip("\ufffd")[len(before):]


def stream_generate(model, input_ids=None, attention_mask=None, *, tokenizer=None, top_alternatives: int = 5,
                    max_new_tokens=None, max_length=None, do_sample=None, temperature=None, top_k=None, top_p=None,
                    repetition_penalty=None, eos_token_id=None, pad_token_id=None, stop_strings=None, seed=None,
                    truncation=False, **kwargs) -> Iterator[GenerationStep]:
    """Generate for one prompt, yielding a GenerationStep per new token (token, text delta, log-probability and the
    `top_alternatives` most likely tokens with their probabilities). Same arguments as `generate`."""
    _check_unknown(kwargs)
    input_ids = _as_batch(input_ids)
    if input_ids.shape[0] != 1:
        raise GenerationError(f"stream_generate follows one prompt at a time, got a batch of {input_ids.shape[0]}; "
                              "use generate() for batches.")
    settings, input_ids, attention_mask, max_new = _settings_and_prompt(
        model, input_ids, attention_mask, tokenizer=tokenizer, stop_strings=stop_strings, truncation=truncation,
        max_new_tokens=max_new_tokens, max_length=max_length, do_sample=do_sample, temperature=temperature,
        top_k=top_k, top_p=top_p, repetition_penalty=repetition_penalty, eos_token_id=eos_token_id,
        pad_token_id=pad_token_id)
    steps = _decode_steps(model, input_ids, attention_mask, max_new, settings, tokenizer=tokenizer,
                          stop_strings=stop_strings, seed=seed)
    return _steps_with_probabilities(steps, tokenizer, top_alternatives)


def _steps_with_probabilities(steps, tokenizer, top_alternatives: int) -> Iterator[GenerationStep]:
    text = _TextDelta(tokenizer) if tokenizer is not None else None
    for index, (_, new, logits, _, reason) in enumerate(steps):
        token_id = int(new[0])
        with torch.inference_mode():
            logprobs = torch.log_softmax(logits[0].float(), dim=-1)
            best = torch.topk(logprobs, min(top_alternatives, logprobs.shape[-1]))
        top_ids = best.indices.tolist()
        delta = text.push(token_id) if text is not None else ""
        if text is not None and reason is not None:
            delta += text.flush()
        yield GenerationStep(
            index=index, token_id=token_id,
            token=_token_strings(tokenizer, [token_id])[0] if tokenizer is not None else None,
            text=delta, logprob=float(logprobs[token_id]), top_ids=top_ids,
            top_tokens=_token_strings(tokenizer, top_ids) if tokenizer is not None else None,
            top_probs=best.values.exp().tolist(), finish_reason=reason)


__all__ = ["generate", "stream_generate", "GenerateOutput", "GenerationStep", "resolve_settings"]
