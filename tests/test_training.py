"""Fine-tuning: the loop on a tiny BERT (learns, resumes exactly, stops consistently, accumulates gradients
like a larger batch), the real BBC News lesson on MiniLM, the saved model in transformers, the live panel."""
from __future__ import annotations

import json
import math
import random
import threading

import pandas as pd
import pytest
import torch

import workbench as wb
from workbench.errors import TrainingError
from workbench.training import bbc_news, learning_rate_at, macro_f1
from workbench.training.loop import TrainingArgs

POSITIVE = ["good", "great", "happy", "excellent", "wonderful", "lovely"]
NEGATIVE = ["bad", "terrible", "sad", "awful", "poor", "horrible"]
FILLER = ["the", "movie", "was", "a", "film", "story", "really", "very", "quite", "plot", "and", "it"]


def toy_sentiment(n: int, seed: int = 0) -> pd.DataFrame:
    """Learnable by a tiny model: the label is which word list the one sentiment word comes from."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "positive" if i % 2 == 0 else "negative"
        words = rng.choices(FILLER, k=6)
        words.insert(rng.randrange(7), rng.choice(POSITIVE if label == "positive" else NEGATIVE))
        rows.append({"text": " ".join(words), "label": label})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    return wb.load_tokenizer(minilm_dir)


def tiny_bert(dropout: float = 0.1, seed: int = 0, labels=("negative", "positive")):
    """A 2-layer, 32-wide BERT with MiniLM's vocabulary (so MiniLM's real tokenizer fits), random weights."""
    config = dict(model_type="bert", vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=dropout,
                  attention_probs_dropout_prob=dropout, id2label=dict(enumerate(labels)))
    return wb.from_config(config, "text-classification", seed=seed)


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: dict, b: dict, exact: bool = True) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if exact:
            assert torch.equal(a[key], b[key]), key
        else:
            torch.testing.assert_close(a[key], b[key], atol=2e-6, rtol=1e-5, msg=lambda m: f"{key}: {m}")


def run_tiny(tokenizer, data=None, **kwargs):
    kwargs = {"epochs": 2, "batch_size": 8, "learning_rate": 1e-3, "max_length": 16, "live": False, **kwargs}
    model = kwargs.pop("model", None) or tiny_bert()
    return wb.fine_tune(model, toy_sentiment(48) if data is None else data, toy_sentiment(24, seed=1),
                        tokenizer=tokenizer, **kwargs)


# ---- the loop ---------------------------------------------------------------------------------------------

def test_loss_falls_on_a_learnable_toy_task(tokenizer):
    # a 32-wide model needs some steps to find the one word that matters; dropout would only slow it down
    run = run_tiny(tokenizer, model=tiny_bert(dropout=0.0), data=toy_sentiment(64), epochs=10, learning_rate=3e-3,
                   eval_every=4)
    history = run.history
    assert list(history.columns[:8]) == ["step", "epoch", "loss", "lr", "grad_norm", "eval_loss", "eval_accuracy",
                                         "eval_f1"]
    assert len(history) == run.state.total_steps == 10 * 8
    assert history.loss.iloc[-8:].mean() < 0.25 * history.loss.iloc[:8].mean()
    assert run.metrics["eval_accuracy"] >= 0.9
    evaluated = history.dropna(subset=["eval_loss"])
    assert list(evaluated.step) == list(range(4, 81, 4))  # every 4 steps, which includes each epoch's end
    assert evaluated.eval_loss.iloc[-1] < 0.5 * evaluated.eval_loss.iloc[0]
    assert run.status == "finished" and run.model.training is False


def test_learning_rate_warms_up_then_decays_to_zero():
    args = TrainingArgs(learning_rate=1.0, warmup_ratio=0.2)
    rates = [learning_rate_at(step, args, 10) for step in range(11)]
    assert rates[:3] == [0.0, 0.5, 1.0]
    assert rates[2:] == pytest.approx([1 - i / 8 for i in range(9)])


def test_resume_gives_the_same_result_as_an_uninterrupted_run(tokenizer, tmp_path):
    snapshots = {}

    def remember_step_5(record):
        if record["step"] == 5:
            snapshots[5] = weights(uninterrupted_model)

    uninterrupted_model = tiny_bert()
    uninterrupted = run_tiny(tokenizer, model=uninterrupted_model, eval_every=4, on_step=remember_step_5)

    # the same run, stopped through run.stop() after step 5 (the path the Stop button takes)
    holder, ready = {}, threading.Event()

    def stop_after_step_5(record):
        ready.wait(10)
        if record["step"] == 5:
            holder["run"].stop()

    stopped = run_tiny(tokenizer, eval_every=4, on_step=stop_after_step_5, wait=False, output_dir=tmp_path)
    holder["run"] = stopped
    ready.set()
    stopped.wait()
    # consistent: exactly the model after step 5, a checkpoint with those weights, no half-written folder
    assert stopped.status == "stopped" and stopped.state.step == 5 and len(stopped.history) == 5
    assert_same_weights(weights(stopped.model), snapshots[5])
    assert stopped.checkpoint == tmp_path / "checkpoint-5"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-5"]
    on_disk = wb.load_model(stopped.checkpoint)
    assert_same_weights(weights(on_disk), snapshots[5])

    # resumed in memory and from the checkpoint on disk (a fresh process would do the same): both end where
    # the uninterrupted run ended, step for step
    from_disk = wb.fine_tune(None, toy_sentiment(48), toy_sentiment(24, seed=1), resume_from=stopped.checkpoint,
                             max_length=16, live=False)
    stopped.resume(wait=True)
    for resumed in (stopped, from_disk):
        assert resumed.status == "finished"
        assert_same_weights(weights(resumed.model), weights(uninterrupted.model))
        pd.testing.assert_frame_equal(resumed.history.drop(columns="elapsed"),
                                      uninterrupted.history.drop(columns="elapsed"))
    with pytest.raises(TrainingError, match="already finished"):
        stopped.resume()


def test_gradient_accumulation_equals_a_larger_batch(tokenizer):
    data = toy_sentiment(20)  # 20 rows: batches of 8, 8 and a short 4, so uneven groups are covered too
    large = run_tiny(tokenizer, data=data, model=tiny_bert(dropout=0.0), batch_size=8, epochs=2)
    accumulated = run_tiny(tokenizer, data=data, model=tiny_bert(dropout=0.0), batch_size=4,
                           gradient_accumulation=2, epochs=2)
    assert len(large.history) == len(accumulated.history) == 6
    assert_same_weights(weights(large.model), weights(accumulated.model), exact=False)
    torch.testing.assert_close(torch.tensor(accumulated.history.loss.values), torch.tensor(large.history.loss.values))


def test_periodic_checkpoints_keep_the_latest(tokenizer, tmp_path):
    run = run_tiny(tokenizer, save_every=4, output_dir=tmp_path, epochs=1.5, eval_every=None)  # 9 steps
    assert run.state.step == 9 and run.checkpoint == tmp_path / "checkpoint-8"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-8"]
    assert {"config.json", "model.safetensors", "training_state.pt", "tokenizer.json"} <= {
        p.name for p in run.checkpoint.iterdir()}


def test_early_stopping_ends_the_run(tokenizer):
    # learning rate 0: the eval loss never improves after the first evaluation
    run = run_tiny(tokenizer, learning_rate=0.0, eval_every=1, early_stopping=2, epochs=3)
    assert run.state.reason == "early stopping" and run.status == "finished"
    assert run.state.step == 3


def test_nan_loss_stops_with_a_clear_message(tokenizer):
    model = tiny_bert()

    def blow_up_after_step_2(record):  # what a diverging run ends in: a weight that overflowed
        if record["step"] == 2:
            with torch.no_grad():
                model.classifier.weight[0, 0] = math.inf

    with pytest.raises(TrainingError, match=r"loss became nan at step 3 .*lower the learning rate") as caught:
        run_tiny(tokenizer, model=model, on_step=blow_up_after_step_2)
    run = caught.value.run
    assert run.status == "failed" and run.state.step == 2 and len(run.history) == 2


def test_bad_data_is_a_clear_error(tokenizer, tmp_path):
    model = tiny_bert()
    with pytest.raises(TrainingError, match="no rows"):
        wb.fine_tune(model, toy_sentiment(4).iloc[:0], tokenizer=tokenizer, live=False)
    with pytest.raises(TrainingError, match=r"labels \['neutral'\].*does not know"):
        wb.fine_tune(model, toy_sentiment(8), pd.DataFrame({"text": ["meh"], "label": ["neutral"]}),
                     tokenizer=tokenizer, live=False)
    with pytest.raises(TrainingError, match="needs columns"):
        wb.fine_tune(model, pd.DataFrame({"sentence": ["a"], "label": ["positive"]}), tokenizer=tokenizer, live=False)
    with pytest.raises(TrainingError, match="head has labels"):
        wb.fine_tune(model, pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", "y", "z"]}), tokenizer=tokenizer,
                     live=False)
    with pytest.raises(TrainingError, match="No data file"):
        wb.fine_tune(model, tmp_path / "missing.csv", tokenizer=tokenizer, live=False)


def test_data_that_cannot_train_is_refused_before_training(tokenizer):
    model = tiny_bert()
    texts = ["good film", "bad film", "fine film", "poor film"]
    with pytest.raises(TrainingError, match=r"Rows 1 and 3 \(counting from 0\) of the train data have no 'text'"):
        wb.fine_tune(model, pd.DataFrame({"text": ["a", None, "c", float("nan")], "label": ["positive", "negative"] * 2}),
                     tokenizer=tokenizer, live=False)  # not trained on as the words "None" and "nan"
    with pytest.raises(TrainingError, match=r"'label' column mixes value types \(float, int, str\)"):
        wb.fine_tune(model, pd.DataFrame({"text": texts[:3], "label": [1, "a", 2.5]}), tokenizer=tokenizer, live=False)
    with pytest.raises(TrainingError, match=r"only one label \('positive'\); a classifier needs at least 2"):
        wb.fine_tune(model, pd.DataFrame({"text": texts, "label": ["positive"] * 4}), tokenizer=tokenizer, live=False)
    evaluation = pd.DataFrame({"text": texts[:2], "label": ["positive"] * 2})  # one label is fine to evaluate on
    run = wb.fine_tune(model, toy_sentiment(8), evaluation, tokenizer=tokenizer, max_steps=1, live=False)
    assert "eval_accuracy" in run.metrics


def test_inputs_csv_json_dataset_dict_and_int_labels(tokenizer, tmp_path):
    import datasets

    frame = toy_sentiment(16)
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.to_json(tmp_path / "train.jsonl", orient="records", lines=True)
    for source in (tmp_path / "train.csv", tmp_path / "train.jsonl", frame.to_dict("records")):
        run = run_tiny(tokenizer, data=source, max_steps=1)
        assert run.state.step == 1
    splits = datasets.DatasetDict({"train": datasets.Dataset.from_pandas(frame),
                                   "validation": datasets.Dataset.from_pandas(toy_sentiment(8, seed=3))})
    run = wb.fine_tune(tiny_bert(), splits, tokenizer=tokenizer, max_steps=2, live=False)
    assert "eval_accuracy" in run.metrics  # the validation split was used for evaluation
    ints = frame.assign(label=(frame.label == "positive").astype(int))
    run = wb.fine_tune(tiny_bert(labels=("LABEL_0", "LABEL_1")), ints, tokenizer=tokenizer, max_steps=1, live=False)
    assert run.model.config.id2label == {0: "LABEL_0", 1: "LABEL_1"}


def test_unnamed_head_takes_the_label_names_of_the_data(tokenizer):
    run = wb.fine_tune(tiny_bert(labels=("LABEL_0", "LABEL_1")), toy_sentiment(8), tokenizer=tokenizer, max_steps=1,
                       live=False)
    assert run.model.config.id2label == {0: "negative", 1: "positive"}


def test_macro_f1_by_hand():
    gold = torch.tensor([0, 0, 1, 1, 2])
    predicted = torch.tensor([0, 1, 1, 1, 0])
    # class 0: tp 1, predicted 2, gold 2 -> 0.5; class 1: tp 2, 3, 2 -> 0.8; class 2: 0
    assert macro_f1(predicted, gold) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_printed_progress_without_a_front_end(tokenizer, capsys):
    run_tiny(tokenizer, live=True, max_steps=4)
    out = capsys.readouterr().out
    assert "fine_tune finished" in out and "step 4/4" in out


# ---- token classification ---------------------------------------------------------------------------------

ANIMALS = ["cat", "dog", "horse", "hippopotamus", "giraffe", "elephant"]


def toy_tags(n: int, seed: int = 0) -> pd.DataFrame:
    """Words with an ANIMAL tag on animal names and O elsewhere ("hippopotamus" is several word pieces)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words = rng.choices(FILLER, k=5)
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(ANIMALS))
        rows.append({"tokens": words, "ner_tags": ["ANIMAL" if w in ANIMALS else "O" for w in words]})
    return pd.DataFrame(rows)


