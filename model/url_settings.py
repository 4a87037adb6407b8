"""The Train page's settings and hidden controls as short, readable URL query parameters."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from model.config import MAX_HIDDEN_LAYERS, ConfigError, TrainConfig

# The Train page's widget keys: the names of the TrainConfig fields they set.
HIDDEN_UNITS = "hidden_units"
ACTIVATION = "activation"
LOSS = "loss"
OPTIMIZER = "optimizer"
LEARNING_RATE = "learning_rate"
BATCH_SIZE = "batch_size"
EPOCHS = "epochs"
SEED = "seed"
DATASET = "dataset"
AUGMENT = "augment"
SHUFFLE = "shuffle"
TRAIN_SIZE = "train_size"
LABEL_NOISE = "label_noise"
INPUT_NOISE = "input_noise"
CONTROLS = tuple(field.name for field in fields(TrainConfig))

# One short URL key per control, e.g. `?units=25,15&lr=0.01&hide=lr,seed`.
URL_KEYS = {
    HIDDEN_UNITS: "units",
    ACTIVATION: "act",
    LOSS: "loss",
    OPTIMIZER: "opt",
    LEARNING_RATE: "lr",
    BATCH_SIZE: "batch",
    EPOCHS: "epochs",
    SEED: "seed",
    DATASET: "data",
    AUGMENT: "aug",
    SHUFFLE: "shuffle",
    TRAIN_SIZE: "images",
    LABEL_NOISE: "flip",
    INPUT_NOISE: "noise",
}
HIDE_KEY = "hide"
CONTROL_BY_URL_KEY = {key: control for control, key in URL_KEYS.items()}

LOSS_URL_VALUES = {"binary_crossentropy": "bce", "mean_squared_error": "mse"}
LOSS_BY_URL_VALUE = {short: loss for loss, short in LOSS_URL_VALUES.items()}
# `images=all` is the whole training split, as when the key is left out.
ALL_IMAGES = "all"
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
# Longer values are tampering, not settings; refusing them early keeps parsing cheap.
MAX_VALUE_CHARS = 64
SHOWN_VALUE_CHARS = 24
MAX_LISTED_NAMES = 3

assert set(URL_KEYS) == set(CONTROLS), "every TrainConfig field needs a URL key"


class DecodedSettings(NamedTuple):
    """What a URL asks for: a valid config, the controls to hide, and why anything was ignored."""

    config: TrainConfig
    hidden: frozenset[str]
    notices: list[str]


def _shown(value: str) -> str:
    """The value as a notice quotes it: short, one line."""
    flat = " ".join(value.split())
    if len(flat) > SHOWN_VALUE_CHARS:
        flat = flat[: SHOWN_VALUE_CHARS - 1] + "…"
    return repr(flat)


def _encode_value(control: str, value: Any) -> str:
    if control == HIDDEN_UNITS:
        return ",".join(str(units) for units in value)
    if control == LOSS:
        return LOSS_URL_VALUES[value]
    if value is None:
        return ALL_IMAGES
    if control in (LEARNING_RATE, LABEL_NOISE, INPUT_NOISE):
        # repr is the shortest text that reads back as exactly the same float.
        return repr(float(value))
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def encode_settings(config: TrainConfig, hidden: Iterable[str] = ()) -> dict[str, str]:
    """Query parameters for the settings that differ from the lesson's defaults, then `hide`."""
    defaults = TrainConfig()
    params = {
        URL_KEYS[control]: _encode_value(control, getattr(config, control))
        for control in CONTROLS
        if getattr(config, control) != getattr(defaults, control)
    }
    hidden_set = set(hidden)
    unknown = hidden_set - set(CONTROLS)
    if unknown:
        raise ValueError(f"unknown controls: {', '.join(sorted(unknown))}")
    if hidden_set:
        params[HIDE_KEY] = ",".join(URL_KEYS[c] for c in CONTROLS if c in hidden_set)
    return params


def settings_query(config: TrainConfig, hidden: Iterable[str] = ()) -> str:
    """The query string (without `?`) for a shareable link; commas stay readable."""
    return urlencode(encode_settings(config, hidden), safe=",")


def share_url(page_url: str, config: TrainConfig, hidden: Iterable[str] = ()) -> str:
    """The page's address (e.g. `st.context.url`) with its query replaced by these settings."""
    parts = urlsplit(page_url)
    return urlunsplit(parts._replace(query=settings_query(config, hidden), fragment=""))


def _whole_number(text: str) -> int:
    if not text.strip().lstrip("+-").isdigit():
        raise ValueError("not a whole number")
    return int(text)


def _parse_units(text: str) -> tuple[int, ...]:
    parts = text.split(",")
    if len(parts) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"at most {MAX_HIDDEN_LAYERS} hidden layers")
    return tuple(_whole_number(part) for part in parts)


