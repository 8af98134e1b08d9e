"""`wb.Workbench()`: the app — pick a checkpoint, run a task, look at tokens / attention / generation / logit lens,
fine-tune — as one ipywidgets layout. Wiring only: everything it does is a function of `workbench.app_logic`.

    app = wb.Workbench()                      # English or Korean from the locale
    app = wb.Workbench(model="sentence-transformers/all-MiniLM-L6-v2", lang="ko")
    app                                       # last in a cell: the app
    app.load(name); app.run(text); app.show("attention")   # the same from code
    app.views["tokens"].widget().selected = 3   # select a token: the other view tabs select the same token
    app.run_                                  # the last fine-tuning Run (history, metrics, save)

Every callback reports its errors in the app's error area (errors raised in widget callbacks are otherwise lost).
The view tabs are linked kernel-side (so also in Voila): a token selected in one is selected in the others, found
there by its characters in the input (`app_logic.link_position`), since the views number their tokens differently.
"""
from __future__ import annotations

import functools
import html
import threading
import traceback

import ipywidgets as widgets

from .. import app_logic as logic
from ..memory import release_memory

TABS = ("task", "tokens", "attention", "generation", "lens", "train")
VIEW_TABS = ("tokens", "attention", "generation", "lens")
STOP_TIMEOUT_SECONDS = 30.0  # how long unloading waits for a streaming generation to finish its token


