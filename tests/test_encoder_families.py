"""DistilBERT, ALBERT and ELECTRA x every head against tiny random transformers models."""
import pytest
import torch
import transformers

import workbench as wb
from workbench.models.base import FreshWeightsWarning

from parity import assert_same_outputs, random_batch, tiny_reference

HEADS = {
    "feature-extraction": "Model",
    "fill-mask": "ForMaskedLM",
    "text-classification": "ForSequenceClassification",
    "token-classification": "ForTokenClassification",
    "question-answering": "ForQuestionAnswering",
}
PREFIX = {"distilbert": "DistilBert", "albert": "Albert", "electra": "Electra"}
CONFIG_CLASS = {"distilbert": "DistilBertConfig", "albert": "AlbertConfig", "electra": "ElectraConfig"}
COMMON = dict(vocab_size=101, max_position_embeddings=40, initializer_range=0.2, num_labels=3)
# Odd sizes on purpose: 3 heads of 8 (or 9), intermediate sizes not a multiple of the hidden size.
VARIANTS = {  # name: (model_type, config fields)
    "distilbert": ("distilbert", dict(dim=24, n_layers=2, n_heads=3, hidden_dim=37)),
    # odd width: the sine/cosine columns do not pair up evenly
    "distilbert-sinusoidal": ("distilbert", dict(dim=27, n_layers=2, n_heads=3, hidden_dim=37, sinusoidal_pos_embds=True,
                                                 activation="relu")),
    "albert": ("albert", dict(embedding_size=10, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
                              intermediate_size=37)),
    # 3 steps over 2 groups of 2 layers: groups 0, 0, 1 -> 6 applied layers from 4 sets of weights
    "albert-groups": ("albert", dict(embedding_size=10, hidden_size=24, num_hidden_layers=3, num_hidden_groups=2,
                                     inner_group_num=2, num_attention_heads=3, intermediate_size=37)),
    "electra": ("electra", dict(embedding_size=10, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
                                intermediate_size=37)),
    # E == D: no embeddings_project; gelu_new in the layers while the heads keep exact GELU
    "electra-unprojected": ("electra", dict(embedding_size=24, hidden_size=24, num_hidden_layers=2,
                                            num_attention_heads=3, intermediate_size=37, hidden_act="gelu_new")),
}


def tiny_pair(variant, task, tmp_path, architecture=None, **overrides):
    model_type, fields = VARIANTS[variant]
    fields = {**COMMON, **fields, **overrides}
    if task == "question-answering":
        fields["num_labels"] = 2  # a start and an end score per token
    architecture = architecture or PREFIX[model_type] + HEADS[task]
    reference = tiny_reference(architecture, CONFIG_CLASS[model_type], **fields)
    reference.save_pretrained(tmp_path)
    return reference, wb.load_model(tmp_path, task=task)


def tiny_batch():
    """Right-padded [2, 9] batch with token_type_ids (as a BERT tokenizer gives them; DistilBERT must ignore them)."""
    return random_batch(COMMON["vocab_size"])


def reference_inputs(model_type, batch):
    return {k: v for k, v in batch.items() if not (model_type == "distilbert" and k == "token_type_ids")}