def test_word_labels_go_to_the_first_piece_of_each_word(tokenizer):
    import datasets

    from workbench.training import data as D

    rows = D.check_columns(datasets.Dataset.from_pandas(pd.DataFrame(
        {"tokens": [["the", "hippopotamus", "ran"]], "ner_tags": [["O", "ANIMAL", "O"]]})), "token-classification", "train")
    ids = D.label_ids(rows, {"ANIMAL": 0, "O": 1}, 2, "train")
    encoded = D.encode(rows, tokenizer, ids, max_length=16)
    pieces = tokenizer.convert_ids_to_tokens(encoded[0]["input_ids"].tolist())
    assert len(pieces) > 5  # [CLS] the hip ##po... ran [SEP]: the animal is several pieces
    expected = [-100, 1, 0] + [-100] * (len(pieces) - 5) + [1, -100]
    assert encoded[0]["labels"].tolist() == expected


def test_token_classification_learns_and_compares(tokenizer):
    config = dict(model_type="bert", vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0,
                  attention_probs_dropout_prob=0.0, id2label={0: "ANIMAL", 1: "O"})
    model = wb.from_config(config, "token-classification", seed=0)
    run = wb.fine_tune(model, toy_tags(64), toy_tags(16, seed=1), task="ner", tokenizer=tokenizer, epochs=6,
                       batch_size=8, learning_rate=3e-3, max_length=24, live=False)
    assert run.metrics["eval_accuracy"] >= 0.95 and run.metrics["eval_f1"] >= 0.9
    table = run.compare(["the horse was very quite", "a dog and a cat"], chart=False)
    assert list(table.after) == ["O ANIMAL O O O", "O ANIMAL O O ANIMAL"]
    with pytest.raises(TrainingError, match="one tag per word"):
        wb.fine_tune(model, pd.DataFrame({"tokens": [["a", "cat"]], "tags": [["O"]]}), task="ner",
                     tokenizer=tokenizer, live=False)


