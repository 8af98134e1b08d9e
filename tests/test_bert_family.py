"""BERT, RoBERTa, XLM-RoBERTa and CamemBERT x every head against tiny random transformers models."""
import pytest
import torch
import transformers

import workbench as wb
from workbench.models.base import FreshWeightsWarning

from parity import assert_same_outputs, random_batch, tiny_reference

FAMILIES = {  # model_type: (transformers class prefix, config class)
    "bert": ("Bert", "BertConfig"),
    "roberta": ("Roberta", "RobertaConfig"),
    "xlm-roberta": ("XLMRoberta", "XLMRobertaConfig"),
    "camembert": ("Camembert", "CamembertConfig"),
}
HEADS = {
    "feature-extraction": "Model",
    "fill-mask": "ForMaskedLM",
    "text-classification": "ForSequenceClassification",
    "token-classification": "ForTokenClassification",
    "question-answering": "ForQuestionAnswering",
}
# Odd sizes on purpose: 3 heads of 8, intermediate not a multiple of hidden.
TINY = dict(vocab_size=101, hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=37,
            max_position_embeddings=40, initializer_range=0.2, num_labels=3)


def tiny_pair(model_type, task, tmp_path, **overrides):
    prefix, config_class = FAMILIES[model_type]
    fields = {**TINY, **overrides}
    if task == "question-answering":
        fields["num_labels"] = 2  # a start and an end score per token
    if model_type != "bert":
        fields.setdefault("type_vocab_size", 1)
    reference = tiny_reference(prefix + HEADS[task], config_class, **fields)
    reference.save_pretrained(tmp_path)
    return reference, wb.load_model(tmp_path, task=task)


@pytest.mark.parametrize("task", HEADS)
@pytest.mark.parametrize("model_type", FAMILIES)
def test_head_matches_transformers(model_type, task, tmp_path):
    reference, ours = tiny_pair(model_type, task, tmp_path)
    assert ours.task == task and ours.loading_info["fresh"] == []
    pad = reference.config.pad_token_id
    batch = random_batch(TINY["vocab_size"], pad_token_id=pad, token_types=model_type == "bert")
    with torch.no_grad():
        theirs = reference(**batch, output_attentions=True, output_hidden_states=True)
        mine = ours(**batch, output_attentions=True, output_hidden_states=True)
        assert_same_outputs(mine, theirs)
        # the fast path (SDPA, no weights) gives the same result and returns no attentions
        fast = ours(**batch)
        assert fast.attentions is None and fast.hidden_states is None
        assert_same_outputs(fast, reference(**batch))
    if task == "feature-extraction":
        torch.testing.assert_close(mine.pooler_output, theirs.pooler_output)


@pytest.mark.parametrize("model_type", FAMILIES)
@pytest.mark.parametrize("task", ["fill-mask", "text-classification"])
def test_save_pretrained_loads_back_in_transformers(model_type, task, tmp_path):
    reference, ours = tiny_pair(model_type, task, tmp_path / "reference")
    ours.save_pretrained(tmp_path / "ours")
    again = getattr(transformers, type(reference).__name__).from_pretrained(tmp_path / "ours").eval()
    batch = random_batch(TINY["vocab_size"], pad_token_id=reference.config.pad_token_id, token_types=False)
    with torch.no_grad():
        torch.testing.assert_close(again(**batch).logits, ours(**batch).logits)
    assert again.config.id2label == reference.config.id2label


def test_task_comes_from_config_architectures(tmp_path):
    reference, _ = tiny_pair("bert", "token-classification", tmp_path)
    assert wb.load_model(tmp_path).task == "token-classification"
    assert wb.load_model(tmp_path, task="ner").task == "token-classification"


def test_attention_only_for_the_layers_asked(tmp_path):
    _, ours = tiny_pair("bert", "feature-extraction", tmp_path)
    batch = random_batch(TINY["vocab_size"])
    out = ours(**batch, output_attentions=[1])
    assert out.attentions[0] is None and out.attentions[1].shape == (2, 3, 9, 9)
    torch.testing.assert_close(out.attentions[1].sum(-1), torch.ones(2, 3, 9))


