"""The live panel of a fine-tuning run: loss curve, progress bar, metrics, Stop / Resume. Wiring only.

The training thread only sets a flag after each step (`update`). A drawing thread wakes on that flag and
refreshes the progress bar, text and metrics (at most `max_fps` times a second); it draws a new loss curve
(workbench.training.plot: matplotlib Agg -> PNG bytes into an Image widget) only when drawing has so far
taken at most `max_overhead` of the time, and always once more when the run ends.

A cell that waits for the run (`wait_for`) blocks the kernel's main thread, where widget messages are
handled. The Stop button still works: with ipykernel >= 7 every comm message first passes the kernel's
shell-channel thread, which asks the comm where to route it (`_reply_subshell_for`); the Stop button's comm
notices a click there and stops the run at once. With ipykernel 6 the waiting cell processes queued widget
messages itself (jupyter-ui-poll). Interrupting the kernel also stops the run cleanly.
"""
from __future__ import annotations

import html
import threading
import time
import warnings

import ipywidgets as widgets

from ..training.plot import loss_curve_png
from ..training.progress import format_seconds, in_notebook_kernel
from ..views.text import check_language, panel_text

METRICS_SHOWN = ("loss", "lr", "eval_loss", "eval_accuracy", "eval_f1")


class TrainingPanel:
    """`lang`: 'en' or 'ko' for the panel's own texts (None: from the locale, as the views); numbers stay as they are."""

    def __init__(self, run, *, lang: str | None = None, max_fps: float = 4.0, max_overhead: float = 0.04):
        self.run = run
        self.lang = check_language(lang)
        self.t = panel_text(self.lang)
        self.max_fps, self.max_overhead = max_fps, max_overhead
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="640px"))
        self.bar = widgets.IntProgress(value=0, min=0, max=max(1, run.state.total_steps), bar_style="info",
                                       layout=widgets.Layout(width="320px"))
        self.progress_text = widgets.Label(value=self.t["starting"])
        self.metrics = widgets.HTML(value="")
        self.stop_button = widgets.Button(description=self.t["stop"], icon="stop", button_style="danger",
                                          tooltip=self.t["stop_tooltip"])
        self.resume_button = widgets.Button(description=self.t["resume"], icon="play", button_style="success",
                                            disabled=True, tooltip=self.t["resume_tooltip"])
        self.message = widgets.HTML(value="")
        self.stop_button.on_click(lambda _: self._stop())
        _hear_clicks_while_busy(self.stop_button, self._stop)
        self.resume_button.on_click(lambda _: self._resume())
        self.widget = widgets.VBox([
            widgets.HBox([self.bar, self.progress_text]),
            self.image,
            self.metrics,
            widgets.HBox([self.stop_button, self.resume_button]),
            self.message,
        ])
        self.draw_count = 0
        self.drawing_seconds = 0.0  # total time spent drawing (for the overhead measure)
        self._wanted = threading.Event()  # something changed since the last refresh
        self._drawn = threading.Event()  # the refresh after the thread ended is on screen
        self._hurry = threading.Event()  # cuts the throttle's pause short (the run ended)
        self._final_pending = False  # the run's thread has ended; the next refresh is the last one
        self._closed = False
        self._drawer: threading.Thread | None = None

    # ---- notebook display ----------------------------------------------------------------------------------
    def show(self) -> None:
        from IPython import get_ipython
        from IPython.display import display

        import matplotlib.backends.backend_agg  # noqa: F401  (imported here, not in the middle of training)

        self._start_drawer()
        if get_ipython() is not None:  # outside IPython there is nothing to show it in
            display(self.widget)

    def _ipython_display_(self) -> None:
        self.show()

    def close(self) -> None:
        self._closed = True
        self._wanted.set()
        self.widget.close()

    # ---- called from the training thread: cheap ----------------------------------------------------------
    def update(self, record: dict | None) -> None:
        """After each step (record) and once at the end (None)."""
        if record is None:
            self._drawn.clear()
            self._final_pending = True
            self._hurry.set()  # the last picture should not wait for the throttle
        self._start_drawer()
        self._wanted.set()

    # ---- buttons -----------------------------------------------------------------------------------------
    def _stop(self) -> None:
        if not self.run.running or self.run.stop_requested:
            return  # e.g. the click already stopped the run from the shell-channel thread
        self.stop_button.disabled = True
        self.progress_text.value = self.t["stopping"]
        self.run.stop()

    def _resume(self) -> None:
        self.resume_button.disabled = True
        try:
            self.run.resume()  # returns at once: a button handler must not block the kernel
        except Exception as error:  # shown in the panel: errors in callbacks vanish otherwise
            self.message.value = f"<span style='color:#b00'>{html.escape(str(error))}</span>"
        self._wanted.set()

    # ---- the drawing thread -------------------------------------------------------------------------------
    def _start_drawer(self) -> None:
        if self._drawer is None or not self._drawer.is_alive():
            self._drawer = threading.Thread(target=self._draw_loop, name="workbench-training-panel", daemon=True)
            self._drawer.start()

    def _draw_loop(self) -> None:
        next_picture = 0.0  # monotonic time before which no new picture is drawn
        while not self._closed:
            self._wanted.wait()
            if self._closed:
                return
            self._wanted.clear()
            final, self._final_pending = self._final_pending, False
            self._hurry.clear()
            picture = final or time.monotonic() >= next_picture
            started = time.perf_counter()
            try:
                self.refresh(picture=picture)
            except Exception as error:  # keep the panel alive and say what went wrong
                said = self.t["panel_error"].format(error=html.escape(repr(error)))
                self.message.value = f"<span style='color:#b00'>{said}</span>"
            spent = time.perf_counter() - started
            self.drawing_seconds += spent
            if picture:
                self.draw_count += 1
                # the next picture waits until drawing has taken at most max_overhead of the wall time (the
                # first one also pays for matplotlib's first figure, hence the 10 s cap)
                next_picture = time.monotonic() + min(10.0, spent / self.max_overhead - spent)
            if final:
                self._drawn.set()
            self._hurry.wait(1.0 / self.max_fps)  # text and progress bar: at most max_fps updates a second

    def refresh(self, picture: bool = True) -> None:
        """Bring the widgets up to date with the run; the loss curve only when `picture` (drawing is the costly
        part). Called by the drawing thread; callable directly."""
        run = self.run
        progress = run.progress()
        records = list(run.state.history)  # a snapshot: the training thread appends meanwhile
        self.bar.max = max(1, progress["total_steps"])
        self.bar.value = progress["step"]
        self.progress_text.value = self.t["progress"].format(
            step=progress["step"], total=progress["total_steps"], epoch=f"{progress['epoch']:.2f}",
            epochs=f"{progress['epochs']:g}", elapsed=format_seconds(progress["elapsed"]),
            eta=format_seconds(progress["eta"]), status=self.t.get(f"status_{progress['status']}", progress["status"]))
        metrics = progress["metrics"]
        shown = [(self.t[f"metric_{name}"], metrics[name]) for name in METRICS_SHOWN if name in metrics]
        self.metrics.value = "<table style='font-family:monospace'><tr>" + "".join(
            f"<td style='padding-right:1.5em'><b>{html.escape(name)}</b> {value:.4g}</td>" for name, value in shown
        ) + "</tr></table>"
        status = progress["status"]  # buttons before the picture: drawing takes a while, the buttons should not
        self.stop_button.disabled = status != "running" or run.stop_requested
        self.resume_button.disabled = status != "stopped"
        self.bar.bar_style = {"running": "info", "finished": "success", "stopped": "warning",
                              "failed": "danger"}.get(status, "")
        if status == "failed":
            self.message.value = f"<span style='color:#b00'>{html.escape(progress['message'])}</span>"
        elif status == "stopped" and run.checkpoint is not None:
            self.message.value = self.t["stopped_checkpoint"].format(path=html.escape(str(run.checkpoint)))
        elif status in ("running", "finished"):
            self.message.value = ""
        if picture:
            self.image.value = loss_curve_png(records, progress["total_steps"])

    # ---- waiting in a notebook cell ------------------------------------------------------------------------
    def wait_for(self, thread: threading.Thread, stop) -> None:
        """Block until `thread` ends; in a kernel, keep handling widget events (Stop clicks) meanwhile."""
        try:
            if in_notebook_kernel():
                _join_processing_ui_events(thread)
            else:
                while thread.is_alive():
                    thread.join(0.2)
        except KeyboardInterrupt:  # "interrupt kernel" acts as Stop
            stop()
            thread.join()
        self._drawn.wait(timeout=5)  # the final picture and button states are on screen when the cell returns


