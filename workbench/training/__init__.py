"""Fine-tuning: `fine_tune(model, train, eval, ...)` -> Run (history, metrics, stop/resume, save, compare).

data.py        any table -> tokenized datasets.Dataset -> dynamically padded batches
loop.py        the training loop (one function), AdamW, linear schedule, accumulation, early stopping
metrics.py     eval loss, accuracy, macro F1
checkpoint.py  atomic training checkpoints (HF model folder + optimizer state)
run.py         Run (background thread, stop / resume / save / compare) and fine_tune
plot.py        loss curve and before/after chart as PNG bytes
datasets.py    real lesson data from installed packages (BBC News)
"""
from .datasets import bbc_news
from .loop import TrainingArgs, TrainState, learning_rate_at, train
from .metrics import accuracy, evaluate, macro_f1
from .run import Run, fine_tune

__all__ = ["fine_tune", "Run", "bbc_news", "train", "TrainingArgs", "TrainState", "learning_rate_at", "evaluate",
           "accuracy", "macro_f1"]
