"""A run's `.keras` file written directly, from one real Keras save per kind of network."""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from model.config import TrainConfig
from model.forward import NetworkWeights

# The zip's entries as keras/src/saving/saving_lib.py names them, in the order it writes them.
METADATA_FILE, CONFIG_FILE, WEIGHTS_FILE = "metadata.json", "config.json", "model.weights.h5"
DATE_FORMAT = "%Y-%m-%d@%H:%M:%S"

# The template's own numbers, chosen to occur nowhere else in a config.json: every place one of
# them shows up is a place where a run's number goes, wherever this Keras version puts it.
TEMPLATE_UNITS = (37, 41, 43)
TEMPLATE_SEED = 123_457
TEMPLATE_LEARNING_RATE = 0.0123
# Values written into the template's variables to tell which h5 dataset holds which: weight i
# is filled with i + 1, optimizer variable j with OPTIMIZER_MARKER + j.
OPTIMIZER_MARKER = 1000

# ("units", hidden layer), ("seed", Keras layer: 0 is the output), ("rate", "float32" or
# "float": how config.json stores it), ("weight", index), ("optimizer", variable index) or
# ("group", None).
Source = tuple[str, Any]


@dataclass(frozen=True)
class Entry:
    """A group or a dataset of the template's weights file."""

    path: str
    attrs: dict[str, Any]
    dtype: np.dtype | None = None
    source: Source = ("group", None)


@dataclass(frozen=True)
class Template:
    metadata: dict[str, Any]
    config_text: str
    patches: list[tuple[tuple[Any, ...], Source]]
    root_attrs: dict[str, Any]
    # In the order Keras created them, so that the h5 file is laid out as its own.
    entries: list[Entry]
    learning_rate_index: int
    # Each state variable's shape when fresh: the index of the weight it mirrors, or its own.
    fresh_state: list[int | tuple[int, ...]]


_templates: dict[tuple, Template] = {}


def template_for(config: TrainConfig) -> Template:
    # What config.json's structure depends on; every other setting is only a number in it.
    kind = (len(config.hidden_units), config.activation, config.loss, config.optimizer)
    if kind not in _templates:
        _templates[kind] = build_template(config)
    return _templates[kind]


def keras_file_bytes(
    config: TrainConfig, weights: NetworkWeights, optimizer_state: list[np.ndarray] | None
) -> bytes:
    """The run's compiled model as `model.save` writes it; `optimizer_state` in
    `model.engine.state_variables` order, or None for a freshly compiled optimizer's."""
    if weights.hidden_units != config.hidden_units:
        raise ValueError(f"weights of {weights.hidden_units} units for {config.hidden_units}")
    template = template_for(config)
    arrays = weights.as_list()
    if optimizer_state is None:
        # A freshly compiled optimizer's: the step count and every moment zero.
        shapes = [arrays[s].shape if isinstance(s, int) else s for s in template.fresh_state]
        optimizer_state = [np.zeros(shape) for shape in shapes]
    if len(optimizer_state) != len(template.fresh_state):
        raise ValueError(f"{len(optimizer_state)} optimizer variables for {config.optimizer}")
    # The state leaves out the learning rate, which the config holds.
    optimizer = list(optimizer_state)
    optimizer.insert(template.learning_rate_index, np.float32(config.learning_rate))
    values = {"weight": arrays, "optimizer": optimizer}
    # Parsing the kept text is a deep copy, and several times quicker than copy.deepcopy.
    model_config = json.loads(template.config_text)
    rate = config.learning_rate
    numbers = {("units", i): units for i, units in enumerate(config.hidden_units)}
    # Seeded as `model.network.build_model` seeds its GlorotUniform initialisers.
    numbers |= {("seed", i): config.seed * 4 + i for i in range(len(config.hidden_units) + 1)}
    numbers |= {("rate", "float32"): float(np.float32(rate)), ("rate", "float"): rate}
    for path, source in template.patches:
        node = model_config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = numbers[source]
    metadata = template.metadata | {"date_saved": datetime.datetime.now().strftime(DATE_FORMAT)}
    weights_file = io.BytesIO()
    # As Keras's H5IOStore: h5py's defaults, in memory, each group then its `group[key] = value`.
    with h5py.File(weights_file, mode="w") as h5:
        h5.attrs.update(template.root_attrs)
        for entry in template.entries:
            if entry.source[0] == "group":
                h5.create_group(entry.path).attrs.update(entry.attrs)
                continue
            kind, index = entry.source
            h5[entry.path] = np.asarray(values[kind][index], dtype=entry.dtype)
            if entry.attrs:
                h5[entry.path].attrs.update(entry.attrs)
    output = io.BytesIO()
    # As saving_lib's `_save_model_to_fileobj`: stored, not deflated; the JSON through `open`
    # and the weights through `writestr`, which give their entries different headers.
    with zipfile.ZipFile(output, "w") as archive:
        with archive.open(METADATA_FILE, "w") as file:
            file.write(json.dumps(metadata).encode())
        with archive.open(CONFIG_FILE, "w") as file:
            file.write(json.dumps(model_config).encode())
        archive.writestr(WEIGHTS_FILE, weights_file.getvalue())
    return output.getvalue()


