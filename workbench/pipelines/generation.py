"""text-generation: continue a prompt, or answer a chat (a list of {"role", "content"} messages).

    generator = wb.pipeline("text-generation", model="HuggingFaceTB/SmolLM2-135M-Instruct")
    generator("Once upon a time", max_new_tokens=20, do_sample=False)
    # [{'generated_text': 'Once upon a time, ...'}]
    chat = [{"role": "user", "content": "What is the capital of France?"}]
    generator(chat, max_new_tokens=20, do_sample=False)
    # [{'generated_text': [{'role': 'user', ...}, {'role': 'assistant', 'content': 'The capital of France is Paris.'}]}]
    for piece in generator.stream(chat, max_new_tokens=20):   # text as it is generated, for a UI
        print(piece, end="")

As transformers: a chat goes through the tokenizer's chat template with the assistant's turn opened;
`return_full_text=False` gives only the new text; defaults are max_new_tokens=256 and do_sample=True unless the
checkpoint's generation_config says otherwise; every other keyword (temperature, top_k, top_p,
repetition_penalty, num_return_sequences, ...) goes to `model.generate`.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator

import torch

from .base import Pipeline, PipelineError, TruncationWarning, check_text

PIPELINE_DEFAULTS = {"max_new_tokens": 256, "do_sample": True}  # transformers' text-generation defaults


def is_message(value) -> bool:
    return isinstance(value, dict) and "role" in value and "content" in value


def is_chat(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(is_message(m) for m in value)


class TextGenerationPipeline(Pipeline):
    task = "text-generation"

    def __init__(self, model, tokenizer, **options):
        if getattr(model, "task", None) != "text-generation":
            raise PipelineError("This model cannot generate text (it has no language-model head); use a causal "
                                "language model such as HuggingFaceTB/SmolLM2-135M-Instruct.")
        super().__init__(model, tokenizer, **options)

    def _sanitize_parameters(self, return_full_text=None, return_tensors=None, return_text=None, prefix="",
                             add_special_tokens=False, truncation=None, max_length=None, continue_final_message=None,
                             skip_special_tokens=True, clean_up_tokenization_spaces=None, **generate_kwargs):
        if return_full_text is not None and return_tensors:
            raise PipelineError("return_full_text and return_tensors cannot be used together; pick one.")
        defaults = {key: value for key, value in PIPELINE_DEFAULTS.items()
                    if key not in (getattr(self.model, "generation_config", None) or {})}
        if "max_length" in generate_kwargs or max_length is not None:
            defaults.pop("max_new_tokens", None)
        generate = {**defaults, **generate_kwargs}
        if max_length is not None:
            generate["max_length"] = max_length
        new_tokens = generate.get("max_new_tokens")
        if new_tokens is not None and (not isinstance(new_tokens, int) or new_tokens < 0):
            raise PipelineError(f"max_new_tokens must be a non-negative integer, got {new_tokens!r}.")
        # A prompt may use the model's context minus the room the new tokens need.
        room = max(1, self.max_tokens - (new_tokens or 0))
        pre = {"prefix": prefix, "add_special_tokens": add_special_tokens, "truncation": truncation,
               "continue_final_message": continue_final_message, "room": room}
        post = {"return_full_text": True if return_full_text is None else bool(return_full_text),
                "return_tensors": bool(return_tensors), "continue_final_message": continue_final_message,
                "skip_special_tokens": skip_special_tokens, "clean_up_tokenization_spaces": clean_up_tokenization_spaces}
        return pre, generate, post

    def split_inputs(self, inputs):
        if is_chat(inputs):
            return [list(inputs)], True
        items, single = super().split_inputs(inputs)
        return items, single

    def shape_result(self, results, single, inputs, call_options):
        return results[0] if single else results  # each result is already a list (one entry per sequence)

    def preprocess(self, prompt, prefix="", add_special_tokens=False, truncation=None, continue_final_message=None,
                   room=None):
        if is_chat(prompt):
            continue_final = prompt[-1]["role"] == "assistant" if continue_final_message is None else continue_final_message
            text = self.tokenizer.apply_chat_template(list(prompt), add_generation_prompt=not continue_final,
                                                      continue_final_message=continue_final, tokenize=False)
            encoding = self.tokenizer(text, add_special_tokens=False)
        elif isinstance(prompt, (list, tuple)):
            raise PipelineError('A chat is a list of {"role": ..., "content": ...} messages; some entries here are '
                                "not messages.")
        else:
            encoding = self.tokenizer(prefix + check_text(prompt, "prompt"), add_special_tokens=add_special_tokens)
        ids = list(encoding["input_ids"])
        room = room or self.max_tokens
        if len(ids) > room:
            if truncation is False:
                raise PipelineError(f"The prompt is {len(ids)} tokens long but only {room} fit in the model's "
                                    f"{self.max_tokens} positions with the new tokens; shorten it.")
            if truncation is None:
                warnings.warn(f"The prompt is longer than the {room} tokens that fit with the new ones in the model's "
                              f"{self.max_tokens} positions; only its last {room} tokens are used.", TruncationWarning,
                              stacklevel=4)
            ids = ids[-room:]  # keep the end: generation continues from there
        return [{"input_ids": ids, "attention_mask": [1] * len(ids), "prompt": prompt}]

    def run(self, items, pre, fwd, post, batch_size):
        # One prompt at a time: prompts of different lengths would need left padding, and on a CPU the gain is small.
        results = []
        for item in items:
            chunk = self.preprocess(item, **pre)[0]
            chunk.update(self.forward_chunks([chunk], fwd)[0])
            results.append(self.postprocess([chunk], **post))
        return results

    def _forward(self, batch, **generate_kwargs):
        sequences = self.model.generate(batch["input_ids"], attention_mask=batch.get("attention_mask"),
                                        **generate_kwargs)
        return {"sequences": sequences[None] if sequences.dim() == 2 else sequences}  # [1, N, T]

    def postprocess(self, chunks, return_full_text=True, return_tensors=False, continue_final_message=None,
                    skip_special_tokens=True, clean_up_tokenization_spaces=None):
        chunk = chunks[0]
        prompt, prompt_length = chunk["prompt"], len(chunk["input_ids"])
        records = []
        for sequence in chunk["sequences"].tolist():  # [N, T]: one per returned sequence
            if return_tensors:
                records.append({"generated_token_ids": sequence})
                continue
            text = self.tokenizer.decode(sequence[prompt_length:], skip_special_tokens=skip_special_tokens,
                                         clean_up_tokenization_spaces=clean_up_tokenization_spaces)
            if return_full_text:
                text = self.full_text(prompt, text, continue_final_message)
            records.append({"generated_text": text})
        return records

    @staticmethod
    def full_text(prompt, new_text: str, continue_final_message=None):
        if isinstance(prompt, str):
            return prompt + new_text
        continue_final = prompt[-1]["role"] == "assistant" if continue_final_message is None else continue_final_message
        if continue_final:
            last = prompt[-1]
            return [*prompt[:-1], {"role": last["role"], "content": last["content"] + new_text}]
        return [*prompt, {"role": "assistant", "content": new_text}]

    # ---- streaming ---------------------------------------------------------------------------------------------
    def stream(self, prompt, **options) -> Iterator[str]:
        """Yield the new text piece by piece while it is generated (one prompt or chat)."""
        pre, generate, _ = self._sanitize({**self.options, **options})
        if not (is_chat(prompt) or isinstance(prompt, str)):
            raise PipelineError("stream() takes one prompt (a string) or one chat (a list of messages).")
        chunk = self.preprocess(prompt, **pre)[0]
        input_ids = torch.tensor([chunk["input_ids"]])
        new_ids: list[int] = []
        shown = ""
        with torch.inference_mode():
            for token in self.model.stream_generate(input_ids, **generate):
                new_ids.extend(_token_ids(token))
                # Decode everything so far and yield what is new: a character may need several byte tokens.
                text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
                if len(text) > len(shown) and not text.endswith("\ufffd"):
                    yield text[len(shown):]
                    shown = text


def _token_ids(token) -> list[int]:
    if isinstance(token, int):
        return [token]
    if isinstance(token, torch.Tensor):
        return [int(t) for t in token.flatten().tolist()]
    if isinstance(token, dict):  # a step record such as {"token_id": ..., ...}
        return _token_ids(token.get("token_id", token.get("token")))
    for name in ("token_id", "token_ids", "token"):  # a step object (GenerationStep)
        if hasattr(token, name):
            return _token_ids(getattr(token, name))
    return [int(t) for t in token]
