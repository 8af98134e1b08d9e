"""Model configuration read from a checkpoint's config.json.

A `Config` is the checkpoint's own dictionary laid over the family's defaults (the same defaults
transformers uses, so a config.json that omits a field means the same thing here). Fields are plain
attributes: `config.hidden_size`. Nothing is renamed, so `to_dict()` writes back a config.json that
transformers reads unchanged.
"""
from __future__ import annotations

import copy
from typing import Any


class Config:
    def __init__(self, values: dict[str, Any], defaults: dict[str, Any] | None = None,
                 aliases: dict[str, str] | None = None):
        merged = {**copy.deepcopy(defaults or {}), **copy.deepcopy(values)}
        merged.pop("transformers_version", None)
        self.__dict__.update(merged)
        # read-only other names for fields, as transformers' `attribute_map` (DistilBERT: hidden_size -> dim);
        # never written to config.json
        self.__dict__["_aliases"] = dict(aliases or {})
        self._normalise_labels()

    def __getattr__(self, name: str) -> Any:  # only reached when `name` is not a field
        aliases = self.__dict__.get("_aliases", {})
        if name in aliases:
            return getattr(self, aliases[name])
        raise AttributeError(f"'Config' object has no attribute {name!r}")

    # Labels: config.json stores id2label with string keys ("0": "NEGATIVE"); we keep int keys.
    def _normalise_labels(self) -> None:
        id2label = self.__dict__.get("id2label")
        num_labels = self.__dict__.pop("num_labels", None)
        if id2label:
            self.id2label = {int(k): str(v) for k, v in id2label.items()}
        else:
            self.id2label = {i: f"LABEL_{i}" for i in range(num_labels or 2)}
        self.label2id = {label: i for i, label in self.id2label.items()}

    @property
    def num_labels(self) -> int:
        return len(self.id2label)

    def set_labels(self, labels: list[str] | dict[int, str] | int) -> None:
        """Give the classification head new labels (names, an id->name dict, or a count)."""
        if isinstance(labels, int):
            self.__dict__["id2label"] = {i: f"LABEL_{i}" for i in range(labels)}
        elif isinstance(labels, dict):
            self.__dict__["id2label"] = dict(labels)
        else:
            self.__dict__["id2label"] = dict(enumerate(labels))
        self._normalise_labels()

    def get(self, name: str, default: Any = None) -> Any:
        name = self.__dict__.get("_aliases", {}).get(name, name)
        return self.__dict__.get(name, default)

    def to_dict(self) -> dict[str, Any]:
        """The config.json form: every field, id2label with string keys as transformers writes them."""
        out = {k: copy.deepcopy(v) for k, v in self.__dict__.items() if not k.startswith("_")}
        out["id2label"] = {str(k): v for k, v in self.id2label.items()}
        return out

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in sorted(self.to_dict().items()) if k not in ("id2label", "label2id"))
        return f"Config({fields})"


def rope_parameters(config: Config) -> dict[str, Any]:
    """Rotary settings in one form, from either spelling found on the Hub.

    Older config.json files have `rope_theta` plus an optional `rope_scaling` dict ({"type" or
    "rope_type": "linear"|"dynamic"|"llama3"|"yarn", "factor": ...}); newer ones (transformers >= 4.56)
    have `rope_parameters` = {"rope_type": ..., "rope_theta": ..., ...}. Returns a dict that always has
    "rope_type" and "rope_theta" and keeps every other field the checkpoint gave.
    """
    params: dict[str, Any] = {}
    if isinstance(config.get("rope_parameters"), dict):
        params.update(config.rope_parameters)
    if isinstance(config.get("rope_scaling"), dict):
        params.update(config.rope_scaling)
    if "type" in params and "rope_type" not in params:
        params["rope_type"] = params.pop("type")
    params.setdefault("rope_type", "default")
    params.setdefault("rope_theta", config.get("rope_theta", 10000.0))
    return params