def test_capture_hook_points_by_name(tmp_path):
    _, ours = tiny_pair("bert", "feature-extraction", tmp_path)
    batch = random_batch(TINY["vocab_size"])
    with ours.capture("*.hook_pattern", "encoder.layer.1.hook_out") as cache:
        out = ours(**batch, output_attentions=True)
    assert sorted(cache) == ["encoder.layer.0.attention.self.hook_pattern",
                             "encoder.layer.1.attention.self.hook_pattern", "encoder.layer.1.hook_out"]
    torch.testing.assert_close(cache["encoder.layer.1.hook_out"], out.last_hidden_state)
    torch.testing.assert_close(cache["encoder.layer.0.attention.self.hook_pattern"], out.attentions[0])
    assert not any(p.active for p in ours.hook_points().values()), "hooks must be removed after the block"
    with pytest.raises(KeyError, match="No hook point matches"):
        with ours.capture("nothing.*"):
            pass


def test_hook_can_edit_an_activation(tmp_path):
    _, ours = tiny_pair("bert", "feature-extraction", tmp_path)
    batch = random_batch(TINY["vocab_size"])
    with ours.hooks({"encoder.layer.1.hook_out": lambda x, hook: torch.zeros_like(x)}):
        zeroed = ours(**batch)
    assert float(zeroed.last_hidden_state.abs().max()) == 0.0
    with torch.no_grad():
        assert float(ours(**batch).last_hidden_state.abs().max()) > 0.0


def test_base_checkpoint_gets_a_fresh_head_with_a_warning(tmp_path):
    reference, _ = tiny_pair("bert", "feature-extraction", tmp_path)
    with pytest.warns(FreshWeightsWarning, match="classifier.weight"):
        model = wb.load_model(tmp_path, task="text-classification", labels=["sport", "tech", "politics", "arts"])
    assert model.config.id2label == {0: "sport", 1: "tech", 2: "politics", 3: "arts"}
    assert sorted(model.loading_info["fresh"]) == ["classifier.bias", "classifier.weight"]
    # the pooler and the encoder came from the checkpoint
    torch.testing.assert_close(model.bert.pooler.dense.weight, reference.pooler.dense.weight)


def test_mlm_checkpoint_loads_as_base_model_dropping_the_head(tmp_path):
    reference, _ = tiny_pair("roberta", "fill-mask", tmp_path)
    with pytest.warns(FreshWeightsWarning, match="pooler"):  # an MLM file has no pooler: said, not hidden
        model = wb.load_model(tmp_path, task="feature-extraction")
    assert any(k.startswith("lm_head.") for k in model.loading_info["ignored"])
    batch = random_batch(TINY["vocab_size"], pad_token_id=1, token_types=False)
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).last_hidden_state, reference.roberta(**batch).last_hidden_state)


def test_dropout_and_gradients_in_train_mode(tmp_path):
    _, ours = tiny_pair("bert", "text-classification", tmp_path, hidden_dropout_prob=0.5, attention_probs_dropout_prob=0.5)
    batch = random_batch(TINY["vocab_size"])
    ours.train()
    first, second = ours(**batch).logits, ours(**batch).logits
    assert not torch.allclose(first, second), "dropout must be active in train mode"
    loss = ours(**batch, labels=torch.tensor([0, 2])).loss
    loss.backward()
    grads = [p.grad for p in ours.parameters()]
    assert all(g is not None for g in grads) and all(torch.isfinite(g).all() for g in grads)
    ours.eval()
    torch.testing.assert_close(ours(**batch).logits, ours(**batch).logits)


def test_tied_decoder_is_the_embedding(tmp_path):
    _, ours = tiny_pair("bert", "fill-mask", tmp_path)
    assert ours.cls.predictions.decoder.weight is ours.bert.embeddings.word_embeddings.weight


def test_too_long_input_is_a_clear_error(tmp_path):
    _, ours = tiny_pair("bert", "feature-extraction", tmp_path)
    with pytest.raises(ValueError, match="longer than this model's 40 positions"):
        ours(input_ids=torch.ones(1, 41, dtype=torch.long))
