"""question-answering (extractive): find the span of the context that answers the question.

    qa = wb.pipeline("question-answering", model="distilbert-base-cased-distilled-squad")
    qa(question="Where do I live?", context="My name is Wolfgang and I live in Berlin")
    # {'score': 0.97, 'start': 34, 'end': 40, 'answer': 'Berlin'}

transformers 5 dropped this pipeline; this one follows transformers 4.57's rule for choosing spans:
1. question + context are tokenized together; a long context is cut into windows of `max_seq_len` tokens that
   overlap by `doc_stride` tokens, each window with the whole question;
2. per window, start and end scores become probabilities by a softmax over the context tokens (plus the first,
   [CLS], token); the [CLS] token's start x end probability is the "no answer" score; then it is set to 0;
3. a span (s, e) scores p_start[s] * p_end[e], for s <= e < s + max_answer_len, both inside the context;
4. spans become character offsets of the context, widened to whole words (`align_to_words=True`); equal
   answers (ignoring case) found in several windows add up their scores;
5. the best `top_k` answers are returned (plus {"answer": "", "start": 0, "end": 0} scored with the smallest
   "no answer" score of all windows, when `handle_impossible_answer=True`): one dict, or a list when more.
4.57 also fills short lists with zero-score spans of invalid shape; those are left out here.
"""
from __future__ import annotations

import torch

from ..errors import TokenizerError
from .base import Pipeline, PipelineError, check_text

NO_SCORE = -10000.0  # logit given to tokens that cannot be part of an answer (question, separators)


