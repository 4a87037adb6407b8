"""The training engine: many epochs of Keras training steps compiled into one TensorFlow graph call."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any

import numpy as np

from model.config import TrainConfig, layer_sizes, padded_config, padded_units
from model.data import Splits
from model.epochs import EpochLog, shuffled_order
from model.forward import NetworkWeights

# Traced engines a process keeps; each holds a small Keras model and its epoch graph.
CACHED_ENGINES = 4
# Epochs one graph call may run. The epochs' sample orders go in as the rows of one array of
# a fixed shape (XLA compiles one shape), so a bigger training set gets fewer rows.
MAX_EPOCHS_PER_CALL = 64
ORDER_CELLS_PER_CALL = 250_000

_engines: OrderedDict[tuple, Engine] = OrderedDict()


def glorot_weights(config: TrainConfig) -> NetworkWeights:
    """Fresh weights as Keras's `Dense` draws them (Glorot uniform kernels, zero biases), seeded.

    Drawn in NumPy so that a reused engine starts a new seed's run without building a new model.
    """
    rng = np.random.default_rng(config.seed)
    kernels, biases = [], []
    for fan_in, fan_out in itertools.pairwise(layer_sizes(config)):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        kernels.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        biases.append(np.zeros(fan_out, dtype=np.float32))
    return NetworkWeights(tuple(kernels), tuple(biases), config.activation)


def fitted(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`array` cut or zero-padded to `shape`, its top-left corner kept: between the learner's
    network and the padded one the engine trains."""
    array = np.asarray(array)
    result = np.zeros(shape, dtype=array.dtype)
    corner = tuple(slice(0, min(have, want)) for have, want in zip(array.shape, shape, strict=True))
    result[corner] = array[corner]
    return result


def weight_shapes(config: TrainConfig) -> list[tuple[int, ...]]:
    """Each kernel's and bias's shape, in Keras's order (kernel, bias, layer by layer)."""
    shapes: list[tuple[int, ...]] = []
    for fan_in, fan_out in itertools.pairwise(layer_sizes(config)):
        shapes += [(fan_in, fan_out), (fan_out,)]
    return shapes


def compile_latest_engine() -> None:
    """XLA-compile the most recently used engine if it is not yet: call it while idle."""
    if _engines:
        next(reversed(_engines.values())).compile_fast_path()


def engine_key(config: TrainConfig, splits: Splits) -> tuple:
    """What the traced epoch graph depends on; the seed, epochs, learning rate and the units
    within one padded width are not in it."""
    return (
        padded_units(config.hidden_units),
        config.activation,
        config.loss,
        config.optimizer,
        config.batch_size,
        splits.train.x.shape,
        splits.validation.x.shape,
    )


