"""The training engine: a whole epoch of Keras training steps compiled into one TensorFlow graph."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.config import TrainConfig
from model.data import Splits
from model.forward import NetworkWeights
from model.network import build_model, make_loss, make_optimizer
from model.training import EpochLog, shuffled_order


class Engine:
    """Trains one network shape; `model.fit`'s per-step Python overhead is paid once per epoch."""

    def __init__(self, config: TrainConfig, splits: Splits) -> None:
        import tensorflow as tf

        self.config = config
        self.model = build_model(config)
        self.loss_fn = make_loss(config)
        self.optimizer = make_optimizer(config)
        self.optimizer.build(self.model.trainable_variables)
        self.x_train = tf.constant(splits.train.x)
        self.y_train = tf.constant(splits.train.y.reshape(-1, 1))
        self.x_val = tf.constant(splits.validation.x)
        self.y_val = tf.constant(splits.validation.y.reshape(-1, 1))
        self.train_size = len(splits.train)
        self._epoch_fn = tf.function(self._epoch, reduce_retracing=True)

    @classmethod
    def for_config(cls, config: TrainConfig, splits: Splits) -> Engine:
        return cls(config, splits)

    def _epoch(self, order: Any) -> tuple[Any, Any, Any, Any]:
        import tensorflow as tf

        batch_size = self.config.batch_size
        batches = (self.train_size + batch_size - 1) // batch_size
        variables = self.model.trainable_variables
        loss_sum = tf.constant(0.0)
        correct = tf.constant(0.0)
        for index in tf.range(batches):
            rows = order[index * batch_size : (index + 1) * batch_size]
            x = tf.gather(self.x_train, rows)
            y = tf.gather(self.y_train, rows)
            with tf.GradientTape() as tape:
                p = self.model(x, training=True)
                loss = self.loss_fn(y, p)
            self.optimizer.apply(tape.gradient(loss, variables), variables)
            count = tf.cast(tf.shape(rows)[0], tf.float32)
            loss_sum += loss * count
            correct += tf.reduce_sum(tf.cast(tf.equal(p >= 0.5, y >= 0.5), tf.float32))
        p_val = self.model(self.x_val, training=False)
        val_loss = self.loss_fn(self.y_val, p_val)
        val_correct = tf.reduce_mean(tf.cast(tf.equal(p_val >= 0.5, self.y_val >= 0.5), tf.float32))
        size = float(self.train_size)
        return loss_sum / size, correct / size, val_loss, val_correct

    def start(self, initial: NetworkWeights | None) -> None:
        if initial is not None:
            self.model.set_weights(initial.as_list())

    def run_epoch(self, epoch: int) -> EpochLog:
        if self.config.shuffle:
            order = shuffled_order(self.train_size, self.config.seed, epoch)
        else:
            order = np.arange(self.train_size, dtype=np.int32)
        loss, accuracy, val_loss, val_accuracy = self._epoch_fn(order)
        return EpochLog(epoch, float(loss), float(accuracy), float(val_loss), float(val_accuracy))

    def weights(self) -> NetworkWeights:
        return NetworkWeights.from_list(self.model.get_weights(), self.config.activation)