def build_template(config: TrainConfig) -> Template:
    """Save a compiled model of the config's kind as Keras does and take it apart: what stays,
    where a run's numbers go in config.json, and which variable each h5 dataset holds."""
    from model.engine import state_variables
    from model.network import build_model, compile_model
    from model.network import keras_file_bytes as saved_bytes

    layers = len(config.hidden_units)
    # Only the kind's settings come from the run: nothing of the run stays in the template.
    marked = TrainConfig(
        hidden_units=TEMPLATE_UNITS[:layers],
        activation=config.activation,
        loss=config.loss,
        optimizer=config.optimizer,
        learning_rate=TEMPLATE_LEARNING_RATE,
        seed=TEMPLATE_SEED,
    )
    model = compile_model(build_model(marked), marked)
    model.optimizer.build(model.trainable_variables)
    shapes = [tuple(weight.shape) for weight in model.weights]
    model.set_weights([np.full(shape, i + 1, np.float32) for i, shape in enumerate(shapes)])
    variables = list(model.optimizer.variables)
    kept = {id(variable) for variable in state_variables(model.optimizer)}
    (learning_rate_index,) = [i for i, v in enumerate(variables) if id(v) not in kept]
    state_shapes = [tuple(v.shape) for v in variables if id(v) in kept]
    # The template's widths differ, so a moment's shape names the weight it mirrors.
    fresh_state = [shapes.index(s) if shapes.count(s) == 1 else s for s in state_shapes]
    for index, variable in enumerate(variables):
        if index != learning_rate_index:
            variable.assign(np.full(variable.shape, OPTIMIZER_MARKER + index, variable.dtype))
    with zipfile.ZipFile(io.BytesIO(saved_bytes(model))) as archive:
        if archive.namelist() != [METADATA_FILE, CONFIG_FILE, WEIGHTS_FILE]:
            raise RuntimeError(f"this Keras saves {archive.namelist()}")
        metadata = json.loads(archive.read(METADATA_FILE))
        config_text = archive.read(CONFIG_FILE).decode()
        weights_file = archive.read(WEIGHTS_FILE)

    markers: dict[Any, Source] = {units: ("units", i) for i, units in enumerate(TEMPLATE_UNITS)}
    markers |= {TEMPLATE_SEED * 4 + layer: ("seed", layer) for layer in range(layers + 1)}
    markers[float(np.float32(TEMPLATE_LEARNING_RATE))] = ("rate", "float32")
    markers[TEMPLATE_LEARNING_RATE] = ("rate", "float")
    leaves = _numbers(json.loads(config_text))
    patches = [(path, markers[value]) for path, value in leaves if value in markers]
    # Every width and seed somewhere, and the learning rate once, in one of its two forms.
    found = [source for _, source in patches]
    needed = {("units", i) for i in range(layers)} | {("seed", i) for i in range(layers + 1)}
    if {s for s in found if s[0] != "rate"} != needed or [s[0] for s in found].count("rate") != 1:
        raise RuntimeError(f"this Keras's config.json holds a run's numbers at {patches}")

    nodes: list[tuple[int, Entry]] = []
    with h5py.File(io.BytesIO(weights_file), "r") as h5:
        root_attrs = dict(h5.attrs)

        def visit(path: str, node: Any) -> None:
            address = h5py.h5o.get_info(node.id).addr
            if isinstance(node, h5py.Group):
                nodes.append((address, Entry(path, dict(node.attrs))))
                return
            source = _marked(node[()], path, learning_rate_index)
            nodes.append((address, Entry(path, dict(node.attrs), node.dtype, source)))

        h5.visititems(visit)
    sources = sorted(entry.source for _, entry in nodes if entry.source[0] != "group")
    expected = [("optimizer", j) for j in range(len(variables))]
    if sources != expected + [("weight", i) for i in range(len(shapes))]:
        raise RuntimeError(f"this Keras's weights file holds {sources}")
    # An object's header address in the file tells when Keras created it.
    entries = [entry for _, entry in sorted(nodes, key=lambda node: node[0])]
    return Template(
        metadata, config_text, patches, root_attrs, entries, learning_rate_index, fresh_state
    )


def _numbers(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every number in parsed JSON with its path; booleans are not numbers here."""
    for key, value in node.items() if isinstance(node, dict) else enumerate(node):
        if isinstance(value, (dict, list)):
            yield from _numbers(value, (*path, key))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield (*path, key), value


def _marked(value: np.ndarray, path: str, learning_rate_index: int) -> Source:
    """Which variable a template dataset holds, from the one value it was filled with."""
    values = np.unique(value)
    if values.size != 1:
        raise RuntimeError(f"the template's {path} holds {values.size} values, not a marker")
    marker = values[0].item()
    if marker == np.float32(TEMPLATE_LEARNING_RATE):
        return ("optimizer", learning_rate_index)
    if marker >= OPTIMIZER_MARKER:
        return ("optimizer", int(marker) - OPTIMIZER_MARKER)
    return ("weight", int(marker) - 1)
