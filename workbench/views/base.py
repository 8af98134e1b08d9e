"""What every view shares: data -> (JSON state + binary arrays) -> one JS renderer, used twice.

A view object holds plain data computed by the pure functions of its module. The same JS renderer
(`workbench/widgets/<kind>.js`, after `common.js`) draws it
- live, as an anywidget in JupyterLab / Notebook 7 / Voila (`display(view)` or just `view` last in a cell);
- offline, in the standalone page of `view.to_html()`: the JS and CSS are inlined, the state is embedded as
  JSON (binary arrays as base64), and a Content-Security-Policy forbids every network request.
`view.save("x.png")` draws with matplotlib instead, so no browser is needed for pictures.

Every view speaks English or Korean (`view.lang`, "en" | "ko", see `workbench.views.text`): the texts made in
Python follow it, the widget gets it as its synced trait `lang` (the JS draws its own texts in it), and the
exported page keeps it (`<html lang="ko">`).

Token text is never trusted: the embedded JSON escapes `<`, `>` and `&` (so nothing can close the script
element) and the JS only ever sets token text through `textContent`.
"""
from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path
from typing import Any

# The JS/CSS renderers live next to the widgets that load them; the exported page reads the same files.
ASSETS = Path(__file__).resolve().parent.parent / "widgets"

# No network at all, only the inline script and style of the page itself.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                           "img-src data:; connect-src 'none'")


def script(kind: str) -> str:
    """The ES module of one view: shared helpers, then the view's `render`, then `export default`."""
    return (ASSETS / "common.js").read_text(encoding="utf-8") + "\n" + (ASSETS / f"{kind}.js").read_text(encoding="utf-8")


def stylesheet() -> str:
    return (ASSETS / "views.css").read_text(encoding="utf-8")


def json_for_script(value: Any) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>`, `&` or line separators left raw."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


_EXPORT_LINE = re.compile(r"^export default .*$", re.MULTILINE)

PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head><body class="wb-page">
<h1 class="wb-page-title">{title}</h1>
<div id="wb-root"></div>
<script type="application/json" id="wb-data">{data}</script>
<script type="module">
{js}
const wbData = JSON.parse(document.getElementById("wb-data").textContent);
render({{ model: standaloneModel(wbData), el: document.getElementById("wb-root") }});
</script>
</body></html>
"""


class View:
    """Base of every view; subclasses set `kind` and implement `traits()` and `figure()`."""

    kind = ""  # names the renderer `widgets/<kind>.js` and the widget module `workbench.widgets.<kind>`
    lang = "en"  # the language of its texts; subclasses set it from `check_language(lang)`
    _title: str | None = None

    @property
    def title(self) -> str:
        """The page title: set by hand, else the view's own (`default_title()`, in the view's language)."""
        return self.default_title() if self._title is None else self._title

    @title.setter
    def title(self, value: str) -> None:
        self._title = value

    def default_title(self) -> str:
        return ""

    def traits(self) -> dict[str, Any]:
        """The widget's synced state: JSON-able values, and `bytes` for binary arrays."""
        raise NotImplementedError

    def figure(self, **options):
        """A matplotlib Figure of the view (for PNG)."""
        raise NotImplementedError

    # ---- outputs ----------------------------------------------------------------------------------------
    def to_html(self) -> str:
        """One standalone HTML page (inline JS and CSS, no network) that draws this view."""
        data = {name: ({"__bytes__": base64.b64encode(value).decode("ascii")} if isinstance(value, bytes) else value)
                for name, value in self.traits().items()}
        data["live"] = False  # no Python behind the page: controls that need the kernel hide themselves
        data["lang"] = self.lang
        js = _EXPORT_LINE.sub("", script(self.kind))
        return PAGE.format(lang=self.lang, csp=CONTENT_SECURITY_POLICY, title=html.escape(self.title), css=stylesheet(),
                           data=json_for_script(data), js=js)

    def to_png(self, dpi: int = 110, **options) -> bytes:
        from .drawing import drawing

        figure = self.figure(**options)
        buffer = io.BytesIO()
        with drawing():  # glyph warnings are raised again while saving
            figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        return buffer.getvalue()

    def save(self, path: str | Path, **options) -> Path:
        """Write `x.html` (standalone page) or `x.png` (matplotlib picture); returns the path."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in (".html", ".htm"):
            path.write_text(self.to_html(), encoding="utf-8")
        elif suffix == ".png":
            path.write_bytes(self.to_png(**options))
        else:
            raise ValueError(f"Cannot save a view as {path.name!r}; use a .html or .png file name.")
        return path

    # ---- notebook display -------------------------------------------------------------------------------
    def widget(self):
        """The live widget (anywidget) for this view, made once; change its traits to steer the display."""
        if getattr(self, "_widget", None) is None:
            import importlib

            self._widget = importlib.import_module(f"workbench.widgets.{self.kind}").widget_for(self)
        return self._widget

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            widget = self.widget()
        except ImportError:  # no anywidget: the standalone page in an iframe still works in most front ends
            page = html.escape(self.to_html(), quote=True)
            frame = f'<iframe srcdoc="{page}" style="width:100%;height:480px;border:0"></iframe>'
            return {"text/html": frame, "text/plain": repr(self)}
        bundle = widget._repr_mimebundle_(include=include, exclude=exclude)  # data, or (data, metadata)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        data = {**data, "text/plain": repr(self)}
        return (data, metadata) if metadata else data