class Engine:
    """Trains one network shape; `model.fit`'s per-step Python overhead is paid once per call
    of up to `epochs_per_call` epochs.

    The model, its optimizer and the traced epoch are kept and reused by later runs of the
    same shape: a new run only assigns new weights, data and learning rate to the variables.
    The model's hidden layers are `padded_units` wide. The units past the run's own keep
    weights of zero: their outgoing kernel rows are masked to zero after every step, so they
    add nothing to any output, their incoming weights get no gradient, and the run trains
    exactly its own network, which `weights()` and `optimizer_state()` cut back out.
    """

    def __init__(self, config: TrainConfig, splits: Splits) -> None:
        import tensorflow as tf

        from model.network import build_model, compile_model

        # Grappler's graph rewrites cost a fresh network shape a tenth of a second and gain
        # nothing on these small graphs (a repeat run goes through XLA, which does its own).
        # Off in every process that trains, so that a run gives the same weights in all.
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})

        self.config = config
        self.model = compile_model(build_model(padded_config(config)), config)
        self.kernels = [layer.kernel for layer in self.model.layers]
        # One mask per kernel fed by a hidden layer: 1 for the run's own units' rows, 0 past them.
        self.row_masks = [
            tf.Variable(tf.ones((kernel.shape[0], 1)), trainable=False)
            for kernel in self.kernels[1:]
        ]
        self._assign_masks()
        self.loss_fn = self.model.loss
        self.optimizer = self.model.optimizer
        self.optimizer.build(self.model.trainable_variables)
        self.x_train = tf.Variable(splits.train.x, trainable=False)
        self.y_train = tf.Variable(splits.train.y.reshape(-1, 1), trainable=False)
        self.x_val = tf.Variable(splits.validation.x, trainable=False)
        self.y_val = tf.Variable(splits.validation.y.reshape(-1, 1), trainable=False)
        self.train_size = len(splits.train)
        self.epochs_per_call = max(
            1, min(MAX_EPOCHS_PER_CALL, ORDER_CELLS_PER_CALL // self.train_size)
        )
        # A new shape trains at once through the plain graph (quick to trace); XLA comes later.
        self._graph_epochs = tf.function(self._epochs, reduce_retracing=True)
        self._compiled_epochs: Any = None

    @classmethod
    def for_config(cls, config: TrainConfig, splits: Splits) -> Engine:
        """A cached engine of the same shape loaded with this run's data and settings, or a new one."""
        key = engine_key(config, splits)
        engine = _engines.pop(key, None)
        if engine is None:
            engine = cls(config, splits)
        else:
            engine.load(config, splits)
        _engines[key] = engine
        while len(_engines) > CACHED_ENGINES:
            _engines.popitem(last=False)
        return engine

    def load(self, config: TrainConfig, splits: Splits) -> None:
        self.config = config
        self._assign_masks()
        self.x_train.assign(splits.train.x)
        self.y_train.assign(splits.train.y.reshape(-1, 1))
        self.x_val.assign(splits.validation.x)
        self.y_val.assign(splits.validation.y.reshape(-1, 1))

    def _assign_masks(self) -> None:
        for mask, units in zip(self.row_masks, self.config.hidden_units, strict=True):
            mask.assign((np.arange(mask.shape[0]) < units).astype(np.float32).reshape(-1, 1))

    def _step(self, rows: Any, weights: Any, count: Any) -> tuple[Any, Any]:
        """One Keras training step on the given rows; returns the loss summed over them and the hits.

        `weights` are 0 for the padding rows of the epoch's last, smaller batch and scaled so
        that the loss is the mean over its `count` real rows, as `model.fit` takes it.
        """
        import tensorflow as tf

        variables = self.model.trainable_variables
        x = tf.gather(self.x_train, rows)
        y = tf.gather(self.y_train, rows)
        with tf.GradientTape() as tape:
            p = self.model(x, training=True)
            loss = self.loss_fn(y, p, sample_weight=weights)
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        for kernel, mask in zip(self.kernels[1:], self.row_masks, strict=True):
            kernel.assign(kernel * mask)
        right = tf.cast(tf.equal(p >= 0.5, y >= 0.5), tf.float32)
        hits = tf.reduce_sum(right * tf.cast(weights > 0, tf.float32))
        return loss * count, hits

    def _batch_layout(self) -> tuple[int, int, np.ndarray, np.ndarray]:
        """An epoch's batches: how many, the padding rows of the last, each row's loss weight
        and each batch's number of real rows.

        The last batch is padded to the full size: one traced step serves every batch, which
        halves a fresh shape's tracing.
        """
        batch_size = min(self.config.batch_size, self.train_size)
        batches = -(-self.train_size // batch_size)
        padding = batches * batch_size - self.train_size
        counts = np.full(batches, batch_size, dtype=np.float32)
        weights = np.ones((batches, batch_size, 1), dtype=np.float32)
        if padding:
            counts[-1] = batch_size - padding
            weights[-1, -padding:] = 0.0
            weights[-1] *= batch_size / counts[-1]
        return batches, padding, weights, counts

    def _epoch(self, order: Any) -> tuple[Any, Any, Any, Any]:
        """Every batch in one loop, the last one padded: every shape is static for XLA."""
        import tensorflow as tf

        batches, padding, weights, counts = self._batch_layout()
        if padding:
            order = tf.concat([order, tf.zeros(padding, dtype=order.dtype)], axis=0)
        rows = tf.reshape(order, (batches, -1))
        weights, counts = tf.constant(weights), tf.constant(counts)
        loss_sum = tf.constant(0.0)
        hits = tf.constant(0.0)
        for index in tf.range(batches):
            batch_loss, batch_hits = self._step(rows[index], weights[index], counts[index])
            loss_sum += batch_loss
            hits += batch_hits
        p_val = self.model(self.x_val, training=False)
        val_loss = self.loss_fn(self.y_val, p_val)
        val_hits = tf.reduce_mean(tf.cast(tf.equal(p_val >= 0.5, self.y_val >= 0.5), tf.float32))
        size = float(self.train_size)
        return loss_sum / size, hits / size, val_loss, val_hits

    def _epochs(self, orders: Any, count: Any) -> Any:
        """The first `count` rows of `orders` as epochs, in one graph: a row of metrics each."""
        import tensorflow as tf

        metrics = tf.zeros((self.epochs_per_call, 4))
        # A `while` on a tensor, not `for ... in tf.range(count)`: that loop's iteration bound
        # would be a compile-time constant for XLA, and each new `count` a new compilation.
        index = tf.constant(0)
        while index < count:
            row = tf.stack(self._epoch(orders[index]))
            metrics = tf.tensor_scatter_nd_update(metrics, tf.reshape(index, (1, 1)), [row])
            index += 1
        return metrics

    @property
    def compiled(self) -> bool:
        return self._compiled_epochs is not None

    def compile_fast_path(self) -> None:
        """XLA-compile the epoch, for later runs of this shape (about 3x faster per step).

        Takes seconds, so a worker does it while idle, between runs: compiling runs one
        epoch, which changes the weights and optimizer state that `start` resets anyway.
        """
        if self._compiled_epochs is not None:
            return
        import tensorflow as tf

        compiled = tf.function(self._epochs, jit_compile=True)
        compiled(self._orders(1, 1), tf.constant(1))
        self._compiled_epochs = compiled

    def _state_variables(self) -> list[Any]:
        return state_variables(self.optimizer)

    def _state_shapes(self) -> list[tuple[int, ...]]:
        """Each state variable's shape in the run's own network: a moment has its weight's shape.

        Keras names a weight's moment after the weight's path (`zero_or_one_hidden_1_kernel_momentum`).
        """
        own = {
            weight.path.replace("/", "_") + "_": shape
            for weight, shape in zip(
                self.model.trainable_variables, weight_shapes(self.config), strict=True
            )
        }
        return [
            next(
                (shape for prefix, shape in own.items() if variable.name.startswith(prefix)),
                tuple(variable.shape),
            )
            for variable in self._state_variables()
        ]

    def start(
        self,
        initial: NetworkWeights | None,
        optimizer_state: list[np.ndarray] | None = None,
    ) -> None:
        """Begin a run from `initial` (Continue) or from the seed's fresh weights.

        The optimizer restarts from zero unless `optimizer_state` (from the run being
        continued) fits this optimizer, so a continued Adam run goes on as if never paused.
        """
        weights = initial if initial is not None else glorot_weights(self.config)
        own = zip(weights.as_list(), self.model.trainable_variables, strict=True)
        self.model.set_weights([fitted(array, tuple(v.shape)) for array, v in own])
        variables = self._state_variables()
        fits = (
            optimizer_state is not None
            and [np.shape(a) for a in optimizer_state] == self._state_shapes()
        )
        for index, variable in enumerate(variables):
            value = optimizer_state[index] if fits else np.zeros(variable.shape)
            variable.assign(np.asarray(fitted(value, tuple(variable.shape)), dtype=variable.dtype))
        self.optimizer.learning_rate = self.config.learning_rate

    def _orders(self, first_epoch: int, count: int) -> np.ndarray:
        orders = np.zeros((self.epochs_per_call, self.train_size), dtype=np.int32)
        for row, epoch in enumerate(range(first_epoch, first_epoch + count)):
            if self.config.shuffle:
                orders[row] = shuffled_order(self.train_size, self.config.seed, epoch)
            else:
                orders[row] = np.arange(self.train_size, dtype=np.int32)
        return orders

    def run_epochs(self, first_epoch: int, count: int, xla: bool | None = None) -> list[EpochLog]:
        """Up to `epochs_per_call` epochs in one graph call, through the XLA graph if compiled
        (or as `xla` asks, when it can).

        A run paused and resumed keeps the path it started on: the two agree only to
        about 1e-6, and a resumed run must end with the weights of a run never paused.
        """
        import tensorflow as tf

        count = max(1, min(count, self.epochs_per_call))
        use_xla = self.compiled if xla is None else xla and self.compiled
        epochs_fn = self._compiled_epochs if use_xla else self._graph_epochs
        metrics = epochs_fn(self._orders(first_epoch, count), tf.constant(count)).numpy()
        return [
            EpochLog(first_epoch + row, *(float(value) for value in metrics[row]))
            for row in range(count)
        ]

    def run_epoch(self, epoch: int, xla: bool | None = None) -> EpochLog:
        return self.run_epochs(epoch, 1, xla)[0]

    def weights(self) -> NetworkWeights:
        """The run's own network's weights (the padding cut off)."""
        arrays = self.model.get_weights()
        shapes = weight_shapes(self.config)
        return NetworkWeights.from_list(
            [fitted(array, shape) for array, shape in zip(arrays, shapes, strict=True)],
            self.config.activation,
        )

    def optimizer_state(self) -> list[np.ndarray]:
        return [
            fitted(variable.numpy(), shape)
            for variable, shape in zip(self._state_variables(), self._state_shapes(), strict=True)
        ]

    def keras_file_bytes(self, weights: NetworkWeights) -> bytes:
        """These weights, with the optimizer's state, in the lesson's compiled model of the run's
        own widths: a `.keras` file for the learner to download (and to train on in Keras)."""
        from model.keras_export import keras_file_bytes

        return keras_file_bytes(self.config, weights, self.optimizer_state())


def state_variables(optimizer: Any) -> list[Any]:
    """An optimizer's step count and moments: everything it carries but the learning rate."""
    return [variable for variable in optimizer.variables if variable.name != "learning_rate"]
