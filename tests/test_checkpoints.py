"""The checkpoints layer: where checkpoints come from, how weights are read and written, the catalog.

Everything runs offline. The Hugging Face cache is a temporary folder laid out exactly as huggingface_hub
lays it out (checked with huggingface_hub's own scan_cache_dir); the packaged checkpoints are the real
installed files; transformers is only the reference that must load what we write.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

import huggingface_hub
import huggingface_hub.constants
import pandas as pd
import pytest
import safetensors.torch
import torch

from workbench.checkpoints import (
    catalog,
    catalog_entry,
    choose_files_to_download,
    default_checkpoint,
    hub_cache_dir,
    hub_offline,
    read_config,
    read_state_dict,
    resolve_checkpoint,
    write_state_dict,
)
from workbench.checkpoints.known import HUB_DEFAULTS, ROWS
from workbench.errors import CheckpointNotFoundError, UnsupportedModelError, WeightsError

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def empty_hub_cache(tmp_path_factory, monkeypatch) -> Path:
    """Every test starts offline with an empty Hugging Face cache of its own (never the user's)."""
    cache = tmp_path_factory.mktemp("hf_cache")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def add_to_hub_cache(cache: Path, repo_id: str, files: dict[str, bytes], commit: str = COMMIT) -> Path:
    """Lay files out as huggingface_hub does: blobs by hash, snapshot symlinks, refs/main -> commit."""
    repo_folder = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_folder / "snapshots" / commit
    for relative_path, content in files.items():
        blob = repo_folder / "blobs" / hashlib.sha256(content).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
        link = snapshot / relative_path
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo_folder / "refs").mkdir(parents=True, exist_ok=True)
    (repo_folder / "refs" / "main").write_text(commit)
    return snapshot


def tiny_checkpoint_files(with_weights: bool = True) -> dict[str, bytes]:
    files = {
        "config.json": json.dumps({"model_type": "bert", "hidden_size": 4}).encode(),
        "tokenizer.json": b"{}",
    }
    if with_weights:
        files["model.safetensors"] = safetensors.torch.save({"w": torch.arange(6.0).reshape(2, 3)})
    return files


