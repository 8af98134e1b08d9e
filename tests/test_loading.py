"""wb.load_model on real and broken checkpoints: the packaged MiniLM, and every way a folder can be wrong."""
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoTokenizer

import workbench as wb
from workbench.errors import CheckpointNotFoundError, UnsupportedModelError, WeightsError

from conftest import MINILM_ID
from parity import assert_same_outputs

TEXTS = ["Hello world!", "A longer sentence, with punctuation; and a second clause.", "토큰 🙂 مرحبا"]


@pytest.fixture(scope="module")
def minilm_reference(minilm_dir):
    return AutoTokenizer.from_pretrained(minilm_dir), AutoModel.from_pretrained(minilm_dir, attn_implementation="eager").eval()


def test_packaged_minilm_by_hub_id_matches_transformers(minilm_reference):
    ref_tok, ref_model = minilm_reference
    model = wb.load_model(MINILM_ID)  # resolved offline to the installed package
    assert model.config.model_type == "bert" and model.task == "feature-extraction"
    assert model.loading_info["fresh"] == []
    assert 22_000_000 < model.num_parameters() < 23_000_000
    batch = ref_tok(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        theirs = ref_model(**batch, output_attentions=True, output_hidden_states=True)
        ours = model(**batch, output_attentions=True, output_hidden_states=True)
    assert_same_outputs(ours, theirs)
    torch.testing.assert_close(ours.pooler_output, theirs.pooler_output, atol=1e-5, rtol=1e-5)


def test_packaged_minilm_tokenizer_ids_match_transformers(minilm_reference):
    ref_tok, _ = minilm_reference
    tok = wb.load_tokenizer(MINILM_ID)
    ours = tok(TEXTS, padding=True, truncation=True)
    theirs = ref_tok(TEXTS, padding=True, truncation=True)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert ours[key] == theirs[key], key


def copy_minilm(minilm_dir, tmp_path):
    folder = tmp_path / "minilm"
    shutil.copytree(minilm_dir, folder)
    return folder


def test_unknown_model_type_lists_the_supported_ones(minilm_dir, tmp_path):
    folder = copy_minilm(minilm_dir, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "perceiver"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedModelError, match=r"'perceiver' is not supported.*bert.*roberta"):
        wb.load_model(folder)


def test_unknown_task_for_a_family_says_which_exist(minilm_dir):
    with pytest.raises(UnsupportedModelError, match="no 'text-generation' head.*fill-mask"):
        wb.load_model(minilm_dir, task="text-generation")


def test_missing_tensor_names_key_and_file(minilm_dir, tmp_path):
    folder = copy_minilm(minilm_dir, tmp_path)
    tensors = load_file(folder / "model.safetensors")
    del tensors["encoder.layer.3.attention.self.query.weight"]
    save_file(tensors, folder / "model.safetensors")
    with pytest.raises(WeightsError, match=r"'encoder\.layer\.3\.attention\.self\.query\.weight' is missing from model\.safetensors"):
        wb.load_model(folder)


def test_misshaped_tensor_names_key_file_and_shapes(minilm_dir, tmp_path):
    folder = copy_minilm(minilm_dir, tmp_path)
    tensors = load_file(folder / "model.safetensors")
    tensors["encoder.layer.0.output.dense.weight"] = torch.zeros(384, 1000)
    save_file(tensors, folder / "model.safetensors")
    with pytest.raises(WeightsError, match=r"encoder\.layer\.0\.output\.dense\.weight.*model\.safetensors.*\(384, 1000\).*\(384, 1536\)"):
        wb.load_model(folder)


def test_unexpected_base_tensor_is_an_error(minilm_dir, tmp_path):
    folder = copy_minilm(minilm_dir, tmp_path)
    tensors = load_file(folder / "model.safetensors")
    tensors["encoder.layer.0.attention.self.rotary.weight"] = torch.zeros(3)
    save_file(tensors, folder / "model.safetensors")
    with pytest.raises(WeightsError, match=r"Unexpected tensor 'encoder\.layer\.0\.attention\.self\.rotary\.weight' in model\.safetensors"):
        wb.load_model(folder)


def test_config_weights_disagree_on_size(minilm_dir, tmp_path):
    folder = copy_minilm(minilm_dir, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 7
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="layer.6.*missing"):
        wb.load_model(folder)


def test_truncated_weights_file(minilm_dir, tmp_path):
    folder = copy_minilm(minilm_dir, tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="model.safetensors"):
        wb.load_model(folder)


def test_malicious_pickle_is_refused_and_never_runs(minilm_dir, tmp_path):
    folder = copy_minilm(minilm_dir, tmp_path)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"embeddings.word_embeddings.weight": Exploit()}, folder / "pytorch_model.bin")
    with pytest.raises(WeightsError):
        wb.load_model(folder)
    assert not marker.exists()


def test_unknown_hub_id_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(CheckpointNotFoundError, match="HF_HUB_OFFLINE"):
        wb.load_model("nobody/no-such-model")


def test_bin_checkpoint_loads_like_safetensors(minilm_dir, tmp_path, minilm_reference):
    folder = copy_minilm(minilm_dir, tmp_path)
    tensors = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(tensors, folder / "pytorch_model.bin")
    model = wb.load_model(folder)
    ids = torch.tensor([[101, 7592, 2088, 102]])
    with torch.inference_mode():
        torch.testing.assert_close(model(input_ids=ids).last_hidden_state,
                                   minilm_reference[1](input_ids=ids).last_hidden_state, atol=1e-5, rtol=1e-5)
