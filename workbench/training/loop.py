"""The fine-tuning loop: one function, read top to bottom.

Everything a step needs is a function of the step number, so stopping and resuming (in memory or from a
checkpoint on disk) gives the same result as an uninterrupted run with the same seed:
- the row order of epoch e is `epoch_order(n, seed, e)`; step s of an epoch takes micro-batches
  s*k .. s*k+k-1 of that order (k = gradient accumulation);
- the learning rate is `learning_rate_at(s)` (linear warmup, then linear decay to 0);
- dropout draws from the global torch generator, seeded with (seed, s) at the start of every step.
A step = forward + backward of k micro-batches, gradient clipping, one AdamW update. The loop checks
`should_stop()` only between steps, so a stopped model is always the model after a whole step.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from ..errors import TrainingError
from .data import IGNORE_INDEX, batch_count, collate, epoch_order
from .metrics import evaluate


@dataclass
class TrainingArgs:
    epochs: float = 1
    batch_size: int = 16  # rows per micro-batch
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0  # share of all steps spent warming the learning rate up from 0
    max_grad_norm: float | None = 1.0
    gradient_accumulation: int = 1  # micro-batches per optimizer step (effective batch = batch_size * this)
    eval_every: int | None = None  # also evaluate every N steps (always at the end of each epoch)
    eval_batch_size: int | None = None
    early_stopping: int | None = None  # stop after this many evaluations without a better eval loss
    max_steps: int | None = None  # cap on optimizer steps (overrides epochs)
    seed: int = 0


@dataclass
class TrainState:
    """Where a run is: steps done, the log, early-stopping bookkeeping. Saved with every checkpoint."""
    step: int = 0
    total_steps: int = 0
    steps_per_epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_eval_loss: float = math.inf
    evals_without_improvement: int = 0
    finished: bool = False  # all steps done (or early-stopped): resume has nothing left to do
    reason: str = ""  # why the loop returned: "finished", "stopped", "early stopping", ...
    train_seconds: float = 0.0


def plan(n_rows: int, args: TrainingArgs, state: TrainState) -> None:
    """Fill in the step counts: micro-batches per epoch -> optimizer steps per epoch -> total."""
    state.steps_per_epoch = math.ceil(batch_count(n_rows, args.batch_size) / args.gradient_accumulation)
    state.total_steps = math.ceil(state.steps_per_epoch * args.epochs)
    if args.max_steps is not None:
        state.total_steps = min(state.total_steps, args.max_steps)


def learning_rate_at(step: int, args: TrainingArgs, total_steps: int) -> float:
    """Linear warmup over the first warmup_ratio of steps, then linear decay to 0 at the last step."""
    warmup = math.ceil(args.warmup_ratio * total_steps)
    if step < warmup:
        return args.learning_rate * step / warmup
    return args.learning_rate * max(0.0, (total_steps - step) / max(1, total_steps - warmup))


def make_optimizer(model: torch.nn.Module, args: TrainingArgs) -> torch.optim.AdamW:
    """AdamW; biases and norm weights get no weight decay (decaying a LayerNorm gain towards 0 only hurts)."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (no_decay if parameter.dim() < 2 else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=args.learning_rate)


def label_count(labels: torch.Tensor, next_token: bool = False) -> int:
    """How many labels the loss averages over: rows for sequence labels, kept positions for token labels;
    a causal LM predicts position t+1 from t, so the first position of each row is never a target."""
    if next_token:
        labels = labels[:, 1:]
    return int((labels != IGNORE_INDEX).sum())


def train(
    model: torch.nn.Module,
    train_rows,  # tokenized datasets.Dataset with a `labels` column, torch format
    eval_rows,  # same, or None
    args: TrainingArgs,
    state: TrainState,
    optimizer: torch.optim.Optimizer,
    *,
    pad_token_id: int,
    on_step: Callable[[dict], object] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> TrainState:
    """Run optimizer steps from `state.step` until the plan is done, early stopping fires, or `should_stop()`."""
    n_rows, k = len(train_rows), args.gradient_accumulation
    next_token = getattr(model, "task", "") == "text-generation"
    eval_batch_size = args.eval_batch_size or args.batch_size * 2
    model.train()
    started = time.perf_counter() - state.train_seconds
    while state.step < state.total_steps:
        step = state.step
        epoch, step_in_epoch = divmod(step, state.steps_per_epoch)
        order = epoch_order(n_rows, args.seed, epoch)

        # the micro-batches of this step, and the number of labels in all of them (each micro-batch's mean
        # loss is weighted by its share, so k micro-batches give the gradient of one batch k times larger)
        first = step_in_epoch * k * args.batch_size
        rows_of_step = order[first: first + k * args.batch_size]
        micro_batches = [collate(train_rows[rows_of_step[i: i + args.batch_size].tolist()], pad_token_id)
                         for i in range(0, len(rows_of_step), args.batch_size)]
        labels_in_step = sum(label_count(b["labels"], next_token) for b in micro_batches)

        learning_rate = learning_rate_at(step, args, state.total_steps)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
        torch.manual_seed(args.seed * 1_000_003 + step)  # dropout masks depend on (seed, step) only

        step_loss = 0.0
        for batch in micro_batches:
            loss = model(**batch).loss  # mean over this micro-batch's labels
            share = label_count(batch["labels"], next_token) / labels_in_step
            (loss * share).backward()
            step_loss += float(loss.detach()) * share
        if not math.isfinite(step_loss):
            optimizer.zero_grad(set_to_none=True)  # the model stays as it was after the previous step
            state.reason = "failed"
            raise TrainingError(
                f"The training loss became {step_loss} at step {step + 1} (epoch {epoch + 1}); lower the learning rate "
                f"(now {args.learning_rate:g}) or check the data for broken rows.")
        grad_norm = (torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                     if args.max_grad_norm else None)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        state.step += 1

        record = {"step": state.step, "epoch": state.step / state.steps_per_epoch, "loss": step_loss,
                  "lr": learning_rate, "grad_norm": float(grad_norm) if grad_norm is not None else math.nan}
        end_of_epoch = state.step % state.steps_per_epoch == 0 or state.step == state.total_steps
        if eval_rows is not None and (end_of_epoch or (args.eval_every and state.step % args.eval_every == 0)):
            metrics = evaluate(model, eval_rows, batch_size=eval_batch_size, pad_token_id=pad_token_id)
            model.train()
            record.update({f"eval_{name}": value for name, value in metrics.items()})
            if metrics["loss"] < state.best_eval_loss:
                state.best_eval_loss, state.evals_without_improvement = metrics["loss"], 0
            else:
                state.evals_without_improvement += 1
        state.train_seconds = time.perf_counter() - started
        record["elapsed"] = state.train_seconds
        state.history.append(record)
        if on_step is not None and on_step(record) is False:
            state.reason = "stopped"
            break
        if args.early_stopping and state.evals_without_improvement >= args.early_stopping:
            state.finished, state.reason = True, "early stopping"
            break
        if should_stop():
            state.reason = "stopped"
            break
    else:
        state.finished, state.reason = True, "finished"
    model.eval()
    return state