@pytest.fixture
def no_network(monkeypatch):
    """Record (and refuse) every attempt to open a network connection."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network access attempted in an offline test: {address}")

    def refuse_lookup(host, *args, **kwargs):
        attempts.append(host)
        raise socket.gaierror(socket.EAI_NONAME, f"name lookup attempted in an offline test: {host}")

    monkeypatch.setattr(socket.socket, "connect", lambda self, address: refuse(self, address))
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, address: refuse(self, address))
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    return attempts


# ---------------------------------------------------------------------------------------------- resolve


def test_local_folder_is_returned_as_is(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert resolve_checkpoint(folder) == folder
    assert resolve_checkpoint(str(folder)) == folder


def test_local_folder_without_checkpoint_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(CheckpointNotFoundError, match="no config.json, .gguf or tokenizer file"):
        resolve_checkpoint(tmp_path)


def test_local_gguf_file_is_returned_and_other_files_are_refused(tmp_path):
    gguf = tmp_path / "model.Q4_0.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_checkpoint(gguf) == gguf
    config = tmp_path / "config.json"
    config.write_text("{}")
    with pytest.raises(CheckpointNotFoundError, match="pass the folder"):
        resolve_checkpoint(config)


@pytest.mark.parametrize("misspelled", ["./my-modle", "~/no-such-model-folder", "models/bert/tiny", "/no/such"])
def test_misspelled_local_path_says_no_such_folder(misspelled):
    with pytest.raises(CheckpointNotFoundError, match="no such folder"):
        resolve_checkpoint(misspelled)


def test_packaged_ids_resolve_to_the_installed_files():
    minilm = resolve_checkpoint(MINILM)
    assert minilm.is_dir() and "site-packages" in minilm.parts
    assert read_config(minilm)["model_type"] == "bert"
    assert (minilm / "model.safetensors").is_file() and (minilm / "1_Pooling" / "config.json").is_file()

    smollm2 = resolve_checkpoint(SMOLLM2)
    assert smollm2.is_file() and smollm2.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert smollm2.read_bytes()[:4] == b"GGUF"


def test_fake_cache_is_laid_out_as_huggingface_hub_lays_it_out(empty_hub_cache):
    add_to_hub_cache(empty_hub_cache, "org/tiny", tiny_checkpoint_files())
    scan = huggingface_hub.scan_cache_dir(empty_hub_cache)
    assert not scan.warnings
    [repo] = scan.repos
    assert repo.repo_id == "org/tiny"
    [revision] = repo.revisions
    assert revision.commit_hash == COMMIT and revision.refs == {"main"}


def test_hub_id_resolves_from_the_cache_offline_without_network(empty_hub_cache, no_network):
    snapshot = add_to_hub_cache(empty_hub_cache, "org/tiny", tiny_checkpoint_files())
    assert resolve_checkpoint("org/tiny") == snapshot
    assert read_state_dict(resolve_checkpoint("org/tiny"))[0]["w"].shape == (2, 3)
    assert no_network == []


def test_cache_dir_comes_from_hf_home_when_hf_hub_cache_is_unset(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hub_cache_dir() == tmp_path / "home" / "hub"
    snapshot = add_to_hub_cache(tmp_path / "home" / "hub", "gpt2", tiny_checkpoint_files())
    assert resolve_checkpoint("gpt2") == snapshot  # a legacy id without an organisation


def test_cached_revision_is_found_by_commit_and_missing_one_is_reported(empty_hub_cache):
    snapshot = add_to_hub_cache(empty_hub_cache, "org/tiny", tiny_checkpoint_files())
    assert resolve_checkpoint("org/tiny", revision=COMMIT) == snapshot
    with pytest.raises(CheckpointNotFoundError, match="at revision 'v2'"):
        resolve_checkpoint("org/tiny", revision="v2")


def test_cache_with_weights_is_preferred_over_the_package(empty_hub_cache):
    snapshot = add_to_hub_cache(empty_hub_cache, MINILM, tiny_checkpoint_files())
    assert resolve_checkpoint(MINILM) == snapshot
    assert catalog_entry(MINILM)["source"] == "cache"


def test_tokenizer_only_cache_loses_to_the_package_unless_only_tokenizer_files_are_asked(empty_hub_cache):
    snapshot = add_to_hub_cache(empty_hub_cache, MINILM, tiny_checkpoint_files(with_weights=False))
    assert "site-packages" in resolve_checkpoint(MINILM).parts
    assert resolve_checkpoint(MINILM, allow_patterns=["tokenizer*"]) == snapshot


def test_unknown_hub_id_offline_says_what_to_do_without_network(no_network):
    with pytest.raises(CheckpointNotFoundError) as raised:
        resolve_checkpoint("org/x")
    message = str(raised.value)
    for part in ("'org/x'", "not a local folder", "Hugging Face cache", "installed package", "HF_HUB_OFFLINE",
                 "wb.catalog(offline=True)"):
        assert part in message
    assert no_network == []


def test_unreachable_hub_when_online_is_a_one_sentence_error(monkeypatch, no_network):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(CheckpointNotFoundError, match="'org/x' is not in the Hugging Face cache and the Hub could "
                                                      "not be reached"):
        resolve_checkpoint("org/x")
    assert no_network  # it did try the Hub, and the tripwire stopped it


def test_near_miss_of_a_catalog_id_suggests_it():
    with pytest.raises(CheckpointNotFoundError, match="did you mean 'distilgpt2'"):
        resolve_checkpoint("distilgpt")


def test_offline_is_read_from_the_environment_at_call_time(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_offline()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert not hub_offline()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "yes")  # the older name counts when HF_HUB_OFFLINE is unset
    assert hub_offline()


def test_download_file_choice_prefers_safetensors_and_skips_other_formats():
    repo = ["config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack",
            "onnx/model.onnx", "tokenizer.json", "vocab.txt", "README.md", "1_Pooling/config.json",
            "modules.json", "generation_config.json", "model.fp16.safetensors"]
    assert sorted(choose_files_to_download(repo)) == sorted(
        ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "1_Pooling/config.json",
         "modules.json", "generation_config.json"]
    )


def test_download_file_choice_takes_pytorch_bin_only_without_safetensors():
    sharded = ["config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin",
               "pytorch_model-00002-of-00002.bin", "merges.txt", "vocab.json"]
    assert sorted(choose_files_to_download(sharded)) == sorted(sharded)
    both = ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
            "model.safetensors.index.json", "pytorch_model.bin"]
    assert "pytorch_model.bin" not in choose_files_to_download(both)
    assert len(choose_files_to_download(both)) == 4


# ---------------------------------------------------------------------------------------------- config


def test_read_config_reads_folder_or_file_and_explains_problems(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    assert read_config(tmp_path) == {"model_type": "gpt2"}
    assert read_config(tmp_path / "config.json") == {"model_type": "gpt2"}
    (tmp_path / "config.json").write_text('{"model_type": ')
    with pytest.raises(WeightsError, match="not valid JSON"):
        read_config(tmp_path)
    with pytest.raises(CheckpointNotFoundError, match="has no config.json"):
        read_config(tmp_path / "elsewhere")


# ---------------------------------------------------------------------------------------------- reading


def test_read_state_dict_prefers_safetensors_and_names_the_source_file(tmp_path):
    safetensors.torch.save_file({"a": torch.ones(2)}, tmp_path / "model.safetensors")
    torch.save({"a": torch.zeros(2)}, tmp_path / "pytorch_model.bin")
    tensors, sources = read_state_dict(tmp_path)
    assert torch.equal(tensors["a"], torch.ones(2)) and sources == {"a": "model.safetensors"}


def test_read_state_dict_reads_a_weights_only_pytorch_bin(tmp_path):
    torch.save({"a": torch.arange(3.0), "b": torch.eye(2)}, tmp_path / "pytorch_model.bin")
    tensors, sources = read_state_dict(tmp_path)
    assert torch.equal(tensors["b"], torch.eye(2)) and set(sources.values()) == {"pytorch_model.bin"}


def test_read_state_dict_reads_sharded_pytorch_bin(tmp_path):
    torch.save({"a": torch.ones(1)}, tmp_path / "pytorch_model-00001-of-00002.bin")
    torch.save({"b": torch.zeros(1)}, tmp_path / "pytorch_model-00002-of-00002.bin")
    index = {"weight_map": {"a": "pytorch_model-00001-of-00002.bin", "b": "pytorch_model-00002-of-00002.bin"}}
    (tmp_path / "pytorch_model.bin.index.json").write_text(json.dumps(index))
    tensors, sources = read_state_dict(tmp_path)
    assert sorted(tensors) == ["a", "b"] and sources == index["weight_map"]


class PlantMarker:
    """Pickles as a call to open(marker, "w"): unpickling it with code execution creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickle_that_runs_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"weight": torch.ones(2), "payload": PlantMarker(marker)}, tmp_path / "pytorch_model.bin")
    with pytest.raises(WeightsError, match="pytorch_model.bin.*refused"):
        read_state_dict(tmp_path)
    assert not marker.exists()
    # The payload is real: an unsafe load does run it (this is what read_state_dict must never do).
    torch.load(tmp_path / "pytorch_model.bin", weights_only=False)
    assert marker.exists()