class QuestionAnsweringPipeline(Pipeline):
    task = "question-answering"
    token_outputs = ("start_logits", "end_logits")

    def _sanitize_parameters(self, top_k=1, doc_stride=None, max_answer_len=15, max_seq_len=None,
                             max_question_len=64, handle_impossible_answer=False, align_to_words=True, padding=None,
                             topk=None):
        top_k = topk if topk is not None else top_k
        for name, value in (("top_k", top_k), ("max_answer_len", max_answer_len)):
            if not isinstance(value, int) or value < 1:
                raise PipelineError(f"{name} must be a positive integer, got {value!r}.")
        max_seq_len = min(self.max_tokens, 384) if max_seq_len is None else max_seq_len
        doc_stride = min(max_seq_len // 2, 128) if doc_stride is None else doc_stride
        if doc_stride > max_seq_len:
            raise PipelineError(f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len}); make the "
                                "overlap smaller than the window.")
        if max_seq_len > self.max_tokens:
            raise PipelineError(f"max_seq_len={max_seq_len} is more than the {self.max_tokens} tokens this model "
                                "reads; use a smaller one.")
        pre = {"max_seq_len": max_seq_len, "doc_stride": doc_stride}
        post = {"top_k": top_k, "max_answer_len": max_answer_len, "align_to_words": bool(align_to_words),
                "handle_impossible_answer": bool(handle_impossible_answer)}
        return pre, {}, post

    def __call__(self, *args, question=None, context=None, **options):
        """qa(question=..., context=...), qa({"question": ..., "context": ...}), a list of such dicts,
        qa(question=[...], context="one context"), or qa("question", "context")."""
        examples = self.examples(args, question, context)
        return super().__call__(examples[0] if len(examples) == 1 else examples, **options)

    @staticmethod
    def examples(args: tuple, question, context) -> list[dict]:
        if len(args) == 2 and all(isinstance(a, str) for a in args):
            question, context = args
        elif len(args) == 1:
            given = args[0]
            examples = [given] if isinstance(given, dict) else list(given) if isinstance(given, (list, tuple)) else None
            if examples is None or not examples or not all(isinstance(e, dict) for e in examples):
                raise PipelineError('question-answering takes question=... and context=... (or a dict {"question": '
                                    '..., "context": ...}, or a list of them).')
            return examples
        elif args:
            raise PipelineError("question-answering takes question=... and context=...; pass them by name.")
        if question is None:
            raise PipelineError("question-answering needs a question; pass question=... and context=....")
        if context is None:
            raise PipelineError("question-answering needs a context to find the answer in; pass context=... with the "
                                "text that holds the answer.")
        if isinstance(question, str) and isinstance(context, str):
            return [{"question": question, "context": context}]
        if isinstance(question, list) and isinstance(context, str):
            return [{"question": q, "context": context} for q in question]
        if isinstance(question, list) and isinstance(context, list):
            if len(question) != len(context):
                raise PipelineError(f"Got {len(question)} questions but {len(context)} contexts; pass one context "
                                    "per question (or one context for all).")
            return [{"question": q, "context": c} for q, c in zip(question, context)]
        raise PipelineError("question and context must be strings (or lists of strings).")

    def split_inputs(self, inputs):
        return ([inputs], True) if isinstance(inputs, dict) else (list(inputs), False)

    def preprocess(self, example, max_seq_len=384, doc_stride=128):
        missing = [key for key in ("question", "context") if key not in example]
        if missing:
            raise PipelineError(f"The example has no {missing[0]!r}; pass a dict with 'question' and 'context'.")
        question = check_text(example["question"], "question", allow_empty=False)
        context = check_text(example["context"], "context", allow_empty=False)
        question_first = self.padding_side == "right"  # the text that may be cut goes on the padding side
        try:
            encoding = self.tokenizer(question if question_first else context,
                                      context if question_first else question,
                                      truncation="only_second" if question_first else "only_first",
                                      max_length=max_seq_len, stride=doc_stride, return_overflowing_tokens=True,
                                      return_offsets_mapping=True, return_special_tokens_mask=True)
        except TokenizerError:
            raise PipelineError(f"The question is too long to leave room for the context in windows of {max_seq_len} "
                                "tokens; shorten the question or pass a larger max_seq_len.") from None
        context_index = 1 if question_first else 0
        cls_id = getattr(self.tokenizer, "cls_token_id", None)
        windows = []
        for i, tokens in enumerate(encoding.encodings):
            # can_answer: 1 for context tokens (and [CLS], the "no answer" slot), 0 for question and separators
            can_answer = [int(sequence == context_index or token == cls_id)
                          for sequence, token in zip(tokens.sequence_ids, tokens.ids)]
            windows.append({key: values[i] for key, values in encoding.items() if key != "overflow_to_sample_mapping"}
                           | {"can_answer": can_answer, "tokens": tokens, "context": context,
                              "context_index": context_index})
        return windows

    def _forward(self, batch):
        out = self.model(**batch)
        return {"start_logits": out.start_logits, "end_logits": out.end_logits}  # each [B, T]

    def postprocess(self, windows, top_k=1, max_answer_len=15, align_to_words=True, handle_impossible_answer=False):
        no_answer_score = 1e6
        answers: dict[str, dict] = {}  # lower-cased answer text -> answer
        for window in windows:
            can_answer = torch.tensor(window["can_answer"], dtype=torch.bool)
            start = torch.softmax(window["start_logits"].float().masked_fill(~can_answer, NO_SCORE), dim=-1)
            end = torch.softmax(window["end_logits"].float().masked_fill(~can_answer, NO_SCORE), dim=-1)
            no_answer_score = min(no_answer_score, float(start[0] * end[0]))
            start[0] = end[0] = 0.0  # the first token is never part of an answer
            per_window = top_k * 2 + 10 if align_to_words else top_k  # widening to words may merge some
            for s, e, score in best_spans(start, end, can_answer, max_answer_len, per_window):
                first, last = self.char_span(window, s, e, align_to_words)
                text = window["context"][first:last]
                if text.lower() in answers:
                    answers[text.lower()]["score"] += score
                else:
                    answers[text.lower()] = {"score": score, "start": first, "end": last, "answer": text}
        ranked = list(answers.values())
        if handle_impossible_answer:
            ranked.append({"score": no_answer_score, "start": 0, "end": 0, "answer": ""})
        ranked = sorted(ranked, key=lambda answer: answer["score"], reverse=True)[:top_k]
        return ranked[0] if len(ranked) == 1 else ranked

    @staticmethod
    def char_span(window: dict, s: int, e: int, align_to_words: bool) -> tuple[int, int]:
        """Characters of the context covered by tokens s..e, widened to whole words when asked."""
        tokens = window["tokens"]
        if align_to_words:
            first_word, last_word = tokens.token_to_word(s), tokens.token_to_word(e)
            if first_word is not None and last_word is not None:
                first = tokens.word_to_chars(first_word, window["context_index"])
                last = tokens.word_to_chars(last_word, window["context_index"])
                if first is not None and last is not None:
                    return first[0], last[1]
        return tokens.offsets[s][0], tokens.offsets[e][1]

    def to_dataframe(self, result, items, single):
        import pandas as pd

        rows = [result] if single else result
        records = [{"question": item["question"], **answer}
                   for item, row in zip(items, rows) for answer in (row if isinstance(row, list) else [row])]
        return pd.DataFrame.from_records(records)


def best_spans(start: torch.Tensor, end: torch.Tensor, can_answer: torch.Tensor, max_answer_len: int,
               k: int) -> list[tuple[int, int, float]]:
    """The k best (start, end, p_start * p_end) with start <= end < start + max_answer_len, both answerable."""
    scores = start[:, None] * end[None, :]  # [T, T]: row = start token, column = end token
    T = scores.shape[0]
    offsets = torch.arange(T)[None, :] - torch.arange(T)[:, None]  # end - start
    valid = (offsets >= 0) & (offsets < max_answer_len) & can_answer[:, None] & can_answer[None, :]
    valid &= scores > 0  # the [CLS] slot (zeroed above) and underflowed tokens are no answer
    flat = torch.where(valid, scores, torch.tensor(-1.0)).flatten()
    count = min(k, int(valid.sum()))
    best = torch.topk(flat, count).indices.tolist() if count else []
    return [(i // T, i % T, float(flat[i])) for i in best]
