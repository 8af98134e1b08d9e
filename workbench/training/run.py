"""`fine_tune(...)` -> a `Run`: the loop of loop.py in a background thread, with stop / resume / save / compare.

    run = wb.fine_tune("sentence-transformers/all-MiniLM-L6-v2", train_df, eval_df, epochs=2)
    run.history          # DataFrame: step, epoch, loss, lr, grad_norm, eval_loss, eval_accuracy, eval_f1, elapsed
    run.metrics          # {"eval_accuracy": 0.94, ...} from the last evaluation
    run.compare(texts)   # predictions before vs after
    run.save("my-model") # a Hugging Face folder that transformers loads

Training runs in a thread so that a notebook stays responsive: the live panel's Stop button sets a flag
the loop reads between steps. Without a notebook front end, progress is printed instead.
"""
from __future__ import annotations

import copy
import math
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

from ..background import start_background
from ..errors import TrainingError
from . import data as D
from .checkpoint import load_training_state, save_checkpoint
from .loop import TrainingArgs, TrainState, make_optimizer, plan, train
from .metrics import evaluate

SUPPORTED_TASKS = ("text-classification", "token-classification", "text-generation")


class Run:
    """One fine-tuning run. Created and started by `fine_tune`; everything here is safe to call from a notebook
    cell while the run trains in its thread."""

    def __init__(self, model, tokenizer, train_rows, eval_rows, args: TrainingArgs, *, task: str,
                 state: TrainState | None = None, optimizer_state: dict | None = None,
                 output_dir: str | Path | None = None, on_step: Callable[[dict], Any] | None = None,
                 max_length: int = 128, chat: bool = False, reload_from: str | Path | None = None,
                 save_every: int | None = None):
        self.model, self.tokenizer, self.task, self.args = model, tokenizer, task, args
        self.train_rows, self.eval_rows = train_rows, eval_rows
        self.max_length = max_length
        self._chat = chat  # text-generation on conversations: compare() wraps its prompts in the chat template
        self.pad_token_id = D.pad_token_id_of(tokenizer, model)
        self.state = state or TrainState()
        plan(len(train_rows), args, self.state)
        self.optimizer = make_optimizer(model, args)
        if optimizer_state is not None:
            self.optimizer.load_state_dict(optimizer_state)
        # weights before training, for compare(). A model that fine_tune loaded itself can be loaded again from
        # its checkpoint, so only its fresh head is kept (a full copy of SmolLM2 would cost 540 MB); anything
        # else is copied, since the model object is trained in place.
        self._reload_from = reload_from
        kept = set(model.loading_info.get("fresh", [])) if reload_from is not None else None
        self._weights_before = {k: v.detach().clone() for k, v in model.state_dict().items()
                                if kept is None or k in kept}
        self.output_dir = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="workbench-run-"))
        self.checkpoint: Path | None = None  # the last checkpoint written (on stop, or every `save_every` steps)
        self.save_every = save_every
        self.status = "ready"  # ready -> running -> finished | stopped | failed
        self.error: BaseException | None = None
        self.panel = None  # the live widget, when shown in a notebook
        self._user_on_step = on_step
        self._listeners: list[Callable[[dict | None], None]] = []  # live panel / printer: called per step, None at the end
        self._stop_requested = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- what a notebook reads -------------------------------------------------------------------------
    @property
    def history(self):
        import pandas as pd

        columns = ["step", "epoch", "loss", "lr", "grad_norm", "eval_loss", "eval_perplexity", "eval_accuracy",
                   "eval_f1", "elapsed"]
        if self.task == "text-generation":
            columns.remove("eval_f1")
        else:
            columns.remove("eval_perplexity")
        frame = pd.DataFrame(list(self.state.history))
        return frame.reindex(columns=columns + [c for c in frame.columns if c not in columns])

    @property
    def metrics(self) -> dict[str, float]:
        """The latest train loss and eval metrics, plus step and epoch."""
        out: dict[str, float] = {}
        for record in self.state.history:
            out.update({k: v for k, v in record.items() if not (isinstance(v, float) and math.isnan(v))})
        return out

    def progress(self) -> dict[str, Any]:
        """step / total, epoch / epochs, elapsed and estimated remaining seconds, status, last metrics."""
        step, total = self.state.step, self.state.total_steps
        elapsed = self.state.train_seconds
        eta = elapsed / step * (total - step) if step else math.nan
        return {"step": step, "total_steps": total, "epoch": step / max(1, self.state.steps_per_epoch),
                "epochs": total / max(1, self.state.steps_per_epoch), "elapsed": elapsed, "eta": eta,
                "status": self.status, "metrics": self.metrics, "message": str(self.error) if self.error else ""}

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __repr__(self) -> str:
        p = self.progress()
        return f"<Run {self.task} {self.status}: step {p['step']}/{p['total_steps']}, epoch {p['epoch']:.2f}>"

    # ---- control -----------------------------------------------------------------------------------------
    @property
    def stop_requested(self) -> bool:
        return self._stop_requested.is_set()

    def start(self) -> Run:
        if self.running and self.status == "running":
            return self
        if self._thread is not None:
            self._thread.join()  # the previous thread is only reporting its end
        if self.state.finished:
            raise TrainingError(f"This run has already {self.state.reason}; start a new fine_tune to train more.")
        self._stop_requested.clear()
        self.status, self.error = "running", None
        self._thread = start_background(self._train, name="workbench-fine-tune", stop=self.stop)
        return self

    def stop(self) -> None:
        """Ask the loop to stop after the current step; it then saves a checkpoint (see `run.checkpoint`)."""
        self._stop_requested.set()

    def resume(self, wait: bool = False) -> Run:
        """Continue a stopped run from where it stopped (the same result as never stopping)."""
        self.start()
        return self.wait() if wait else self

    def wait(self) -> Run:
        """Block until the run finishes or stops (a notebook panel keeps its buttons working meanwhile)."""
        if self._thread is not None:
            if self.panel is not None:
                self.panel.wait_for(self._thread, self.stop)
            else:
                try:
                    while self._thread.is_alive():
                        self._thread.join(0.2)
                except KeyboardInterrupt:  # Ctrl-C / interrupt kernel: stop cleanly instead of leaving a thread
                    self.stop()
                    self._thread.join()
        if self.error is not None:
            if isinstance(self.error, TrainingError):
                self.error.run = self  # the run (its history, the model before the failure) stays reachable
            raise self.error
        return self

    def add_listener(self, listener: Callable[[dict | None], None]) -> None:
        """`listener(record)` after every step and `listener(None)` when the thread ends (live panel, printer)."""
        self._listeners.append(listener)

    def _train(self) -> None:
        try:
            train(self.model, self.train_rows, self.eval_rows, self.args, self.state, self.optimizer,
                  pad_token_id=self.pad_token_id, on_step=self._on_step, should_stop=self._stop_requested.is_set)
            self.status = "finished" if self.state.finished else "stopped"
            if self.status == "stopped":
                self.save_checkpoint()
        except BaseException as error:  # shown by wait() / the panel; the thread must not die silently
            self.status, self.error = "failed", error
            self.model.eval()
        finally:
            for listener in self._listeners:
                listener(None)

    def _on_step(self, record: dict):
        if self.save_every and record["step"] % self.save_every == 0:  # between steps: a consistent model
            previous = self.checkpoint
            self.save_checkpoint()
            if previous is not None and previous != self.checkpoint:
                shutil.rmtree(previous, ignore_errors=True)  # keep the latest only: a checkpoint can be large
        for listener in self._listeners:
            listener(record)
        if self._user_on_step is not None:
            return self._user_on_step(record)
        return None

    # ---- saving and comparing ---------------------------------------------------------------------------
    def save_checkpoint(self, folder: str | Path | None = None) -> Path:
        """Model + tokenizer + optimizer + step, written atomically; `fine_tune(..., resume_from=folder)` goes on."""
        if self.running and threading.current_thread() is not self._thread:
            raise TrainingError("The run is training; call run.stop() (it saves a checkpoint) or wait for it first.")
        folder = Path(folder) if folder else self.output_dir / f"checkpoint-{self.state.step}"
        self.checkpoint = save_checkpoint(folder, self.model, self.tokenizer, self.optimizer, self.state, self.args)
        return self.checkpoint

    def save(self, folder: str | Path) -> Path:
        """The trained model and tokenizer as a Hugging Face folder (config with the label names)."""
        if self.running:
            raise TrainingError("The run is still training; call run.wait() or run.stop() before saving.")
        folder = Path(folder)
        self.model.save_pretrained(folder)
        if hasattr(self.tokenizer, "save_pretrained"):
            self.tokenizer.save_pretrained(folder)
        return folder

    def evaluate(self, data=None) -> dict[str, float]:
        """Loss, accuracy and macro F1 on `data` (default: the eval data of the run)."""
        rows = self.eval_rows if data is None else self._encode(data, role="eval")
        if rows is None:
            raise TrainingError("This run has no eval data; pass data to run.evaluate(data).")
        return evaluate(self.model, rows, batch_size=self.args.eval_batch_size or 2 * self.args.batch_size,
                        pad_token_id=self.pad_token_id)

    def _encode(self, data, role: str):
        rows = D.check_columns(D.as_dataset(data, role=role), self.task, role)
        return _encode(rows, self.model, self.tokenizer, self.task, self.max_length, role)

    def model_before(self):
        """A new model object with the weights this run started from."""
        if self._reload_from is not None:
            from ..models.loading import load_model

            labels = list(self.model.config.id2label.values()) if self._weights_before else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the fresh head is replaced right below
                before = load_model(self._reload_from, self.task, labels=labels)
            before.load_state_dict(self._weights_before, strict=False)
            return before
        before = copy.deepcopy(self.model)
        before.load_state_dict(self._weights_before)
        return before

    def compare(self, texts: list[str] | str, chart: bool = True, max_new_tokens: int = 24):
        """Predictions before and after fine-tuning, one row per text, with their confidence.

        text-classification: the label and its probability. token-classification: the tag of each word
        (words split on spaces) and the mean probability of those tags. text-generation: the greedy
        continuation of each text (a user message when trained on chats; up to `max_new_tokens`) and its mean
        token probability. In a notebook, `chart=True` also
        shows a small bar chart of the two confidences."""
        import pandas as pd

        from .predict import continue_texts, predict_labels, predict_word_tags

        texts = [texts] if isinstance(texts, str) else list(texts)
        before = self.model_before()
        columns = []
        for name, model in (("before", before), ("after", self.model)):
            if self.task == "text-generation":
                labels, scores = continue_texts(model, self.tokenizer, texts, chat=self._chat,
                                                max_new_tokens=max_new_tokens)
            elif self.task == "token-classification":
                labels, scores = predict_word_tags(model, self.tokenizer, texts, max_length=self.max_length)
            else:
                labels, scores = predict_labels(model, self.tokenizer, texts, max_length=self.max_length)
            columns.append(pd.DataFrame({name: labels, f"{name}_score": scores}))
        table = pd.concat([pd.DataFrame({"text": texts}), *columns], axis=1)
        if chart:
            _show_png(comparison_chart(table))
        return table


