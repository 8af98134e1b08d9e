"""Generation probabilities: each generated token coloured by the probability the model gave it, with the
top-k alternatives of every step, streaming into the widget as the tokens are produced.

The steps come from `workbench.generation.stream_generate` (one `GenerationStep` per new token: its id, the
text it adds, its log-probability and the top-k alternatives). The view only reads them; `GenerationView`
can also be built from `Step`s made any other way.

    v = wb.show_generation("Once upon a time", model="HuggingFaceTB/SmolLM2-135M-Instruct", max_new_tokens=20)
    v            # streams in a notebook;  v.wait() blocks until done;  v.to_dataframe()
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .base import View
from .text import check_language, say
from .tokens import Piece, Scheme, backend_of, describe_pieces, scheme_of, token_label


@dataclass
class Step:
    token_id: int
    text: str  # the text this token adds (may be "" while a character's bytes are incomplete)
    logprob: float  # log-probability of the chosen token
    alternatives: list[tuple[int, float]] = field(default_factory=list)  # top-k (token id, log-probability), best first

    @classmethod
    def from_generation(cls, step) -> Step:
        """A `workbench.generation.GenerationStep` (top_ids / top_probs are probabilities, best first)."""
        alternatives = [(int(i), math.log(p) if p > 0 else -math.inf) for i, p in zip(step.top_ids, step.top_probs)]
        return cls(int(step.token_id), step.text or "", float(step.logprob), alternatives)


class GenerationView(View):
    kind = "generation"

    def __init__(self, prompt_pieces: list[Piece], label: Callable[[int], str], name: str = "",
                 steps: Iterable[Step] = (), lang: str | None = None):
        self.prompt_pieces, self.label, self.name = prompt_pieces, label, name
        self.steps: list[Step] = list(steps)
        self.done = True
        self.error: str | None = None
        self._listeners: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self.lang = check_language(lang)

    def default_title(self) -> str:
        return say(self.lang, "title_generation_of", name=self.name) if self.name else say(self.lang, "title_generation")

    # ---- streaming --------------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call `callback()` after every new step and at the end (the widget re-reads `traits()`)."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in list(self._listeners):
            callback()

    def consume(self, steps: Iterable, background: bool = False) -> GenerationView:
        """Append steps (stream_generate's or `Step`s) as they come, in a background thread if asked."""
        def run():
            try:
                for step in steps:
                    self.steps.append(step if isinstance(step, Step) else Step.from_generation(step))
                    self._changed()
                    if self._stop_requested.is_set():
                        break
            except Exception as error:  # shown in the view; a background thread has no one else to tell
                self.error = f"{type(error).__name__}: {error}"
                if not background:
                    raise
            finally:
                self.done = True
                self._changed()

        self.done = False
        self._stop_requested.clear()
        if background:
            from ..background import start_background

            self._thread = start_background(run, name="workbench-generation", stop=self.stop)
        else:
            run()
        return self

    def stop(self) -> None:
        """End a streaming generation after the token being made (the tokens so far stay)."""
        self._stop_requested.set()

    def wait(self, timeout: float | None = None) -> GenerationView:
        """Block until the generation has finished."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self

    # ---- data ---------------------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return "".join(step.text for step in self.steps)

    def to_dataframe(self):
        """One row per generated token: step, id, text, probability, top alternatives."""
        import pandas as pd

        return pd.DataFrame([{"step": i, "id": s.token_id, "token": self.label(s.token_id), "text": s.text,
                              "prob": math.exp(s.logprob),
                              "alternatives": [(self.label(t), math.exp(lp)) for t, lp in s.alternatives]}
                             for i, s in enumerate(self.steps)], columns=["step", "id", "token", "text", "prob",
                                                                         "alternatives"])

    def traits(self) -> dict[str, Any]:
        steps = list(self.steps)
        return {"state": {
            "name": self.name, "done": self.done, "error": self.error,
            "prompt": [{"label": label, "special": p.special} for p, label in zip(self.prompt_pieces,
                                                                                   prompt_labels(self.prompt_pieces))],
            "steps": [{"id": s.token_id, "text": s.text if s.text else self.label(s.token_id),
                       "token": self.label(s.token_id), "prob": round(math.exp(s.logprob), 5),
                       "alternatives": [[self.label(t), round(math.exp(lp), 5), t == s.token_id]
                                        for t, lp in s.alternatives]} for s in steps]}}

    def figure(self, width: float = 10.0):
        from matplotlib import colormaps

        from .drawing import token_rows_figure

        colours = colormaps["RdYlGn"]
        self.wait()
        prompt = [{"label": p.piece if p.special else p.covers, "special": True, "gap": True}
                  for p in self.prompt_pieces if p.piece]
        cells = [{"label": self.label(s.token_id), "gap": True, "caption": f"{math.exp(s.logprob):.0%}",
                  "colour": colours(0.15 + 0.7 * math.exp(s.logprob))} for s in self.steps]
        return token_rows_figure([(say(self.lang, "figure_prompt", name=self.name), prompt),
                                  (say(self.lang, "figure_generated"), cells)], width)

    def to_html(self) -> str:
        self.wait()
        return super().to_html()

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<GenerationView {self.name}: {len(self.steps)} tokens, {state}>"


def prompt_labels(pieces: list[Piece]) -> list[str]:
    """What each prompt piece adds to the prompt as it is read: the characters of its span not shown yet
    (pieces that share a character, like the bytes of a Hangul syllable, show it once, on the first of them,
    and the others show ""), or the vocabulary entry of a special token. The non-special labels join up to the
    prompt text."""
    labels, shown = [], {}  # shown: sequence -> characters already shown
    for piece in pieces:
        if piece.special:
            labels.append(piece.piece)
            continue
        done = shown.get(piece.sequence, 0)
        labels.append(piece.covers[max(0, done - piece.start):])
        shown[piece.sequence] = max(done, piece.end)
    return labels


def labeller(backend, scheme: Scheme) -> Callable[[int], str]:
    cache: dict[int, str] = {}

    def label(token_id: int) -> str:
        if token_id not in cache:
            cache[token_id] = token_label(backend, scheme, token_id)
        return cache[token_id]

    return label


def show_generation(prompt: str, model="HuggingFaceTB/SmolLM2-135M-Instruct", *, tokenizer=None,
                    max_new_tokens: int = 30, alternatives: int = 5, stream: bool = True, lang: str | None = None,
                    **generate_kwargs) -> GenerationView:
    """Generate from `prompt` and show each new token with its probability and its `alternatives` most likely
    alternatives.

    With `stream=True` the tokens are produced in a background thread and appear in the widget as they come
    (`v.wait()` blocks until the end); `stream=False` returns when generation is done. Other keyword
    arguments (do_sample, temperature, top_k, top_p, seed, ...) go to `stream_generate`, with transformers'
    meanings: `top_k` limits sampling, it does not change how many alternatives are shown. `lang`: 'en' or 'ko'
    for the view's own texts (None: from the locale).
    """
    lang = check_language(lang)
    from .. import load_model
    from ..generation import stream_generate
    from .attention import display_name, load_model_and_tokenizer

    given = model
    if isinstance(model, str):
        model = load_model(model, task="text-generation")
        tokenizer = tokenizer if tokenizer is not None else given
    model, tokenizer = load_model_and_tokenizer(model, tokenizer)
    batch = tokenizer(prompt, return_tensors="pt")
    backend = backend_of(tokenizer)
    scheme = scheme_of(backend)
    pieces = describe_pieces(batch.encodings[0], [prompt], scheme)
    view = GenerationView(pieces, labeller(backend, scheme), name=display_name(model, given), lang=lang)
    steps = stream_generate(model, batch["input_ids"], attention_mask=batch.get("attention_mask"), tokenizer=tokenizer,
                            max_new_tokens=max_new_tokens, top_alternatives=alternatives, **generate_kwargs)
    return view.consume(steps, background=stream)
