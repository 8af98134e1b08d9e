"""A curated table of classroom-sized checkpoints: what each does, how big it is, and whether it works now.

Parameter counts are the real ones, counted on each checkpoint's architecture (tied weights once).
`download_mb` estimates the weight files fetched from the Hub (parameters x bytes of the stored dtype);
for packaged checkpoints that are installed it is the size of the shipped files.
`memory_mb` estimates fp32 inference on CPU: parameters x 4 bytes, plus 20 % and 100 MB for activations,
the KV cache of short prompts, the tokenizer and the framework (MB = 10^6 bytes, as on the Hub).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import CheckpointNotFoundError, UnsupportedModelError
from .packaged import packaged_path
from .resolve import find_offline, has_weights

BYTES_PER_VALUE = {"float32": 4, "float16": 2, "bfloat16": 2}
ACTIVATION_FRACTION = 0.2
OVERHEAD_MB = 100
TASK_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}


@dataclass(frozen=True)
class Row:
    id: str
    family: str  # config.json model_type
    tasks: tuple[str, ...]  # pipeline tasks it serves as published (base models: feature-extraction, fill-mask)
    parameters: int
    stored_dtype: str  # dtype of the Hub's weight files, for the download estimate
    license: str
    description: str
    language: str = "en"  # what text it understands: "en" (English only), "fr", "multilingual" (Korean too)


MiniLM, SmolLM2 = "sentence-transformers/all-MiniLM-L6-v2", "HuggingFaceTB/SmolLM2-135M-Instruct"
ENCODER = ("feature-extraction", "fill-mask")

# fmt: off
ROWS = (
    # The two that ship in pip packages (see OFFLINE.md); SmolLM2 ships as a Q4_1 GGUF file.
    Row(MiniLM, "bert", ("feature-extraction",), 22_713_216, "float32", "apache-2.0",
        "Sentence embeddings (mean pooling), 6 layers x 384; no masked-LM head."),
    Row(SmolLM2, "llama", ("text-generation",), 134_515_008, "bfloat16", "apache-2.0",
        "Small chat model with a chat template, 30 layers x 576, grouped-query attention."),
    # Encoders.
    Row("bert-base-uncased", "bert", ENCODER, 109_514_298, "float32", "apache-2.0",
        "The original BERT base, lower-cased English, 12 layers x 768."),
    Row("distilbert-base-uncased", "distilbert", ENCODER, 66_985_530, "float32", "apache-2.0",
        "BERT distilled to 6 layers, 60 % faster with most of its accuracy."),
    Row("distilroberta-base", "roberta", ENCODER, 82_170_201, "float32", "apache-2.0",
        "RoBERTa distilled to 6 layers; transformers' default fill-mask model."),
    Row("roberta-base", "roberta", ENCODER, 124_697_433, "float32", "mit",
        "RoBERTa base: BERT trained longer on more data, byte-level BPE."),
    Row("xlm-roberta-base", "xlm-roberta", ENCODER, 278_295_186, "float32", "mit",
        "Multilingual RoBERTa for 100 languages; most parameters are its 250k-token vocabulary.", "multilingual"),
    Row("camembert-base", "camembert", ENCODER, 110_655_493, "float32", "mit",
        "French RoBERTa-style model trained on OSCAR.", "fr"),
    Row("albert-base-v2", "albert", ENCODER, 11_221_680, "float32", "apache-2.0",
        "ALBERT: 12 layers sharing one set of weights, factorised embeddings."),
    Row("google/electra-small-discriminator", "electra", ("feature-extraction",), 13_549_057, "float32",
        "apache-2.0", "ELECTRA small discriminator: spots replaced tokens; a strong small base to fine-tune."),
    Row("prajjwal1/bert-tiny", "bert", ("feature-extraction",), 4_385_920, "float32", "mit",
        "A 2-layer, 128-wide BERT: trains in seconds on a laptop."),
    # Fine-tuned encoders.
    Row("distilbert-base-uncased-finetuned-sst-2-english", "distilbert", ("text-classification",),
        66_955_010, "float32", "apache-2.0", "Positive/negative sentiment of English sentences (SST-2)."),
    Row("cardiffnlp/twitter-roberta-base-sentiment-latest", "roberta", ("text-classification",),
        124_647_939, "float32", "cc-by-4.0", "Negative/neutral/positive sentiment of tweets."),
    Row("dslim/bert-base-NER", "bert", ("token-classification",), 107_726_601, "float32", "mit",
        "Named entities (person, organisation, location, misc) from CoNLL-2003."),
    Row("distilbert-base-cased-distilled-squad", "distilbert", ("question-answering",), 65_192_450,
        "float32", "apache-2.0", "Extractive question answering trained on SQuAD v1.1."),
    Row("deepset/roberta-base-squad2", "roberta", ("question-answering",), 124_056_578, "float32",
        "cc-by-4.0", "Extractive question answering on SQuAD 2.0, which can answer 'no answer'."),
    Row("typeform/distilbert-base-uncased-mnli", "distilbert",
        ("zero-shot-classification", "text-classification"), 66_955_779, "float32", "mit",
        "Natural-language inference (MNLI), usable for zero-shot classification."),
    # Decoders.
    Row("gpt2", "gpt2", ("text-generation",), 124_439_808, "float32", "mit",
        "OpenAI's GPT-2 small, 12 layers x 768, trained on WebText."),
    Row("distilgpt2", "gpt2", ("text-generation",), 81_912_576, "float32", "apache-2.0",
        "GPT-2 distilled to 6 layers."),
    Row("microsoft/DialoGPT-small", "gpt2", ("text-generation",), 124_439_808, "float32", "mit",
        "GPT-2 small trained on Reddit conversations."),
    Row("EleutherAI/pythia-70m", "gpt_neox", ("text-generation",), 70_426_624, "float16", "apache-2.0",
        "Smallest Pythia: GPT-NeoX architecture trained on the Pile, for interpretability studies."),
    Row("EleutherAI/pythia-160m", "gpt_neox", ("text-generation",), 162_322_944, "float16", "apache-2.0",
        "Pythia 160M: GPT-NeoX with rotary embeddings and parallel attention/MLP."),
    Row("HuggingFaceTB/SmolLM2-360M-Instruct", "llama", ("text-generation",), 361_821_120, "bfloat16",
        "apache-2.0", "SmolLM2 360M chat model, 32 layers x 960."),
    Row("Qwen/Qwen2.5-0.5B-Instruct", "qwen2", ("text-generation",), 494_032_768, "bfloat16", "apache-2.0",
        "Qwen2.5 0.5B chat model, multilingual, 151k-token vocabulary.", "multilingual"),
    Row("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "llama", ("text-generation",), 1_100_048_384, "bfloat16",
        "apache-2.0", "Llama 2 architecture at 1.1B parameters, chat-tuned; slow but usable on CPU."),
)
# fmt: on

# The default per task when nothing is available offline (transformers' own default where it is in the
# table); an available checkpoint serving the task is preferred over it, see default_checkpoint().
HUB_DEFAULTS = {
    "feature-extraction": MiniLM,
    "fill-mask": "distilroberta-base",
    "text-classification": "distilbert-base-uncased-finetuned-sst-2-english",
    "token-classification": "dslim/bert-base-NER",
    "question-answering": "distilbert-base-cased-distilled-squad",
    "zero-shot-classification": "typeform/distilbert-base-uncased-mnli",
    "text-generation": SmolLM2,
}

_BY_ID = {row.id.lower(): row for row in ROWS}
COLUMNS = ("id", "family", "tasks", "parameters", "download_mb", "memory_mb", "offline", "source", "license",
           "description", "language")


def catalog(offline: bool | None = None) -> pd.DataFrame:
    """Known checkpoints as a DataFrame, one row each; `offline=True` keeps those usable without network.

    `offline` and `source` are computed now, from the Hugging Face cache and the installed packages,
    without loading any weights. `source` says where wb.load_model() would take the checkpoint from:
    "cache", "package" or "hub".
    """
    records = [_record(row) for row in ROWS]
    table = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    if offline:
        table = table[table["offline"]].reset_index(drop=True)
    return table


def catalog_entry(checkpoint_id: str) -> dict:
    """The catalog row of one checkpoint id as a dict (same keys as the catalog's columns)."""
    row = _BY_ID.get(checkpoint_id.lower())
    if row is None:
        raise CheckpointNotFoundError(
            f"'{checkpoint_id}' is not in the catalog; see wb.catalog() for the known ids "
            "(any Hub id or local folder still loads with wb.load_model)."
        )
    return _record(row)


def default_checkpoint(task: str, offline: bool | None = None) -> str:
    """The catalog's checkpoint for a pipeline task, preferring one that is available offline right now.

    offline=None prefers an available one and falls back to the Hub default (whose resolution then says
    what to do if HF_HUB_OFFLINE is set); offline=True insists on an available one and raises
    CheckpointNotFoundError otherwise; offline=False returns the Hub default.
    """
    task = TASK_ALIASES.get(task, task)
    if task not in HUB_DEFAULTS:
        known = ", ".join(sorted(HUB_DEFAULTS))
        raise UnsupportedModelError(f"The catalog has no checkpoint for task '{task}'; use one of: {known}.")
    hub_default = HUB_DEFAULTS[task]
    if offline is False:
        return hub_default
    candidates = [hub_default] + [row.id for row in ROWS if task in row.tasks and row.id != hub_default]
    for candidate in candidates:
        if _available_offline(candidate) is not None:
            return candidate
    if offline:
        raise CheckpointNotFoundError(
            f"No checkpoint for '{task}' is available offline (not in the Hugging Face cache, not in an "
            f"installed package); download '{hub_default}' once with network access, or fine-tune one."
        )
    return hub_default


def _available_offline(checkpoint_id: str):
    """("cache" | "package", path) when the checkpoint's weights are here now, else None."""
    found = find_offline(checkpoint_id)
    if found is None or (found[0] == "cache" and not has_weights(found[1])):
        return None  # a cached snapshot with only a tokenizer cannot run a model
    return found


def _record(row: Row) -> dict:
    found = _available_offline(row.id)
    source = found[0] if found is not None else "hub"
    return {
        "id": row.id,
        "family": row.family,
        "tasks": row.tasks,
        "parameters": row.parameters,
        "download_mb": _download_mb(row),
        "memory_mb": memory_mb(row.parameters),
        "offline": found is not None,
        "source": source,
        "license": row.license,
        "description": row.description,
        "language": row.language,
    }


def memory_mb(parameters: int) -> int:
    """fp32 inference estimate: weights (4 bytes each) + 20 % for activations + 100 MB of overhead."""
    weights_mb = parameters * 4 / 1e6
    return round(weights_mb * (1 + ACTIVATION_FRACTION) + OVERHEAD_MB)


def _download_mb(row: Row) -> float:
    shipped = packaged_path(row.id)
    if shipped is not None:
        files = [shipped] if shipped.is_file() else [p for p in shipped.rglob("*") if p.is_file()]
        return round(sum(p.stat().st_size for p in files) / 1e6, 1)
    return round(row.parameters * BYTES_PER_VALUE[row.stored_dtype] / 1e6, 1)