def test_truncated_safetensors_is_named_with_advice(tmp_path):
    write_state_dict({"w": torch.randn(64, 64)}, tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(WeightsError, match=r"'model\.safetensors' is truncated or corrupt.*download or save it again"):
        read_state_dict(tmp_path)


def test_truncated_pytorch_bin_is_named_with_advice(tmp_path):
    torch.save({"w": torch.randn(64, 64)}, tmp_path / "pytorch_model.bin")
    weights = tmp_path / "pytorch_model.bin"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(WeightsError, match=r"'pytorch_model\.bin' is truncated or corrupt"):
        read_state_dict(tmp_path)


def test_missing_shard_is_named(tmp_path):
    write_state_dict({"a": torch.ones(100), "b": torch.ones(100)}, tmp_path, max_shard_size_bytes=400)
    (tmp_path / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(WeightsError, match="missing: model-00002-of-00002.safetensors"):
        read_state_dict(tmp_path)


def test_folder_without_weights_lists_what_was_looked_for(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(WeightsError) as raised:
        read_state_dict(tmp_path)
    for name in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"):
        assert name in str(raised.value)


def test_packaged_minilm_weights_are_read_memory_mapped():
    tensors, sources = read_state_dict(resolve_checkpoint(MINILM))
    assert tensors["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert set(sources.values()) == {"model.safetensors"}


# ---------------------------------------------------------------------------------------------- writing


def tiny_bert():
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=37, max_position_embeddings=64)
    torch.manual_seed(0)
    return transformers, transformers.BertModel(config).eval()


def test_sharded_round_trip_loads_in_safetensors_and_transformers(tmp_path):
    transformers, model = tiny_bert()
    state = model.state_dict()
    written = write_state_dict(state, tmp_path, max_shard_size_bytes=20_000, metadata={"note": "test"})
    shards = [name for name in written if name.endswith(".safetensors")]
    assert len(shards) > 2 and written[-1] == "model.safetensors.index.json"
    assert not (tmp_path / "model.safetensors").exists()

    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(state)
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size() for t in state.values())

    tensors, sources = read_state_dict(tmp_path)
    assert sources == index["weight_map"]
    for name, tensor in state.items():
        torch.testing.assert_close(tensors[name], tensor, rtol=0, atol=0)

    from_safetensors = {}
    for shard in shards:
        from_safetensors.update(safetensors.torch.load_file(tmp_path / shard))
        with safetensors.safe_open(tmp_path / shard, "pt") as reader:
            assert reader.metadata() == {"format": "pt", "note": "test"}
    assert set(from_safetensors) == set(state)

    model.config.save_pretrained(tmp_path)
    reloaded = transformers.BertModel.from_pretrained(tmp_path).eval()
    input_ids = torch.tensor([[1, 5, 7, 2]])
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids).last_hidden_state, model(input_ids).last_hidden_state)


