"""The URL codec: settings → query → settings round trips, and tampered links never raise."""

from __future__ import annotations

import math
import random
import string

import pytest

from model.config import (
    ACTIVATIONS,
    DATASETS,
    LOSSES,
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_HIDDEN_LAYERS,
    MAX_INPUT_NOISE,
    MAX_LABEL_NOISE,
    MAX_LEARNING_RATE,
    MAX_SEED,
    MAX_TRAIN_SIZE,
    MAX_UNITS,
    MIN_LEARNING_RATE,
    MIN_TRAIN_SIZE,
    OPTIMIZERS,
    TrainConfig,
)
from model.url_settings import (
    CONTROLS,
    EPOCHS,
    HIDDEN_UNITS,
    LEARNING_RATE,
    SEED,
    URL_KEYS,
    decode_query,
    decode_settings,
    encode_settings,
    settings_query,
    share_url,
)

DEFAULTS = TrainConfig()


def random_config(rng: random.Random) -> TrainConfig:
    layers = rng.randint(1, MAX_HIDDEN_LAYERS)
    return TrainConfig(
        hidden_units=tuple(rng.randint(1, MAX_UNITS) for _ in range(layers)),
        activation=rng.choice(ACTIVATIONS),
        loss=rng.choice(LOSSES),
        optimizer=rng.choice(OPTIMIZERS),
        learning_rate=math.exp(
            rng.uniform(math.log(MIN_LEARNING_RATE), math.log(MAX_LEARNING_RATE))
        ),
        batch_size=rng.randint(1, MAX_BATCH_SIZE),
        epochs=rng.randint(1, MAX_EPOCHS),
        seed=rng.randint(0, MAX_SEED),
        dataset=rng.choice(DATASETS),
        augment=rng.random() < 0.5,
        shuffle=rng.random() < 0.5,
        train_size=rng.choice([None, rng.randint(MIN_TRAIN_SIZE, MAX_TRAIN_SIZE)]),
        label_noise=rng.choice([0.0, rng.uniform(0.0, MAX_LABEL_NOISE)]),
        input_noise=rng.choice([0.0, rng.uniform(0.0, MAX_INPUT_NOISE)]),
    )


def test_default_settings_make_an_empty_query() -> None:
    assert encode_settings(DEFAULTS) == {}
    assert decode_settings({}) == (DEFAULTS, frozenset(), [])


def test_only_changed_settings_appear_with_short_readable_keys() -> None:
    config = DEFAULTS.with_changes(
        hidden_units=(8, 4, 2), learning_rate=0.01, loss="mean_squared_error"
    )
    query = settings_query(config, {LEARNING_RATE, SEED})
    assert query == "units=8,4,2&loss=mse&lr=0.01&hide=lr,seed"


def test_lesson_link_reads_back() -> None:
    decoded = decode_query("?units=25,15&epochs=100&lr=0.001&act=sigmoid&hide=lr,seed")
    assert decoded.config == DEFAULTS
    assert decoded.hidden == {LEARNING_RATE, SEED}
    assert decoded.notices == []


@pytest.mark.parametrize("seed", range(200))
def test_round_trip_through_params_and_query_string(seed: int) -> None:
    rng = random.Random(seed)
    config = random_config(rng)
    hidden = frozenset(control for control in CONTROLS if rng.random() < 0.3)
    assert decode_settings(encode_settings(config, hidden)) == (config, hidden, [])
    assert decode_query(settings_query(config, hidden)) == (config, hidden, [])


def test_full_control_names_are_accepted_in_hide() -> None:
    decoded = decode_query("hide=epochs,hidden_units,LR")
    assert decoded.hidden == {EPOCHS, HIDDEN_UNITS, LEARNING_RATE}
    assert decoded.notices == []


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("epochs=abc", "epochs"),
        ("epochs=0", "epochs"),
        ("epochs=-5", "epochs"),
        ("epochs=12.5", "epochs"),
        ("epochs=1e3", "epochs"),
        (f"epochs={10**40}", "epochs"),
        ("epochs=", "epochs"),
        ("lr=nan", "lr"),
        ("lr=inf", "lr"),
        ("lr=-0.1", "lr"),
        ("lr=1e400", "lr"),
        ("lr=5", "lr"),
        ("lr=0x10", "lr"),
        ("units=25,15,10,5", "units"),
        ("units=25,,15", "units"),
        ("units=0", "units"),
        ("units=1000", "units"),
        ("units=", "units"),
        ("units=" + ",".join(["9"] * 500), "units"),
        ("act=softmax", "act"),
        ("loss=hinge", "loss"),
        ("opt=rmsprop", "opt"),
        ("batch=0", "batch"),
        (f"batch={MAX_BATCH_SIZE + 1}", "batch"),
        ("seed=-1", "seed"),
        (f"seed={MAX_SEED + 1}", "seed"),
        ("data=cifar", "data"),
        ("aug=maybe", "aug"),
        ("shuffle=2", "shuffle"),
        ("seed=" + "9" * 5000, "seed"),
    ],
)
def test_each_bad_value_falls_back_to_its_default_with_a_notice(query: str, key: str) -> None:
    decoded = decode_query(query + "&epochs=7" if key != "epochs" else query + "&seed=9")
    kept = DEFAULTS.with_changes(epochs=7) if key != "epochs" else DEFAULTS.with_changes(seed=9)
    assert decoded.config == kept
    assert len(decoded.notices) == 1
    assert f"'{key}'" in decoded.notices[0] or f"{key}=" in decoded.notices[0]
    assert len(decoded.notices[0]) < 300