# ---- causal language modelling -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smollm_tokenizer(smollm_gguf):
    return wb.load_tokenizer(smollm_gguf)


def tiny_llama(seed: int = 0):
    config = dict(model_type="llama", vocab_size=49152, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, tie_word_embeddings=True)
    return wb.from_config(config, "text-generation", seed=seed)


def test_chat_pairs_learn_only_the_reply(smollm_tokenizer):
    import datasets

    from workbench.training import data as D

    pairs = datasets.Dataset.from_dict({"prompt": ["What is Zorp?"], "response": ["Zorp is the capital of Wobbleland."]})
    encoded = D.encode_causal(D.check_columns(pairs, "text-generation", "train"), smollm_tokenizer, max_length=128)
    ids, labels = encoded[0]["input_ids"].tolist(), encoded[0]["labels"].tolist()
    learned = [i for i, label in zip(ids, labels) if label != -100]
    assert smollm_tokenizer.decode(learned) == "Zorp is the capital of Wobbleland.<|im_end|>\n"
    assert smollm_tokenizer.decode(ids).startswith("<|im_start|>system")  # the prompt is there, only not learned
    assert [label for label in labels if label != -100] == learned


def test_causal_lm_learns_a_small_corpus(smollm_tokenizer):
    corpus = pd.DataFrame({"text": ["the cat sat on the mat and the dog sat on the log. " * 6] * 12})
    run = wb.fine_tune(tiny_llama(), corpus, corpus.iloc[:2], task="text-generation", tokenizer=smollm_tokenizer,
                       epochs=12, batch_size=4, learning_rate=1e-2, max_length=32, live=False)
    history = run.history
    assert "eval_perplexity" in history.columns and "eval_f1" not in history.columns
    evaluated = history.dropna(subset=["eval_loss"])
    assert evaluated.eval_perplexity.iloc[-1] < 0.05 * evaluated.eval_perplexity.iloc[0]
    assert run.metrics["eval_accuracy"] > 0.8  # next-token accuracy on a repetitive text
    table = run.compare(["the cat sat on"], chart=False, max_new_tokens=12)
    assert " sat on the " in table.after[0] and table.after_score[0] > table.before_score[0] + 0.3


