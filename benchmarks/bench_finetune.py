"""Fine-tuning speed: wb.fine_tune vs transformers' Trainer on the same data and hyper-parameters,
and what the live panel's plotting costs.

    .venv/bin/python benchmarks/bench_finetune.py [--per-class 80] [--epochs 2]

Task: the lesson of the notebooks. all-MiniLM-L6-v2 with a fresh 5-class head on BBC News (400 articles =
80 per topic, 100 held out for evaluation after each epoch), max length 128, batch 16, learning rate 5e-5,
linear decay, no warmup, no weight decay, gradient clipping at 1.0, seed 0, 2 CPU threads.

Runs, one after another in this process:
1. workbench, live=False                      (the loop alone)
2. transformers Trainer, eval each epoch      (DataCollatorWithPadding, no saving, no reporting)
3. workbench, live="widget"                    (the real panel, drawing PNGs in its thread; no browser)
Timed: the training call (loop + per-epoch evaluation), not model loading or tokenizing. Prints steps/s,
the ratio workbench / Trainer (>1 = faster) and the plotting overhead (target < 5%).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def data(per_class: int):
    from workbench.training import bbc_news

    articles = bbc_news(n_per_class=per_class + 20, seed=0)
    train = articles.groupby("label", group_keys=False).head(per_class).sample(frac=1.0, random_state=0)
    held_out = articles.drop(train.index)
    return train.reset_index(drop=True), held_out.reset_index(drop=True)


def run_workbench(train, held_out, epochs: int, live):
    import workbench as wb

    started = time.perf_counter()
    run = wb.fine_tune(MODEL_ID, train, held_out, epochs=epochs, batch_size=16, learning_rate=5e-5, max_length=128,
                       seed=0, live=live, wait=False)
    setup = time.perf_counter() - started
    run.wait()
    loop = run.state.train_seconds
    drawing = run.panel.drawing_seconds if run.panel is not None else 0.0
    draws = run.panel.draw_count if run.panel is not None else 0
    return {"setup": setup, "train": loop, "steps": run.state.step, "accuracy": run.metrics["eval_accuracy"],
            "drawing": drawing, "draws": draws}


def run_trainer(train, held_out, epochs: int):
    import datasets
    import transformers

    from workbench.checkpoints import resolve_checkpoint

    folder = resolve_checkpoint(MODEL_ID)
    labels = sorted(train.label.unique())
    started = time.perf_counter()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)})

    def encode(frame):
        rows = datasets.Dataset.from_pandas(frame.assign(label=frame.label.map(labels.index)), preserve_index=False)
        return rows.map(lambda b: tokenizer(b["text"], truncation=True, max_length=128), batched=True,
                        remove_columns=["text"])

    with tempfile.TemporaryDirectory() as output_dir:
        args = transformers.TrainingArguments(
            output_dir=output_dir, per_device_train_batch_size=16, per_device_eval_batch_size=32,
            num_train_epochs=epochs, learning_rate=5e-5, lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0,
            max_grad_norm=1.0, seed=0, eval_strategy="epoch", save_strategy="no", report_to=[], logging_steps=5,
            dataloader_num_workers=0, use_cpu=True, disable_tqdm=True)
        def accuracy(prediction):
            return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}

        trainer = transformers.Trainer(model=model, args=args, train_dataset=encode(train), eval_dataset=encode(held_out),
                                       data_collator=transformers.DataCollatorWithPadding(tokenizer),
                                       compute_metrics=accuracy)
        setup = time.perf_counter() - started
        loop_started = time.perf_counter()
        trainer.train()
        loop = time.perf_counter() - loop_started
    accuracy = [r["eval_accuracy"] for r in trainer.state.log_history if "eval_accuracy" in r][-1]
    return {"setup": setup, "train": loop, "steps": trainer.state.global_step, "accuracy": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=80)
    parser.add_argument("--epochs", type=int, default=2)
    options = parser.parse_args()
    torch.set_num_threads(2)
    warnings.filterwarnings("ignore")
    train, held_out = data(options.per_class)
    print(f"BBC News: {len(train)} train / {len(held_out)} eval articles, {options.epochs} epochs, batch 16, length 128")

    results = {}
    results["workbench"] = run_workbench(train, held_out, options.epochs, live=False)
    results["Trainer"] = run_trainer(train, held_out, options.epochs)
    results["workbench + live panel"] = run_workbench(train, held_out, options.epochs, live="widget")

    print(f"\n{'run':<26}{'setup s':>9}{'train s':>9}{'steps':>7}{'steps/s':>9}{'eval acc':>10}")
    for name, r in results.items():
        print(f"{name:<26}{r['setup']:>9.1f}{r['train']:>9.1f}{r['steps']:>7}{r['steps'] / r['train']:>9.3f}"
              f"{r['accuracy']:>10.3f}")
    ours, theirs, live = results["workbench"], results["Trainer"], results["workbench + live panel"]
    print(f"\nspeed workbench / Trainer: {theirs['train'] / ours['train']:.2f}x (target >= 1.0x)")
    print(f"live panel: {live['draws']} pictures, {live['drawing']:.2f} s drawing = "
          f"{100 * live['drawing'] / live['train']:.1f}% of its training time; wall time vs live=False "
          f"{100 * (live['train'] / ours['train'] - 1):+.1f}% (target < 5%)")


if __name__ == "__main__":
    main()