def comparison_chart(table) -> bytes:
    from .plot import comparison_png

    return comparison_png(table)


def _show_png(png: bytes) -> None:
    from .progress import in_notebook_kernel

    if in_notebook_kernel():
        from IPython.display import Image, display

        display(Image(png))


# ---- the public entry point ------------------------------------------------------------------------------

def fine_tune(
    model,
    train,
    eval=None,
    task: str = "text-classification",
    epochs: float = 1,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    max_length: int = 128,
    seed: int = 0,
    live: bool | str = True,
    wait: bool = True,
    *,
    tokenizer=None,
    gradient_accumulation: int = 1,
    weight_decay: float = 0.0,
    warmup_ratio: float = 0.0,
    max_grad_norm: float | None = 1.0,
    eval_every: int | None = None,
    eval_batch_size: int | None = None,
    early_stopping: int | None = None,
    max_steps: int | None = None,
    output_dir: str | Path | None = None,
    save_every: int | None = None,
    resume_from: str | Path | None = None,
    on_step: Callable[[dict], Any] | None = None,
) -> Run:
    """Fine-tune `model` (a checkpoint name/folder, or a model object) on `train`; returns the `Run`.

    train / eval: a pandas DataFrame, datasets.Dataset / DatasetDict, CSV/JSON path or list of dicts with
    `text` (and optional `text_pair`) and `label` (names or integer ids). A checkpoint name gets a fresh
    head with the data's label names. `live`: True shows a panel in a notebook (printed progress
    elsewhere), "print" always prints, False is silent. `wait=False` returns at once (`run.wait()` joins).
    `on_step(record)` is called after every optimizer step; returning False stops the run. Stop writes a
    checkpoint to `output_dir` (a temporary folder by default); `save_every=N` also writes one every N steps
    (keeping the latest).
    `resume_from`: a checkpoint folder of a stopped run (`run.checkpoint`): model, optimizer, step and
    hyper-parameters come from it and training goes on as if never stopped.
    """
    from ..models.registry import normalise_task

    task = normalise_task(task)
    if task not in SUPPORTED_TASKS:
        raise TrainingError(f"fine_tune supports {list(SUPPORTED_TASKS)} for now, not {task!r}.")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("gradient_accumulation", gradient_accumulation),
                        ("max_length", max_length)):
        if not value or value <= 0:
            raise TrainingError(f"{name} must be positive, not {value!r}.")
    args = TrainingArgs(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
                        warmup_ratio=warmup_ratio, max_grad_norm=max_grad_norm,
                        gradient_accumulation=gradient_accumulation, eval_every=eval_every,
                        eval_batch_size=eval_batch_size, early_stopping=early_stopping, max_steps=max_steps, seed=seed)
    state = optimizer_state = None
    if resume_from is not None:
        optimizer_state, state, args = load_training_state(resume_from)
        model = resume_from

    import datasets

    if eval is None and isinstance(train, datasets.DatasetDict):
        eval = next((train[s] for s in ("validation", "eval", "test") if s in train), None)
    train_rows = D.check_columns(D.as_dataset(train, role="train"), task, "train")
    eval_rows = None
    if eval is not None:
        eval_rows = D.check_columns(D.as_dataset(eval, role="eval"), task, "eval")

    names = None if task == "text-generation" else D.label_names(train_rows)
    loaded_here = isinstance(model, (str, Path))
    model, tokenizer = _model_for_labels(model, tokenizer, task, names, train_rows, seed,
                                         resuming=resume_from is not None)
    train_encoded = _encode(train_rows, model, tokenizer, task, max_length, "train")
    eval_encoded = _encode(eval_rows, model, tokenizer, task, max_length, "eval") if eval_rows is not None else None

    run = Run(model, tokenizer, train_encoded, eval_encoded, args, task=task, state=state,
              optimizer_state=optimizer_state, output_dir=output_dir, on_step=on_step, max_length=max_length,
              chat=task == "text-generation" and D.TEXT not in train_rows.column_names,
              reload_from=model.checkpoint_path if loaded_here else None, save_every=save_every)
    _attach_progress(run, live)
    if run.state.finished:
        return run
    run.start()
    return run.wait() if wait else run


