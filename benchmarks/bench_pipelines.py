"""Pipeline overhead: wb.pipeline vs transformers.pipeline on the same checkpoints, side by side in one run.

    .venv/bin/python benchmarks/bench_pipelines.py [--repeats 20]

Cases:
1. feature-extraction on the packaged all-MiniLM-L6-v2: one short sentence (warm, median of N calls) and a
   batch of 64 sentences of different lengths (batch_size=64, median of runs);
2. text-classification on a tiny random BERT (2 layers x 16, MiniLM's tokenizer) where the model costs almost
   nothing, so the time is the pipeline's own: tokenizing, batching, un-padding and post-processing.
Prints each median in milliseconds and the ratio workbench / transformers (< 1: workbench is faster).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
SENTENCE = "The quick brown fox jumps over the lazy dog."
WORDS = ("the model reads every sentence of this benchmark and turns each one into vectors quickly while "
         "students watch numbers appear in a notebook on a small laptop").split()


def sentences(count: int) -> list[str]:
    """Sentences of 4 to 24 words, so a batch needs real padding."""
    return [" ".join(WORDS[(i * 7) % 10:(i * 7) % 10 + 4 + (i * 5) % 21]).capitalize() + "." for i in range(count)]


def median_ms(call, repeats: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def tiny_classifier(folder: Path, minilm: Path) -> Path:
    import transformers

    config = transformers.BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=24, num_labels=2)
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(minilm / name, folder / name)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    warnings.filterwarnings("ignore")

    import transformers

    import workbench as wb
    from workbench.checkpoints import resolve_checkpoint

    transformers.logging.set_verbosity_error()
    minilm = resolve_checkpoint(MODEL_ID)
    batch = sentences(64)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        classifier = tiny_classifier(Path(tmp), minilm)
        for task, folder in (("feature-extraction", minilm), ("text-classification", classifier)):
            ours = wb.pipeline(task, model=folder)
            theirs = transformers.pipeline(task, model=str(folder))
            for case, inputs, options in (("1 sentence", SENTENCE, {}), ("64 sentences", batch, {"batch_size": 64})):
                repeats = args.repeats if case == "1 sentence" else max(3, args.repeats // 4)
                mine = median_ms(lambda: ours(inputs, **options), repeats)
                reference = median_ms(lambda: theirs(inputs, **options), repeats)
                rows.append((task, case, mine, reference))

    print(f"\n{'task':<22}{'input':<15}{'workbench ms':>14}{'transformers ms':>17}{'ratio':>8}")
    for task, case, mine, reference in rows:
        print(f"{task:<22}{case:<15}{mine:>14.2f}{reference:>17.2f}{mine / reference:>8.2f}")


if __name__ == "__main__":
    main()