def test_writing_again_removes_the_other_layout(tmp_path):
    state = {"a": torch.ones(100), "b": torch.zeros(100)}
    write_state_dict(state, tmp_path, max_shard_size_bytes=400)
    assert write_state_dict(state, tmp_path) == ["model.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]  # no shards, index or temp files
    write_state_dict(state, tmp_path, max_shard_size_bytes=400)
    assert not (tmp_path / "model.safetensors").exists()


def test_non_contiguous_tensors_are_written(tmp_path):
    transposed = torch.arange(6.0).reshape(2, 3).t()
    assert not transposed.is_contiguous()
    write_state_dict({"t": transposed}, tmp_path)
    torch.testing.assert_close(read_state_dict(tmp_path)[0]["t"], transposed, rtol=0, atol=0)


def tiny_gpt2(tie_word_embeddings: bool):
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(vocab_size=50, n_positions=32, n_embd=16, n_layer=1, n_head=2,
                                     tie_word_embeddings=tie_word_embeddings)
    torch.manual_seed(0)
    return transformers, transformers.GPT2LMHeadModel(config).eval()


def test_tied_embeddings_are_written_once_and_reload_tied_in_transformers(tmp_path):
    transformers, model = tiny_gpt2(tie_word_embeddings=True)
    state = model.state_dict()
    assert state["lm_head.weight"].data_ptr() == state["transformer.wte.weight"].data_ptr()
    with pytest.raises(RuntimeError):  # why de-duplication is needed: safetensors refuses shared memory
        safetensors.torch.save_file(state, tmp_path / "refused.safetensors")

    write_state_dict(state, tmp_path, drop_tied=["lm_head.weight"])
    tensors, _ = read_state_dict(tmp_path)
    assert "lm_head.weight" not in tensors and "transformer.wte.weight" in tensors

    model.config.save_pretrained(tmp_path)
    reloaded = transformers.GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    input_ids = torch.tensor([[3, 1, 4, 1, 5]])
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids).logits, model(input_ids).logits)


def test_untied_head_named_in_drop_tied_is_kept(tmp_path):
    _, model = tiny_gpt2(tie_word_embeddings=False)
    state = model.state_dict()
    write_state_dict(state, tmp_path, drop_tied=["lm_head.weight"])
    tensors, _ = read_state_dict(tmp_path)
    torch.testing.assert_close(tensors["lm_head.weight"], state["lm_head.weight"], rtol=0, atol=0)