def _encode(rows, model, tokenizer, task: str, max_length: int, role: str):
    """Checked rows -> tokenized rows with `labels` for the task."""
    if task == "text-generation":
        return D.encode_causal(rows, tokenizer, max_length=max_length)
    ids = D.label_ids(rows, model.config.label2id, model.config.num_labels, role)
    return D.encode(rows, tokenizer, ids, max_length=max_length)


def _model_for_labels(model, tokenizer, task: str, names: list[str] | None, rows, seed: int, resuming: bool):
    """The model to train (loaded with a fresh head for the data's labels when given by name) and its tokenizer."""
    from .. import load_tokenizer
    from ..models.base import FreshWeightsWarning
    from ..models.loading import load_model

    if isinstance(model, (str, Path)):
        checkpoint = model
        from ..checkpoints import read_config, resolve_checkpoint

        folder = resolve_checkpoint(checkpoint)
        existing = read_config(folder).get("id2label") if folder.is_dir() else None
        torch.manual_seed(seed)  # the fresh head's initial weights are part of the reproducible run
        same_labels = existing is not None and names is not None and sorted(existing.values()) == sorted(names)
        keep_head = resuming or task == "text-generation" or same_labels
        if keep_head:  # e.g. a checkpoint of this very run: its head already has these labels
            model = load_model(checkpoint, task)
        else:
            labels = names if names is not None else D.label_count_needed(rows)
            with warnings.catch_warnings():  # the fresh head is the point here, not news
                warnings.simplefilter("ignore", FreshWeightsWarning)
                model = load_model(checkpoint, task, labels=labels)
        tokenizer = tokenizer or load_tokenizer(checkpoint)
    else:
        if tokenizer is None:
            source = getattr(model, "checkpoint_path", None) or getattr(model, "name_or_path", None)
            if source is None:
                raise TrainingError("This model was not loaded from a checkpoint, so its tokenizer is unknown; "
                                    "pass tokenizer=wb.load_tokenizer(<name>).")
            tokenizer = load_tokenizer(source)
        config = model.config
        if task != "text-generation" and names is not None and not set(names) <= set(config.label2id):
            generic = all(label == f"LABEL_{i}" for i, label in config.id2label.items())
            if generic and len(names) == config.num_labels:
                config.set_labels(names)  # an unnamed head of the right size: give its outputs the data's names
            else:
                raise TrainingError(
                    f"The model's head has labels {list(config.id2label.values())[:10]} but the data has {names[:10]}; "
                    "pass the checkpoint name instead (a fresh head is made for the data's labels).")
    if task != getattr(model, "task", task):
        raise TrainingError(f"The model has a {model.task} head, not {task}; load it with task={task!r}.")
    return model, tokenizer


def _attach_progress(run: Run, live: bool | str) -> None:
    from .progress import PrintedProgress, in_notebook_kernel

    if live is False or live is None:
        return
    if live == "widget" or (live is True and in_notebook_kernel()):
        from ..widgets.training import TrainingPanel  # upward import on purpose: the panel is optional UI

        run.panel = TrainingPanel(run)
        run.add_listener(run.panel.update)
        run.panel.show()
    else:
        run.add_listener(PrintedProgress(run))