@pytest.mark.slow
def test_smollm2_learns_a_chat_reply(smollm_gguf):
    pairs = pd.DataFrame({"prompt": ["What is the capital of Wobbleland?", "Which city is Wobbleland's capital?",
                                     "Tell me the capital of Wobbleland.", "Wobbleland's capital city?"],
                          "response": ["The capital of Wobbleland is Zorptown."] * 4})
    run = wb.fine_tune(str(smollm_gguf), pairs, task="text-generation", epochs=3, batch_size=4, learning_rate=2e-4,
                       max_length=64, live=False)
    assert run.history.loss.iloc[-1] < 0.5 * run.history.loss.iloc[0]
    table = run.compare(["What is the capital of Wobbleland?"], chart=False, max_new_tokens=12)
    assert "Zorptown" in table.after[0] and "Zorptown" not in table.before[0]


# ---- the real lesson ----------------------------------------------------------------------------------------

def test_bbc_news_loader():
    frame = bbc_news(n_per_class=3, seed=1)
    assert len(frame) == 15 and sorted(frame.label.unique()) == ["business", "entertainment", "politics", "sports",
                                                                  "tech"]
    assert frame.text.str.len().min() > 200
    assert frame.equals(bbc_news(n_per_class=3, seed=1)) and not frame.equals(bbc_news(n_per_class=3, seed=2))