@pytest.mark.parametrize("task", HEADS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_head_matches_transformers(variant, task, tmp_path):
    model_type = VARIANTS[variant][0]
    reference, ours = tiny_pair(variant, task, tmp_path)
    assert ours.task == task and ours.loading_info["fresh"] == []
    assert type(ours).__name__ == type(reference).__name__
    batch = tiny_batch()
    with torch.no_grad():
        theirs = reference(**reference_inputs(model_type, batch), output_attentions=True, output_hidden_states=True)
        mine = ours(**batch, output_attentions=True, output_hidden_states=True)
        assert_same_outputs(mine, theirs)
        # the fast path (SDPA, no weights) gives the same result and returns no attentions
        fast = ours(**batch)
        assert fast.attentions is None and fast.hidden_states is None
        assert_same_outputs(fast, reference(**reference_inputs(model_type, batch)))
    if task == "feature-extraction" and model_type == "albert":
        torch.testing.assert_close(mine.pooler_output, theirs.pooler_output)


def test_albert_returns_one_entry_per_applied_layer(tmp_path):
    reference, ours = tiny_pair("albert-groups", "feature-extraction", tmp_path)
    out = ours(**tiny_batch(), output_attentions=True, output_hidden_states=True)
    assert len(out.attentions) == 6 and len(out.hidden_states) == 7  # 3 steps x 2 inner layers (+ embeddings)
    assert ours.encoder.group_of_step == [0, 0, 1]
    # 4 sets of layer weights in the model and in its state dict, however many times they are applied
    layers = {".".join(k.split(".")[:5]) for k in ours.state_dict() if ".albert_layers." in k}
    assert sorted(layers) == [f"encoder.albert_layer_groups.{g}.albert_layers.{i}" for g in (0, 1) for i in (0, 1)]


def test_albert_hooks_name_each_applied_layer(tmp_path):
    _, ours = tiny_pair("albert-groups", "fill-mask", tmp_path)
    batch = tiny_batch()
    with ours.capture("*.hook_pattern", "*.hook_out") as cache:
        out = ours(**batch, output_attentions=True, output_hidden_states=True)
    patterns = [f"albert.encoder.layer.{k}.hook_pattern" for k in range(6)]
    assert sorted(cache) == sorted(patterns + [p.replace("hook_pattern", "hook_out") for p in patterns])
    for k in range(6):
        torch.testing.assert_close(cache[f"albert.encoder.layer.{k}.hook_pattern"], out.attentions[k])
        torch.testing.assert_close(cache[f"albert.encoder.layer.{k}.hook_out"], out.hidden_states[k + 1])
    # applied layers 0 and 1 of step 0 and 2 and 3 of step 1 share weights but not activations
    assert not torch.allclose(cache["albert.encoder.layer.0.hook_out"], cache["albert.encoder.layer.2.hook_out"])

    # attention weights only for the applied layers asked for
    some = ours(**batch, output_attentions=[1, 4])
    assert [a is not None for a in some.attentions] == [False, True, False, False, True, False]
    torch.testing.assert_close(some.attentions[4], out.attentions[4])

    # a hook on one application changes that application only, not the other uses of the same weights
    with torch.no_grad():
        with ours.hooks({"albert.encoder.layer.2.hook_post": lambda x, hook: torch.zeros_like(x)}):
            edited = ours(**batch, output_hidden_states=True)
        for k in (0, 1, 2):
            torch.testing.assert_close(edited.hidden_states[k], out.hidden_states[k])
        assert not torch.allclose(edited.hidden_states[3], out.hidden_states[3])
        torch.testing.assert_close(ours(**batch).logits, out.logits)  # and it is gone after the block


@pytest.mark.parametrize("variant", ["distilbert", "electra"])
def test_capture_hook_points(variant, tmp_path):
    _, ours = tiny_pair(variant, "feature-extraction", tmp_path)
    layers = "transformer.layer" if variant == "distilbert" else "encoder.layer"
    with ours.capture("*.hook_pattern", "*.hook_post", f"{layers}.1.hook_out") as cache:
        out = ours(**tiny_batch(), output_attentions=True)
    assert len([k for k in cache if k.endswith("hook_pattern")]) == 2
    assert len([k for k in cache if k.endswith("hook_post")]) == 2
    torch.testing.assert_close(cache[f"{layers}.1.hook_out"], out.last_hidden_state)
    pattern = next(k for k in cache if k.startswith(f"{layers}.0.") and k.endswith("hook_pattern"))
    torch.testing.assert_close(cache[pattern], out.attentions[0])


@pytest.mark.parametrize("task", HEADS)
@pytest.mark.parametrize("variant", ["distilbert", "albert-groups", "electra"])
def test_save_pretrained_loads_back_in_transformers(variant, task, tmp_path):
    model_type = VARIANTS[variant][0]
    reference, ours = tiny_pair(variant, task, tmp_path / "reference")
    ours.save_pretrained(tmp_path / "ours")
    again = getattr(transformers, type(reference).__name__).from_pretrained(tmp_path / "ours").eval()
    batch = tiny_batch()
    with torch.no_grad():
        assert_same_outputs(ours(**batch), again(**reference_inputs(model_type, batch)))
    unsaved = {"architectures": None, "_name_or_path": None}  # where it was loaded from, and the class (checked above)
    assert again.config.to_dict() | unsaved == reference.config.to_dict() | unsaved


@pytest.mark.parametrize("variant, fresh", [
    ("distilbert", ["classifier.bias", "classifier.weight", "pre_classifier.bias", "pre_classifier.weight"]),
    ("albert", ["classifier.bias", "classifier.weight"]),
    ("electra", ["classifier.dense.bias", "classifier.dense.weight", "classifier.out_proj.bias",
                 "classifier.out_proj.weight"]),
])
def test_base_checkpoint_gets_a_fresh_head_with_a_warning(variant, fresh, tmp_path):
    reference, _ = tiny_pair(variant, "feature-extraction", tmp_path)
    with pytest.warns(FreshWeightsWarning, match="classifier"):
        model = wb.load_model(tmp_path, task="text-classification", labels=["sport", "tech", "politics", "arts"])
    assert model.config.id2label == {0: "sport", 1: "tech", 2: "politics", 3: "arts"}
    assert sorted(model.loading_info["fresh"]) == fresh
    assert model(**tiny_batch()).logits.shape == (2, 4)
    # the encoder came from the checkpoint
    torch.testing.assert_close(model.base_model.embeddings.word_embeddings.weight,
                               reference.embeddings.word_embeddings.weight)


def test_albert_mlm_checkpoint_gets_a_fresh_pooler_for_classification(tmp_path):
    _, _ = tiny_pair("albert", "fill-mask", tmp_path)  # transformers saves an MLM model without a pooler
    with pytest.warns(FreshWeightsWarning, match="pooler"):
        model = wb.load_model(tmp_path, task="text-classification")
    assert sorted(model.loading_info["fresh"]) == ["albert.pooler.bias", "albert.pooler.weight",
                                                   "classifier.bias", "classifier.weight"]
    assert "predictions.bias" in model.loading_info["ignored"]


def test_electra_discriminator_checkpoint(tmp_path):
    reference, base = tiny_pair("electra", None, tmp_path, architecture="ElectraForPreTraining")
    # no task: the base model, with the discriminator head ignored (not an error, not a fill-mask model)
    assert base.task == "feature-extraction" and base.loading_info["fresh"] == []
    assert sorted(base.loading_info["ignored"]) == [
        "discriminator_predictions.dense.bias", "discriminator_predictions.dense.weight",
        "discriminator_predictions.dense_prediction.bias", "discriminator_predictions.dense_prediction.weight"]
    batch = tiny_batch()
    labels = (batch["input_ids"] % 2) * batch["attention_mask"]  # which tokens "were replaced"
    with torch.no_grad():
        theirs = reference(**batch, labels=labels, output_attentions=True, output_hidden_states=True)
        torch.testing.assert_close(base(**batch).last_hidden_state, theirs.hidden_states[-1])
        # the discriminator head on request
        detector = wb.load_model(tmp_path, task="replaced-token-detection")
        mine = detector(**batch, labels=labels, output_attentions=True, output_hidden_states=True)
    assert detector.loading_info["fresh"] == [] and mine.logits.shape == (2, 9)
    assert_same_outputs(mine, theirs)
    torch.testing.assert_close(mine.loss, theirs.loss)
    detector.save_pretrained(tmp_path / "ours")
    again = transformers.ElectraForPreTraining.from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        torch.testing.assert_close(again(**batch).logits, mine.logits)


def test_distilbert_sinusoidal_positions_from_config():
    _, fields = VARIANTS["distilbert-sinusoidal"]
    reference = tiny_reference("DistilBertModel", "DistilBertConfig", **COMMON, **fields)
    ours = wb.from_config(reference.config.to_dict(), task="feature-extraction", seed=0)
    table = reference.embeddings.position_embeddings.weight
    torch.testing.assert_close(ours.embeddings.position_embeddings.weight, table)
    assert float(table[3, 0].detach()) == pytest.approx(float(torch.sin(torch.tensor(3.0))))  # really the sinusoid
    learned = wb.from_config({**reference.config.to_dict(), "sinusoidal_pos_embds": False}, seed=0)
    assert not torch.allclose(learned.embeddings.position_embeddings.weight, table)


def test_distilbert_config_answers_to_the_usual_names(tmp_path):
    _, ours = tiny_pair("distilbert", "feature-extraction", tmp_path)
    config = ours.config
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (24, 2, 3)
    assert config.get("num_hidden_layers") == 2 and config.get("intermediate_size", "absent") == "absent"
    assert not hasattr(config, "intermediate_size")
    assert "hidden_size" not in config.to_dict()  # config.json keeps DistilBERT's own names only
    ours.save_pretrained(tmp_path / "ours")
    assert wb.load_model(tmp_path / "ours").config.num_hidden_layers == 2


def test_distilbert_takes_a_bert_tokenizers_output(minilm_dir, tmp_path):
    tokenizer = wb.load_tokenizer(minilm_dir)
    enc = tokenizer(["A short one.", "Tokenizers give token_type_ids, DistilBERT has no segments."],
                    padding=True, return_tensors="pt")
    assert "token_type_ids" in enc
    reference, ours = tiny_pair("distilbert", "text-classification", tmp_path, vocab_size=30522)
    with torch.no_grad():
        torch.testing.assert_close(ours(**enc).logits,
                                   reference(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits)


@pytest.mark.parametrize("variant", ["distilbert", "albert-groups", "electra"])
def test_loss_and_gradients_match_transformers(variant, tmp_path):
    model_type = VARIANTS[variant][0]
    reference, ours = tiny_pair(variant, "token-classification", tmp_path)
    batch = tiny_batch()
    labels = torch.where(batch["attention_mask"].bool(), batch["input_ids"] % 3, -100)
    mine = ours(**batch, labels=labels)
    theirs = reference(**reference_inputs(model_type, batch), labels=labels)
    torch.testing.assert_close(mine.loss, theirs.loss)
    mine.loss.backward()
    theirs.loss.backward()
    their_grads = dict(reference.named_parameters())
    for name, p in ours.named_parameters():  # shared ALBERT layers collect the gradient of every application
        torch.testing.assert_close(p.grad, their_grads[name].grad, atol=1e-5, rtol=1e-4, msg=lambda m: f"{name}: {m}")


def test_dropout_in_train_mode(tmp_path):
    _, ours = tiny_pair("albert", "text-classification", tmp_path, hidden_dropout_prob=0.5,
                        attention_probs_dropout_prob=0.5)
    batch = tiny_batch()
    ours.train()
    assert not torch.allclose(ours(**batch).logits, ours(**batch).logits), "dropout must be active in train mode"
    ours.eval()
    torch.testing.assert_close(ours(**batch).logits, ours(**batch).logits)


@pytest.mark.parametrize("variant, decoder, embeddings", [
    ("distilbert", "vocab_projector", "distilbert.embeddings.word_embeddings"),
    ("albert", "predictions.decoder", "albert.embeddings.word_embeddings"),
    ("electra", "generator_lm_head", "electra.embeddings.word_embeddings"),
])
def test_tied_decoder_is_the_embedding(variant, decoder, embeddings, tmp_path):
    _, ours = tiny_pair(variant, "fill-mask", tmp_path)
    assert ours.get_submodule(decoder).weight is ours.get_submodule(embeddings).weight


@pytest.mark.parametrize("variant", ["distilbert", "albert", "electra"])
def test_mlm_head_reads_out_any_layer(variant, tmp_path):
    _, ours = tiny_pair(variant, "fill-mask", tmp_path)
    with torch.no_grad():
        out = ours(**tiny_batch(), output_hidden_states=True)
        readout = ours.mlm_head()  # what the logit lens applies to every hidden state
        torch.testing.assert_close(readout(out.hidden_states[-1]), out.logits)
        assert readout(out.hidden_states[1]).shape == out.logits.shape


@pytest.mark.parametrize("variant", ["distilbert", "albert", "electra"])
def test_too_long_input_is_a_clear_error(variant, tmp_path):
    _, ours = tiny_pair(variant, "feature-extraction", tmp_path)
    with pytest.raises(ValueError, match="longer than this model's 40 positions"):
        ours(input_ids=torch.ones(1, 41, dtype=torch.long))