def test_shared_memory_not_named_in_drop_tied_is_written_as_copies(tmp_path):
    fused = torch.arange(12.0)
    state = {"tied.a": fused, "tied.b": fused, "slice.q": fused[:6], "slice.k": fused[6:]}
    write_state_dict(state, tmp_path)
    tensors, _ = read_state_dict(tmp_path)
    for name, tensor in state.items():
        torch.testing.assert_close(tensors[name], tensor, rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------- catalog


def test_catalog_columns_and_types():
    table = catalog()
    assert list(table.columns) == ["id", "family", "tasks", "parameters", "download_mb", "memory_mb", "offline",
                                   "source", "license", "description", "language"]
    assert len(table) == len(ROWS) and table["id"].is_unique
    assert pd.api.types.is_integer_dtype(table["parameters"]) and pd.api.types.is_bool_dtype(table["offline"])
    assert all(isinstance(tasks, tuple) and tasks for tasks in table["tasks"])
    assert set(table["source"]) <= {"package", "cache", "hub"}
    seed_families = {"bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra", "albert", "gpt2",
                     "llama", "mistral", "qwen2", "gemma", "phi3", "gpt_neox"}
    assert set(table["family"]) <= seed_families
    assert (table["memory_mb"] > table["parameters"] * 4 / 1e6).all()


def test_catalog_offline_flags_follow_packages_and_cache(empty_hub_cache):
    table = catalog().set_index("id")
    for packaged in (MINILM, SMOLLM2):
        assert table.loc[packaged, "offline"] and table.loc[packaged, "source"] == "package"
    assert not table.loc["gpt2", "offline"] and table.loc["gpt2", "source"] == "hub"

    add_to_hub_cache(empty_hub_cache, "gpt2", tiny_checkpoint_files())
    add_to_hub_cache(empty_hub_cache, "distilgpt2", tiny_checkpoint_files(with_weights=False))
    table = catalog().set_index("id")
    assert table.loc["gpt2", "offline"] and table.loc["gpt2", "source"] == "cache"
    assert not table.loc["distilgpt2", "offline"]  # a tokenizer alone cannot run the model

    available = catalog(offline=True)
    assert set(available["id"]) == {MINILM, SMOLLM2, "gpt2"} and available["offline"].all()


def test_catalog_parameter_counts_match_real_weights_and_architectures():
    tensors, _ = read_state_dict(resolve_checkpoint(MINILM))
    parameters = sum(t.numel() for name, t in tensors.items() if not name.endswith("position_ids"))
    assert catalog_entry(MINILM)["parameters"] == parameters

    transformers = pytest.importorskip("transformers")
    references = {
        "gpt2": (transformers.GPT2LMHeadModel, transformers.GPT2Config()),
        "bert-base-uncased": (transformers.BertForMaskedLM, transformers.BertConfig()),
        "distilbert-base-uncased": (transformers.DistilBertForMaskedLM, transformers.DistilBertConfig()),
    }
    for checkpoint_id, (model_class, config) in references.items():
        with torch.device("meta"):
            model = model_class(config)
        assert catalog_entry(checkpoint_id)["parameters"] == sum(p.numel() for p in model.parameters())


def test_catalog_entry_of_unknown_id_is_a_clear_error():
    assert catalog_entry("GPT2")["id"] == "gpt2"
    with pytest.raises(CheckpointNotFoundError, match="not in the catalog"):
        catalog_entry("org/unknown")


@pytest.mark.parametrize("task", sorted(HUB_DEFAULTS))
def test_default_checkpoint_serves_each_task(task):
    chosen = default_checkpoint(task)
    assert task in catalog_entry(chosen)["tasks"]
    assert default_checkpoint(task, offline=False) == HUB_DEFAULTS[task]


def test_default_checkpoint_prefers_what_is_available_offline(empty_hub_cache):
    assert default_checkpoint("feature-extraction", offline=True) == MINILM
    assert default_checkpoint("text-generation", offline=True) == SMOLLM2
    with pytest.raises(CheckpointNotFoundError, match="No checkpoint for 'fill-mask' is available offline"):
        default_checkpoint("fill-mask", offline=True)
    add_to_hub_cache(empty_hub_cache, "bert-base-uncased", tiny_checkpoint_files())
    assert default_checkpoint("fill-mask", offline=True) == "bert-base-uncased"
    assert default_checkpoint("fill-mask") == "bert-base-uncased"  # preferred over the Hub default


def test_default_checkpoint_accepts_aliases_and_rejects_unknown_tasks():
    assert default_checkpoint("sentiment-analysis") == default_checkpoint("text-classification")
    assert default_checkpoint("ner") == default_checkpoint("token-classification")
    with pytest.raises(UnsupportedModelError, match="no checkpoint for task 'image-segmentation'"):
        default_checkpoint("image-segmentation")