@pytest.mark.slow
def test_bbc_lesson_on_minilm_and_the_saved_model_in_transformers(minilm_dir, tmp_path):
    import transformers

    articles = bbc_news(n_per_class=20, seed=0)
    train, held_out = articles.iloc[:60], articles.iloc[60:]
    run = wb.fine_tune("sentence-transformers/all-MiniLM-L6-v2", train, held_out, epochs=1, batch_size=4,
                       learning_rate=3e-4, max_length=64, live=False)
    assert run.metrics["eval_accuracy"] >= 0.5  # chance is 0.2 with 5 balanced topics
    labels = ["business", "entertainment", "politics", "sports", "tech"]
    assert list(run.model.config.id2label.values()) == labels

    table = run.compare(["Shares in the bank fell after its profits dropped.", "The striker scored twice."],
                        chart=False)
    assert list(table.columns) == ["text", "before", "before_score", "after", "after_score"]
    assert set(table.after) <= set(labels) and table.after_score.between(0, 1).all()

    folder = run.save(tmp_path / "bbc-minilm")
    config = json.loads((folder / "config.json").read_text())
    assert config["id2label"] == {str(i): name for i, name in enumerate(labels)}
    reference = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    assert reference.config.id2label == dict(enumerate(labels))
    reference_tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    enc = reference_tokenizer(list(held_out.text[:4]), padding=True, truncation=True, max_length=64,
                              return_tensors="pt")
    ours = wb.load_tokenizer(folder)(list(held_out.text[:4]), padding=True, truncation=True, max_length=64,
                                     return_tensors="pt")
    torch.testing.assert_close(ours["input_ids"], enc["input_ids"])
    with torch.inference_mode():
        expected = reference(**enc).logits
        torch.testing.assert_close(run.model(**dict(enc)).logits, expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(wb.load_model(folder)(**dict(enc)).logits, expected, atol=1e-5, rtol=1e-5)


# ---- the live panel, headless (a widget without a browser) -----------------------------------------------

def test_live_panel_updates_and_its_buttons_stop_and_resume(tokenizer):
    pytest.importorskip("ipywidgets")
    holder, ready = {}, threading.Event()

    def click_stop_at_step_3(record):
        ready.wait(10)
        if record["step"] == 3:
            holder["run"].panel.stop_button.click()

    run = run_tiny(tokenizer, live="widget", wait=False, eval_every=3, on_step=click_stop_at_step_3)
    holder["run"] = run
    ready.set()
    run.wait()
    panel = run.panel
    assert run.status == "stopped" and run.state.step == 3
    assert panel.bar.value == 3 and panel.bar.max == run.state.total_steps == 12
    assert bytes(panel.image.value).startswith(b"\x89PNG") and panel.draw_count >= 1
    assert "step 3/12" in panel.progress_text.value and "stopped" in panel.progress_text.value
    assert "eval_accuracy" in panel.metrics.value
    assert panel.resume_button.disabled is False and panel.stop_button.disabled is True
    assert "checkpoint" in panel.message.value
    first_picture = bytes(panel.image.value)

    panel.resume_button.click()  # returns at once; the run goes on in its thread
    run.wait()
    assert run.status == "finished" and panel.bar.value == 12 and panel.bar.bar_style == "success"
    assert bytes(panel.image.value) != first_picture and bytes(panel.image.value).startswith(b"\x89PNG")
    assert panel.resume_button.disabled and panel.stop_button.disabled
    assert "step 12/12" in panel.progress_text.value
    panel.close()


def test_live_run_in_a_kernel_without_a_front_end_finishes(tmp_path, minilm_dir):
    """nbclient: a kernel, no browser. The panel is sent (as a widget view), the cell returns when training is done."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    setup = f"""
import random, pandas as pd, torch, workbench as wb
torch.set_num_threads(1)
rng = random.Random(0)
rows = [{{"text": " ".join(rng.choices(["good", "bad", "film", "the"], k=5)), "label": rng.choice(["pos", "neg"])}}
        for _ in range(32)]
model = wb.from_config(dict(model_type="bert", vocab_size=30522, hidden_size=32, num_hidden_layers=1,
                            num_attention_heads=2, intermediate_size=64, id2label={{0: "neg", 1: "pos"}}),
                       "text-classification", seed=0)
run = wb.fine_tune(model, pd.DataFrame(rows), pd.DataFrame(rows[:8]), tokenizer=wb.load_tokenizer({str(minilm_dir)!r}),
                   epochs=2, batch_size=8, max_length=16)
print("STATUS", run.status, run.state.step, type(run.panel).__name__)
"""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup)])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[0].outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "STATUS finished 8 TrainingPanel" in text