def _hear_clicks_while_busy(button: widgets.Button, on_click) -> bool:
    """Call `on_click` as soon as a click message reaches the kernel, even while a cell is running.

    ipykernel >= 7 receives shell messages in a thread of their own and, for each comm message, asks the comm
    which subshell should handle it (`comm._reply_subshell_for(data, default)`). Wrapping that question lets
    this button see its click in that thread; the message is then routed as before, unchanged."""
    comm = getattr(button, "comm", None)
    route = getattr(comm, "_reply_subshell_for", None)
    if route is None:  # no kernel, or an ipykernel without this hook
        return False

    def route_and_notice_click(data, default):
        content = data.get("content") if isinstance(data, dict) else None
        if isinstance(content, dict) and data.get("method") == "custom" and content.get("event") == "click":
            try:
                on_click()
            except Exception:  # this runs in the kernel's shell-channel thread: never break message routing
                pass
        return route(data, default)

    comm._reply_subshell_for = route_and_notice_click
    return True


def _join_processing_ui_events(thread: threading.Thread) -> None:
    """Join `thread`; on ipykernel 6 (whose main loop can be stepped) also handle queued widget messages."""
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    ui_events = None
    if hasattr(kernel, "do_one_iteration"):  # ipykernel < 7; ipykernel 7 is served by _hear_clicks_while_busy
        try:
            from jupyter_ui_poll import ui_events
        except ImportError:
            warnings.warn("Install jupyter-ui-poll (pip install jupyter-ui-poll) so that the Stop button works "
                          "while the cell waits; meanwhile interrupt the kernel to stop.", stacklevel=4)
    if ui_events is None:
        while thread.is_alive():
            thread.join(0.2)
        return
    with ui_events() as poll:
        while thread.is_alive():
            poll(20)  # handle up to 20 queued messages from the browser (button clicks)
            thread.join(0.05)