def _ui(action):
    """Run a callback with its errors shown in the app (and the busy flag cleared), never lost."""
    @functools.wraps(action)
    def wrapper(self, *args, **kwargs):
        try:
            return action(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 — shown to the user, not swallowed
            self.show_error(error)
            return None
    return wrapper


class Workbench(widgets.VBox):
    """The workbench app. `model`: a checkpoint to load at once (None: choose in the picker); `lang`: 'en' or 'ko'
    (default from the locale); `memory_limit_mb`: the memory budget for refusing big checkpoints (default: what
    this machine or its cgroup can give); `namespace`: where DataFrame variables are looked up (default: the
    notebook's)."""

    def __init__(self, model: str | None = None, *, lang: str | None = None, memory_limit_mb: float | None = None,
                 namespace: dict | None = None, text: str | None = None):
        self.lang = logic.check_language(lang)
        self.t = logic.ui_text(self.lang)
        self.memory_limit_mb = memory_limit_mb
        self._namespace = namespace
        self.loaded: logic.Loaded | None = None
        self.result: logic.TaskResult | None = None
        self._widgets: dict[str, widgets.Widget] = {}  # kind -> the widget shown in its tab (`views`: their views)
        self._view_input: dict[str, str] = {}  # kind -> the input the shown view was made for
        self.selection = None  # (anchor, input): the token selected in a view tab, linked across the tabs
        self._linking = False  # True while the app itself sets `selected` on the views
        self._showing = False  # True while show() opens a tab itself (the tab observer must not compute it again)
        self.run_ = None  # the last fine-tuning Run
        self.comparison = None  # its before/after table
        self.last_error: BaseException | None = None
        self._training_data = None
        from ..checkpoints import catalog

        self.catalog = catalog()
        t = self.t

        # ---- errors ------------------------------------------------------------------------------------------
        self.errors = widgets.Output(layout=widgets.Layout(max_height="180px", overflow="auto"))
        self.errors.add_class("wb-app-errors")

        # ---- model picker -------------------------------------------------------------------------------------
        self.search = widgets.Text(placeholder=t["search_placeholder"], description=t["search"],
                                   layout=widgets.Layout(width="340px"))
        self.family = widgets.Dropdown(options=[(t["all"], "")] + [(f, f) for f in logic.catalog_families(self.catalog)],
                                       description=t["family"], layout=widgets.Layout(width="200px"))
        self.task_filter = widgets.Dropdown(options=[(t["all"], "")] + [(k, k) for k in logic.catalog_tasks(self.catalog)],
                                            description=t["task"], layout=widgets.Layout(width="260px"))
        self.offline_only = widgets.Checkbox(value=logic.hub_is_offline(), description=t["offline_only"], indent=False,
                                             layout=widgets.Layout(width="auto"))
        self.models = widgets.Select(options=[], rows=7, layout=widgets.Layout(width="560px"))
        self.models.add_class("wb-app-models")
        self.card = widgets.HTML()
        self.load_button = widgets.Button(description=t["load"], icon="download", button_style="primary")
        self.load_button.add_class("wb-app-load")
        self.progress = widgets.IntProgress(value=0, min=0, max=len(logic.LOAD_STEPS) - 1,
                                            layout=widgets.Layout(width="200px", visibility="hidden"))
        self.status = widgets.HTML(value=html.escape(t["not_loaded"]))
        self.status.add_class("wb-app-status")
        for control in (self.search, self.family, self.task_filter, self.offline_only):
            control.observe(lambda _: self._refilter(), names="value")
        self.models.observe(lambda _: self._describe(), names="value")
        self.load_button.on_click(lambda _: self.load(self.models.value or ""))
        picker = widgets.HBox([
            widgets.VBox([self.search, widgets.HBox([self.family, self.task_filter, self.offline_only]), self.models]),
            widgets.VBox([self.card, widgets.HBox([self.load_button, self.progress]), self.status],
                         layout=widgets.Layout(width="420px", padding="0 0 0 12px")),
        ])

        # ---- input and task -----------------------------------------------------------------------------------
        self.task = widgets.Dropdown(options=[], description=t["task"], layout=widgets.Layout(width="360px"))
        self.task.add_class("wb-app-task")
        self.task.observe(lambda _: self._task_changed(), names="value")
        self.text = widgets.Textarea(value=text if text is not None else logic.example_for("default", self.lang)[0],
                                     placeholder=t["input_placeholder"], description=t["input"],
                                     layout=widgets.Layout(width="560px", height="80px"))
        self.text.add_class("wb-app-input")
        self.extra = widgets.Textarea(layout=widgets.Layout(width="400px", height="80px", display="none"))
        self.extra.add_class("wb-app-extra")
        self.run_button = widgets.Button(description=t["run"], icon="play", button_style="success")
        self.run_button.add_class("wb-app-run")
        self.run_button.on_click(lambda _: self.run())
        inputs = widgets.VBox([self.task, widgets.HBox([self.text, self.extra]), self.run_button])

        # ---- tabs -----------------------------------------------------------------------------------------------
        self.results = widgets.HTML()
        self.results.add_class("wb-app-results")
        self.chart = widgets.Image(format="png", layout=widgets.Layout(max_width="560px", display="none"))
        self.chart.add_class("wb-app-chart")
        self.view_boxes = {kind: widgets.VBox([widgets.HTML(html.escape(t["press_run"]))]) for kind in VIEW_TABS}
        for kind, box in self.view_boxes.items():
            box.add_class(f"wb-app-{kind}")
        self.max_new_tokens = widgets.IntSlider(value=20, min=1, max=100, description=t["max_new_tokens"])
        self.temperature = widgets.FloatSlider(value=0.0, min=0.0, max=2.0, step=0.1, description=t["temperature"])
        self.top_k = widgets.IntSlider(value=0, min=0, max=100, description=t["top_k"], tooltip=t["top_k_greedy"])
        self.temperature.observe(lambda _: self._temperature_changed(), names="value")
        self._temperature_changed()
        generation = widgets.VBox([widgets.HBox([self.max_new_tokens, self.temperature, self.top_k]),
                                   self.view_boxes["generation"]])
        self.tabs = widgets.Tab(children=[widgets.VBox([self.results, self.chart]), self.view_boxes["tokens"],
                                          self.view_boxes["attention"], generation, self.view_boxes["lens"],
                                          self._train_tab()])
        for index, name in enumerate(TABS):
            self.tabs.set_title(index, t[f"tab_{name}"])
        self.tabs.observe(lambda _: self._tab_changed(), names="selected_index")

        super().__init__([widgets.HTML(f"<h3 style='margin:4px 0'>{html.escape(t['title'])}</h3>"), picker,
                          inputs, self.tabs, self.errors])
        self.add_class("wb-app")
        self._refilter()
        if model is not None:
            if model in [value for _, value in self.models.options]:
                self.models.value = model
            self.load(model)

    # ---- errors --------------------------------------------------------------------------------------------
    def show_error(self, error: BaseException) -> None:
        self.last_error = error
        message = logic.error_message(error, self.lang)
        detail = "" if isinstance(error, logic.WorkbenchError) else "".join(
            traceback.format_exception(type(error), error, error.__traceback__))
        self.errors.outputs = ({"output_type": "stream", "name": "stderr", "text": message + "\n" + detail},)

    def clear_error(self) -> None:
        self.last_error = None
        self.errors.outputs = ()

    # ---- picker ------------------------------------------------------------------------------------------------
    @_ui
    def _refilter(self) -> None:
        rows = logic.filter_catalog(self.catalog, self.search.value, self.family.value or None,
                                    self.task_filter.value or None, self.offline_only.value)
        current = self.models.value
        options = logic.picker_options(rows, self.lang)
        self.models.options = options
        ids = [value for _, value in options]
        if current in ids:
            self.models.value = current
        elif ids:
            self.models.value = ids[0]
        self._describe()

    @property
    def views(self) -> dict[str, object]:
        """kind -> the view shown in its tab: the view of the tab's widget (the Tokens widget replaces its view
        with a new one when its own text box is typed in)."""
        return {kind: widget.view for kind, widget in self._widgets.items()}

    def _pick(self, checkpoint: str) -> None:
        """Select a catalog checkpoint in the picker, clearing the filters that hide it."""
        def shown() -> bool:
            return checkpoint in [value for _, value in self.models.options]

        if not shown():
            self.search.value, self.family.value, self.task_filter.value = "", "", ""
        if not shown():
            self.offline_only.value = False
        if shown():
            self.models.value = checkpoint

    def budget_mb(self) -> float | None:
        """The memory a new checkpoint may use: `memory_limit_mb`, else what is free plus what unloading the
        current model gives back (it is let go before the new weights are read)."""
        if self.memory_limit_mb is not None:
            return float(self.memory_limit_mb)
        return logic.memory_budget_mb(freed_mb=logic.loaded_memory_mb(self.loaded))

    @_ui
    def _describe(self) -> None:
        entry = logic.catalog_row(self.models.value) if self.models.value else None
        self.card.value = logic.describe_entry(entry, self.budget_mb(), self.lang) if entry else ""

    @_ui
    def load(self, name: str) -> logic.Loaded:
        """Load a checkpoint (refused before downloading when it does not fit in memory). The old model is let go
        only once the new one has passed every check, right before its weights are read, so that both are never
        in memory together (the budget counts the old one as freed)."""
        self.clear_error()
        self.progress.layout.visibility = "visible"
        self.progress.bar_style = "info"
        self.load_button.disabled = True
        previous = self.loaded.name if self.loaded is not None else None
        released = []

        def progress(step: int, steps: int, what: str) -> None:
            self.progress.value = step
            self.status.value = html.escape(f"{self.t['loading']} {name}: {what} ...")

        def release() -> None:
            self._release_model()
            released.append(True)

        try:
            loaded = logic.load_checkpoint(name, budget_mb=self.budget_mb(), lang=self.lang, progress=progress,
                                           before_reading=release)
        except Exception as error:
            self.progress.bar_style = "danger"
            if released and previous is not None:
                self.status.value = html.escape(self.t["unloaded_previous"].format(name=name, previous=previous))
            else:
                self.status.value = html.escape(self.loaded.summary(self.lang) if self.loaded else self.t["not_loaded"])
            if getattr(error, "sibling", None):
                self._pick(error.sibling)  # the smaller model suggested by the refusal, ready to Load
            raise
        finally:
            self.load_button.disabled = False
        self.loaded = loaded
        self.progress.bar_style = "success"
        self.status.value = html.escape(self.loaded.summary(self.lang))
        self.task.options = [(logic.task_label(task, self.lang), task) for task in self.loaded.tasks]
        self.task.value = self.loaded.tasks[0]
        self._task_changed()
        self._train_model_note()
        return self.loaded

    def _release_model(self) -> None:
        """Let the loaded model go with everything that holds it (the views, streaming or not, their widgets, the
        task result, the pipelines), then hand the freed memory back to the system."""
        for kind in list(self.views):
            self._stop_view(kind, wait=True)  # a streaming generation holds the model until its thread ends
        self._drop_views()
        self.result = None
        self.results.value = ""
        self.chart.layout.display = "none"
        self.loaded = None
        self.task.options = []
        release_memory()

    def _drop_views(self) -> None:
        """Forget every view tab's view (their widgets closed) and the linked selection."""
        for widget in self._widgets.values():
            widget.close()  # ipywidgets keeps every open widget (and so its view's data) alive
        self._widgets.clear()
        for box in self.view_boxes.values():
            box.children = [widgets.HTML(html.escape(self.t["press_run"]))]
        self._view_input.clear()
        self.selection = None

    def _temperature_changed(self) -> None:
        """Top-k only limits sampling: at temperature 0 (greedy) it does nothing, so it is greyed out."""
        self.top_k.disabled = self.temperature.value == 0

    # ---- task and views ---------------------------------------------------------------------------------------
    def _task_changed(self) -> None:
        task = self.task.value
        extra = logic.EXTRA_INPUT.get(task)
        self.extra.layout.display = "" if extra else "none"
        self.extra.description = self.t[extra] if extra else ""
        if task:
            language = logic.examples_language(self.lang, self.loaded.entry if self.loaded else None)
            text, extra_text = logic.example_for(task, language)
            if logic.is_example(self.text.value):  # replace an example, never the user's own text
                self.text.value = text
            if not self.extra.value.strip() or logic.is_example(self.extra.value):
                self.extra.value = extra_text
            self.text.placeholder = self.t["extra_lines"] if task == "sentence-embedding" else self.t["input_placeholder"]

    @_ui
    def run(self, text: str | None = None, task: str | None = None) -> logic.TaskResult | None:
        """Run the task on the input and refresh the view tab that is showing."""
        self.clear_error()
        if text is not None:
            self.text.value = text
        if self.loaded is None:
            raise logic.WorkbenchError(self.t["needs_model"])
        if task is not None:
            logic.check_task(self.loaded, task, self.lang)  # the menu would raise a TraitError
            self.task.value = task
        self.run_button.disabled = True
        try:
            self.result = logic.run_task(self.loaded, self.task.value, self.text.value, self.extra.value,
                                         max_new_tokens=self.max_new_tokens.value, lang=self.lang)
        finally:
            self.run_button.disabled = False
        self.results.value = logic.table_html(self.result.table)
        if self.result.chart:
            self.chart.value, self.chart.layout.display = self.result.chart, ""
        else:
            self.chart.layout.display = "none"
        kind = self._selected_view()
        if kind is not None:
            self.show(kind)
        return self.result

    def _selected_view(self) -> str | None:
        name = TABS[self.tabs.selected_index or 0]
        return name if name in VIEW_TABS else None

    def _tab_changed(self) -> None:
        if self._showing:
            return  # show() opened this tab and computes its view itself
        kind = self._selected_view()
        if kind is not None and self.loaded is not None and self._view_input.get(kind) != self.text.value:
            self.show(kind)

    @_ui
    def show(self, kind: str):
        """Compute the view `kind` (tokens, attention, generation, lens) for the input and show it in its tab."""
        self.clear_error()
        logic.check_view_kind(kind, self.lang)
        if self.loaded is None:
            raise logic.WorkbenchError(self.t["needs_model"])
        self._showing = True
        try:
            self.tabs.selected_index = TABS.index(kind)
        finally:
            self._showing = False
        box = self.view_boxes[kind]
        self._stop_view(kind)  # the view it replaces may still be streaming
        try:
            view = logic.make_view(kind, self.loaded, self.text.value, max_new_tokens=self.max_new_tokens.value,
                                   temperature=self.temperature.value, top_k=self.top_k.value, lang=self.lang)
        except Exception as error:
            box.children = [widgets.HTML(f"<span style='color:#b91c1c'>"
                                         f"{html.escape(logic.error_message(error, self.lang))}</span>")]
            self._view_input[kind] = self.text.value
            replaced = self._widgets.pop(kind, None)  # the tab no longer shows it: it must not take part in linking
            if replaced is not None:
                replaced.close()
            raise
        replaced = self._widgets.get(kind)
        self._view_input[kind] = self.text.value
        widget = self._widgets[kind] = view.widget()
        box.children = [widget]
        if replaced is not None:
            replaced.close()  # ipywidgets keeps every open widget (and its view's data) alive
        widget.observe(functools.partial(self._token_selected, kind), names="selected")
        if kind == "tokens":
            widget.observe(self._tokens_typed, names="text")
        self._select_linked(kind)  # a view made after a selection shows it too
        return view

    @_ui
    def _tokens_typed(self, change) -> None:
        """Observer of the Tokens tab's own text box: what is typed there becomes the app's input, so the other
        tabs follow it and a token selected there is still found in them."""
        widget = change["owner"]
        if widget is not self._widgets.get("tokens"):
            return
        self._view_input["tokens"] = change["new"]  # the widget re-tokenized it into a new view (`views` has it)
        self.text.value = change["new"]

    def _stop_view(self, kind: str, wait: bool = False) -> None:
        """End the background work of the view shown in tab `kind` (a streaming generation), if any; with `wait`,
        until its thread has ended (it stops after the token being made)."""
        view = self.views.get(kind)
        if getattr(view, "stop", None) is not None:
            view.stop()
            if wait:
                view.wait(timeout=STOP_TIMEOUT_SECONDS)

    # ---- linked views: a token selected in one tab is selected in every tab ------------------------------------
    @_ui
    def _token_selected(self, kind: str, change) -> None:
        """Observer of each view widget's `selected`: remember the token, select it in the other tabs."""
        if self._linking or change["owner"] is not self._widgets.get(kind):
            return  # the app's own update, or a view that a newer one replaced
        text = self._view_input.get(kind, "")
        self.selection = (logic.selected_anchor(change["owner"].view, change["new"], text), text)
        for other in self.views:
            if other != kind:
                self._select_linked(other)

    def _select_linked(self, kind: str) -> None:
        """Set `selected` of one tab's view to the remembered token (-1: none there, or another input)."""
        widget = self._widgets.get(kind)
        if widget is None:
            return
        anchor, text = self.selection or (None, None)
        position = logic.linked_position(anchor, widget.view, text) if text == self._view_input.get(kind) else -1
        self._linking = True
        try:
            widget.selected = position
        finally:
            self._linking = False

    # ---- training ---------------------------------------------------------------------------------------------
    def _train_tab(self) -> widgets.Widget:
        t = self.t
        self.data_source = widgets.ToggleButtons(options=[(t["data_bbc"], "bbc"), (t["data_csv"], "csv"),
                                                          (t["data_frame"], "frame")], value="bbc")
        self.per_class = widgets.IntSlider(value=40, min=5, max=200, step=5, description=t["per_class"],
                                           style={"description_width": "initial"})
        self.upload = widgets.FileUpload(accept=".csv", multiple=False, description=t["upload"])
        self.variable = widgets.Dropdown(options=[], description=t["variable"])
        self.refresh_button = widgets.Button(description=t["refresh"], icon="refresh")
        self.refresh_button.on_click(lambda _: self._refresh_variables())
        self.data_boxes = {"bbc": widgets.HBox([self.per_class]), "csv": widgets.HBox([self.upload]),
                           "frame": widgets.HBox([self.variable, self.refresh_button])}
        self.data_box = widgets.Box([self.data_boxes["bbc"]])
        self.data_source.observe(lambda _: self._source_changed(), names="value")
        self.epochs = widgets.BoundedFloatText(value=1, min=0.1, max=20, step=0.5, description=t["epochs"],
                                               layout=widgets.Layout(width="180px"))
        self.batch_size = widgets.Dropdown(options=[8, 16, 32], value=16, description=t["batch_size"],
                                           layout=widgets.Layout(width="200px"))
        self.max_length = widgets.Dropdown(options=[32, 64, 128, 256], value=128, description=t["max_length"],
                                           layout=widgets.Layout(width="200px"))
        self.epochs.add_class("wb-app-epochs")
        self.max_length.add_class("wb-app-max-length")
        self.train_note = widgets.HTML()
        self.train_button = widgets.Button(description=t["train"], icon="graduation-cap", button_style="primary")
        self.train_button.add_class("wb-app-train")
        self.train_button.on_click(lambda _: self.train())
        self.panel_box = widgets.VBox()
        self.panel_box.add_class("wb-app-panel")
        self.compare_html = widgets.HTML()
        self.compare_html.add_class("wb-app-compare")
        self.compare_chart = widgets.Image(format="png", layout=widgets.Layout(max_width="560px", display="none"))
        self._train_model_note()
        return widgets.VBox([
            widgets.HTML(f"<b>{html.escape(t['data'])}</b>"), self.data_source, self.data_box,
            widgets.HBox([self.epochs, self.batch_size, self.max_length]), self.train_note, self.train_button,
            self.panel_box, widgets.HTML(f"<b>{html.escape(t['compare'])}</b>"), self.compare_html,
            self.compare_chart])

    def _source_changed(self) -> None:
        self.data_box.children = [self.data_boxes[self.data_source.value]]
        if self.data_source.value == "frame":
            self._refresh_variables()

    def namespace(self) -> dict:
        if self._namespace is not None:
            return self._namespace
        try:
            from IPython import get_ipython
        except ImportError:
            return {}
        shell = get_ipython()
        return shell.user_ns if shell is not None else {}

    @_ui
    def _refresh_variables(self) -> None:
        self.clear_error()  # an earlier "no DataFrame yet" must not stay once there is one
        names = logic.dataframe_variables(self.namespace())
        current = self.variable.value
        self.variable.options = names
        if names:
            self.variable.value = current if current in names else names[0]
        if not names:
            raise logic.WorkbenchError(self.t["no_variables"])

    def _train_model_note(self) -> None:
        if hasattr(self, "train_note"):
            name = logic.training_checkpoint(self.loaded)
            self.train_note.value = html.escape(self.t["train_model"].format(name=name))

    def training_data(self):
        """(train, eval) DataFrames from the chosen source."""
        source = self.data_source.value
        if source == "bbc":
            return logic.bbc_data(self.per_class.value, lang=self.lang)
        if source == "csv":
            if not self.upload.value:
                raise logic.WorkbenchError(self.t["no_csv"])
            upload = self.upload.value[0]
            frame = logic.read_csv_upload(bytes(upload["content"]), upload["name"], self.lang)
            return logic.split_train_eval(frame, lang=self.lang)
        name = self.variable.value
        if not name:
            raise logic.WorkbenchError(self.t["no_variables"])
        namespace = self.namespace()
        if name not in namespace:
            raise logic.WorkbenchError(self.t["variable_gone"].format(name=name))
        return logic.split_train_eval(namespace[name], lang=self.lang)

    @_ui
    def train(self, max_steps: int | None = None):
        """Start fine-tuning on the chosen data; the live panel (loss plot, Stop / Resume) appears in the tab."""
        self.clear_error()
        if self.run_ is not None and self.run_.running:
            raise logic.WorkbenchError(self.t["still_training"])
        from .training import TrainingPanel

        self.train_button.disabled = True
        try:
            train, evaluation = self.training_data()
            checkpoint = logic.training_checkpoint(self.loaded)
            self.train_note.value = html.escape(self.t["train_model"].format(name=checkpoint))
            run = logic.start_training(checkpoint, train, evaluation, epochs=self.epochs.value,
                                       batch_size=self.batch_size.value, max_length=self.max_length.value,
                                       max_steps=max_steps)
        finally:
            self.train_button.disabled = False
        self.run_, self.comparison = run, None
        self.compare_html.value, self.compare_chart.layout.display = "", "none"
        panel = TrainingPanel(run, lang=self.lang)
        run.panel = panel  # run.wait() in a cell then keeps the panel's buttons working
        run.add_listener(panel.update)
        run.add_listener(functools.partial(self._after_training, run, list(evaluation["text"][:6])))
        panel.update({})  # draw now: the run may already have moved (or even ended) before the listener was added
        if not run.running and run.status in ("finished", "stopped", "failed"):
            self._after_training(run, list(evaluation["text"][:6]), None)
        self.panel_box.children = [panel.widget]
        return run

    def _after_training(self, run, texts: list[str], record) -> None:
        """Listener: when the run's thread ends (record None), show predictions before vs after."""
        if record is not None or run is not self.run_:
            return
        threading.Thread(target=self._show_comparison, args=(run, texts), daemon=True).start()

    @_ui
    def _show_comparison(self, run, texts: list[str]) -> None:
        if run.status == "failed":
            return
        table, png = logic.comparison(run, texts)
        self.comparison = table
        shown = table.assign(text=table["text"].map(lambda s: s if len(s) <= 90 else s[:87] + "..."))
        self.compare_html.value = logic.table_html(shown)
        self.compare_chart.value, self.compare_chart.layout.display = png, ""