def test_unknown_keys_and_hide_names_are_reported_once_each_kind() -> None:
    garbage = "&".join(f"junk{index}=1" for index in range(50))
    hide = ",".join(f"nope{index}" for index in range(50))
    decoded = decode_query(f"{garbage}&hide=epochs,{hide}&epochs=3")
    assert decoded.config == DEFAULTS.with_changes(epochs=3)
    assert decoded.hidden == {EPOCHS}
    assert len(decoded.notices) == 2
    assert all("and 47 more" in notice for notice in decoded.notices)


def test_repeated_key_uses_the_last_value_and_says_so() -> None:
    decoded = decode_query("epochs=5&epochs=9")
    assert decoded.config.epochs == 9
    assert decoded.notices == ["'epochs' appears 2 times in the link; the last one is used."]


def test_spelled_out_values_are_accepted() -> None:
    decoded = decode_query("loss=mean_squared_error&act=ReLU&aug=true&shuffle=no")
    assert decoded.config == DEFAULTS.with_changes(
        loss="mean_squared_error", activation="relu", augment=True, shuffle=False
    )
    assert decoded.notices == []


def test_decoding_starts_from_given_defaults() -> None:
    base = DEFAULTS.with_changes(epochs=3)
    assert decode_query("lr=0.5", base).config == base.with_changes(learning_rate=0.5)


def test_encoding_an_unknown_control_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown controls"):
        encode_settings(DEFAULTS, {"colour"})


def test_every_config_field_has_a_distinct_url_key() -> None:
    assert set(URL_KEYS) == set(CONTROLS)
    assert len(set(URL_KEYS.values())) == len(URL_KEYS)


def test_random_strings_never_raise() -> None:
    rng = random.Random(5)
    alphabet = string.printable + "é½٣∞\x00%&=,"
    keys = [*URL_KEYS.values(), "hide", "x"]
    for _ in range(3000):
        params = {
            rng.choice(keys): "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
            for _ in range(rng.randint(0, 6))
        }
        decoded = decode_settings(params)
        assert isinstance(decoded.config, TrainConfig)
        assert decoded.hidden <= set(CONTROLS)
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        assert isinstance(decode_query(raw).config, TrainConfig)


def test_share_url_replaces_the_pages_query() -> None:
    config = DEFAULTS.with_changes(epochs=5)
    url = share_url("https://lab.example/train?epochs=9&junk=1#top", config, {SEED})
    assert url == "https://lab.example/train?epochs=5&hide=seed"
    assert share_url("http://localhost:8501/train", DEFAULTS) == "http://localhost:8501/train"
    assert decode_query(url.split("?", 1)[1]) == (config, {SEED}, [])


def test_data_settings_have_short_keys_and_stay_out_of_default_links() -> None:
    assert settings_query(DEFAULTS) == ""
    config = TrainConfig(train_size=10, label_noise=0.33, input_noise=0.2)
    assert settings_query(config) == "images=10&flip=0.33&noise=0.2"
    assert decode_query("images=10&flip=0.33&noise=0.2").config == config
    assert decode_query("images=all").config == DEFAULTS


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("images=5", "training images must be 10 to 700"),
        ("images=701", "training images must be 10 to 700"),
        ("images=ten", "not a whole number"),
        ("flip=0.5", "label noise must be between 0 and 0.4"),
        ("flip=-0.1", "label noise must be between 0 and 0.4"),
        ("noise=0.9", "input noise must be between 0 and 0.5"),
        ("noise=nan", "not a finite number"),
    ],
)
def test_bad_data_settings_fall_back_with_a_notice(query: str, message: str) -> None:
    decoded = decode_query(query)
    assert decoded.config == DEFAULTS
    assert len(decoded.notices) == 1 and message in decoded.notices[0]
    assert "kept the default" in decoded.notices[0]


def test_data_controls_can_be_hidden() -> None:
    decoded = decode_query("flip=0.2&hide=flip,images,noise")
    assert decoded.config.label_noise == 0.2
    assert decoded.hidden == {"label_noise", "train_size", "input_noise"}
