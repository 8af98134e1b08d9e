"""Chat templates: a conversation (list of {"role", "content"} dicts) -> prompt text, with Jinja2.

Templates come from checkpoints on the Hub, so they are untrusted code: they run in Jinja's immutable sandbox.
The environment offers what transformers offers templates, so the same template renders the same text:
trim_blocks / lstrip_blocks, `loopcontrols`, `raise_exception(msg)`, `strftime_now(fmt)`, a `tojson` filter that
does not HTML-escape, and a `{% generation %}` block (rendered as plain text here; no assistant masks).
"""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import TokenizerError

# Appended to the message being continued, to find where its text ends in the rendered prompt.
_CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG "


class _GenerationBlock(jinja2.ext.Extension):
    """`{% generation %}...{% endgeneration %}` marks assistant text in some templates; render its body as is."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render_body"), [], [], body).set_lineno(lineno)

    def _render_body(self, caller):
        return caller()


def _raise_exception(message: str):
    raise jinja2.exceptions.TemplateError(message)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, separators=None,
            sort_keys: bool = False) -> str:
    # Jinja's own tojson escapes <, >, & for HTML; prompts must keep them.
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


@lru_cache(maxsize=32)
def compile_template(source: str) -> jinja2.Template:
    """The compiled template for `source` (cached: chats are rendered often, templates rarely change)."""
    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                extensions=[_GenerationBlock, jinja2.ext.loopcontrols])
    environment.filters["tojson"] = _tojson
    environment.globals["raise_exception"] = _raise_exception
    environment.globals["strftime_now"] = _strftime_now
    try:
        return environment.from_string(source)
    except jinja2.exceptions.TemplateSyntaxError as error:
        raise TokenizerError(f"The chat template is not valid Jinja ({error.message}, line {error.lineno}); "
                             "fix the template text.") from error


def render_conversation(template_source: str, messages: list[dict], *, add_generation_prompt: bool = False,
                        continue_final_message: bool = False, tools: list[dict] | None = None,
                        documents: list[dict] | None = None, **template_variables: Any) -> str:
    """The prompt text of one conversation.

    `continue_final_message=True` leaves the last message open (no end-of-turn marker after it), so a model
    continues it instead of starting a new turn.
    """
    if not messages:
        raise TokenizerError("Cannot apply a chat template to an empty conversation; pass at least one message.")
    for message in messages:
        if not isinstance(message, dict):
            raise TokenizerError(f"Chat messages must be dicts like {{'role': 'user', 'content': '...'}}, "
                                 f"got {message!r}.")
    if tools is not None and not all(isinstance(tool, dict) for tool in tools):
        raise TokenizerError("Pass tools as JSON-schema dicts ({'type': 'function', 'function': {...}}).")
    # Drop None values (APIs return content=None for tool calls; templates handle a missing key, not None).
    messages = [{key: value for key, value in message.items() if value is not None} for message in messages]

    final_text = None
    if continue_final_message:
        if add_generation_prompt:
            raise TokenizerError("continue_final_message and add_generation_prompt cannot both be set; "
                                 "choose one.")
        final_text = messages[-1].get("content")
        if not isinstance(final_text, str):
            raise TokenizerError("continue_final_message needs a final message whose content is a string.")
        messages[-1] = {**messages[-1], "content": final_text + _CONTINUE_TAG}

    template = compile_template(template_source)
    try:
        rendered = template.render(messages=messages, tools=tools, documents=documents,
                                   add_generation_prompt=add_generation_prompt, **template_variables)
    except jinja2.exceptions.TemplateError as error:
        raise TokenizerError(f"The chat template refused this conversation: {error}") from error

    if final_text is not None:
        tag = _CONTINUE_TAG.strip()
        if tag not in rendered:
            raise TokenizerError("continue_final_message is set but the template dropped the final message's "
                                 "text; this template cannot continue a message.")
        cut = rendered.rindex(tag)
        # If the template kept the tag's trailing space, the final text ends exactly at the tag; if it trimmed
        # whitespace, the message's own trailing whitespace was trimmed too.
        rendered = rendered[:cut] if rendered[cut:cut + len(_CONTINUE_TAG)] == _CONTINUE_TAG \
            else rendered[:cut].rstrip()
    return rendered