def _parse_loss(text: str) -> str:
    return LOSS_BY_URL_VALUE.get(text.strip().lower(), text.strip().lower())


def _parse_rate(text: str) -> float:
    rate = float(text)
    if not math.isfinite(rate):
        raise ValueError("not a finite number")
    return rate


def _parse_train_size(text: str) -> int | None:
    return None if text.strip().lower() == ALL_IMAGES else _whole_number(text)


def _parse_flag(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("not true or false")


def _parse_word(text: str) -> str:
    return text.strip().lower()


PARSERS: dict[str, Callable[[str], Any]] = {
    HIDDEN_UNITS: _parse_units,
    ACTIVATION: _parse_word,
    LOSS: _parse_loss,
    OPTIMIZER: _parse_word,
    LEARNING_RATE: _parse_rate,
    BATCH_SIZE: _whole_number,
    EPOCHS: _whole_number,
    SEED: _whole_number,
    DATASET: _parse_word,
    AUGMENT: _parse_flag,
    SHUFFLE: _parse_flag,
    TRAIN_SIZE: _parse_train_size,
    LABEL_NOISE: _parse_rate,
    INPUT_NOISE: _parse_rate,
}


def _single_value(key: str, raw: str | Sequence[str], notices: list[str]) -> str | None:
    """st.query_params gives strings; parse_qs gives lists: a repeated key keeps its last value."""
    if isinstance(raw, str):
        return raw
    values = [value for value in raw if isinstance(value, str)]
    if not values:
        return None
    if len(values) > 1:
        notices.append(f"'{key}' appears {len(values)} times in the link; the last one is used.")
    return values[-1]


def _listed(names: Sequence[str]) -> str:
    """A few names quoted, then how many more: garbage links must not flood the page."""
    quoted = ", ".join(_shown(name) for name in names[:MAX_LISTED_NAMES])
    extra = len(names) - MAX_LISTED_NAMES
    return quoted + (f" and {extra} more" if extra > 0 else "")


def _decode_hidden(text: str, notices: list[str]) -> frozenset[str]:
    hidden, unknown = set(), []
    for name in (part.strip() for part in text.split(",")):
        control = CONTROL_BY_URL_KEY.get(name.lower(), name.lower())
        if control in CONTROLS:
            hidden.add(control)
        elif name:
            unknown.append(name)
    if unknown:
        notices.append(f"The link asks to hide unknown controls {_listed(unknown)}; ignored.")
    return frozenset(hidden)


def decode_settings(
    params: Mapping[str, str | Sequence[str]], defaults: TrainConfig | None = None
) -> DecodedSettings:
    """Read settings from query parameters; each bad value falls back to its default, with a notice.

    Never raises for any content of `params`: a shared link may have been edited by hand.
    """
    config = defaults if defaults is not None else TrainConfig()
    hidden: frozenset[str] = frozenset()
    notices: list[str] = []
    unknown_keys: list[str] = []
    for key, raw in params.items():
        text = _single_value(str(key), raw, notices)
        if text is None:
            continue
        if key == HIDE_KEY:
            hidden = _decode_hidden(text, notices)
            continue
        control = CONTROL_BY_URL_KEY.get(key) if isinstance(key, str) else None
        if control is None:
            unknown_keys.append(str(key))
            continue
        default_text = _encode_value(control, getattr(config, control))
        fallback = f"kept the default {key}={default_text}"
        if len(text) > MAX_VALUE_CHARS:
            notices.append(f"The link's value for '{key}' is far too long; {fallback}.")
            continue
        try:
            value = PARSERS[control](text)
            config = config.with_changes(**{control: value})
        except (ValueError, ConfigError, OverflowError) as error:
            notices.append(f"The link's {key}={_shown(text)} is not valid ({error}); {fallback}.")
    if unknown_keys:
        notices.append(f"The link has unknown settings {_listed(unknown_keys)}; ignored.")
    return DecodedSettings(config, hidden, notices)


def decode_query(query: str, defaults: TrainConfig | None = None) -> DecodedSettings:
    """Decode a raw query string such as `units=25,15&epochs=5` (with or without the `?`)."""
    params = parse_qs(query.lstrip("?"), keep_blank_values=True)
    return decode_settings(params, defaults)


def page_url(app_url: str, page_slug: str, page_slugs: Iterable[str]) -> str:
    """The address of one page, from the address of any page of the app (query dropped).

    `st.context.url` is the page the session was opened on, possibly under a base path, so a
    trailing page slug is swapped for the wanted one.
    """
    parts = urlsplit(app_url)
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments and segments[-1] in set(page_slugs):
        segments.pop()
    path = "/" + "/".join([*segments, page_slug])
    return urlunsplit(parts._replace(path=path, query="", fragment=""))
