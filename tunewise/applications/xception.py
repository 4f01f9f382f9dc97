"""``HyperXception``: an Xception-style network of separable-convolution residual blocks
(Keras Tuner's search space).

The network: a strided entry convolution, ``num_residual_blocks`` residual blocks of two
separable 3x3 convolutions with ``sep_num_filters`` filters each (a 1x1 projection on the
shortcut where the width changes), an exit block with twice the filters that halves the
image (max pool, strided 1x1 shortcut), pooling and, with ``include_top``,
``num_dense_layers`` dense layers of ``classes`` units (as Keras Tuner sizes them) before the
softmax. With ``activation="relu"`` convolutions have no bias and are followed by batch norm
and ReLU; with ``"selu"`` they carry the SELU activation with LeCun-normal initialisation.
Weights start random.

Hyperparameters (Keras Tuner's names, values and defaults):

=================== ============================= =======
name                values                        default
=================== ============================= =======
activation          "relu", "selu"                "relu"
conv2d_num_filters  32, 64, 128                   64
kernel_size         3, 5                          3
initial_strides     2                             2
sep_num_filters     Int 128..768, step 128        256
num_residual_blocks Int 2..8                      4
pooling             "avg", "flatten", "max"       "avg"
num_dense_layers    Int 1..3                      1       (only with ``include_top``)
dropout_rate        Float 0.0..0.6, step 0.1      0.5     (only with ``include_top``)
dense_use_bn        True, False                   True    (only with ``include_top``)
learning_rate       0.001, 0.0001, 0.00001        0.001   (only with ``include_top``)
=================== ============================= =======
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from ._inputs import ImageClassifier, channel_axis, image_input

_ACTIVATIONS = ("relu", "selu")


class HyperXception(ImageClassifier):
    """An Xception search space: ``build(hp)`` returns a model named ``"Xception"``.

    Args:
        include_top: add the dense layers and the softmax classifier (``classes`` outputs)
            and compile the model (Adam, categorical cross-entropy, accuracy); without it
            the model ends at the pooled features and is not compiled.
        input_shape: the image shape, e.g. ``(128, 128, 3)``. One of ``input_shape`` and
            ``input_tensor`` is required.
        input_tensor: a Keras tensor to build on; the model's inputs are its source inputs.
        classes: the number of classes; required with ``include_top``.
        **kwargs: ``name`` and ``tunable``, as for :class:`tunewise.HyperModel`.
    """

    def build(self, hp: Any) -> keras.Model:
        activation = hp.Choice("activation", list(_ACTIVATIONS))
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation={activation!r} is not an Xception activation: use 'relu' or "
                "'selu'."
            )
        inputs, x = image_input(self.input_shape, self.input_tensor)

        x = _entry_conv(
            x,
            hp.Choice("conv2d_num_filters", [32, 64, 128], default=64),
            kernel_size=hp.Choice("kernel_size", [3, 5]),
            strides=hp.Choice("initial_strides", [2]),
            activation=activation,
        )
        sep_filters = hp.Int("sep_num_filters", 128, 768, step=128, default=256)
        for _ in range(hp.Int("num_residual_blocks", 2, 8, default=4)):
            x = _residual_block(x, sep_filters, activation, downsample=False)
        x = _residual_block(x, 2 * sep_filters, activation, downsample=True)  # exit flow

        pooling = hp.Choice("pooling", ["avg", "flatten", "max"])
        if pooling == "flatten":
            x = layers.Flatten()(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D()(x)
        else:
            x = layers.GlobalAveragePooling2D()(x)
        if not self.include_top:
            return keras.Model(inputs, x, name="Xception")

        num_dense = hp.Int("num_dense_layers", 1, 3)
        dropout_rate = hp.Float("dropout_rate", 0.0, 0.6, step=0.1, default=0.5)
        use_bn = hp.Choice("dense_use_bn", [True, False])
        for _ in range(num_dense):
            x = _dense(x, self.classes, activation, use_bn, dropout_rate)
        outputs = layers.Dense(self.classes, activation="softmax")(x)
        model = keras.Model(inputs, outputs, name="Xception")
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 1e-4, 1e-5])),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model


def _activated(x: Any, layer_cls: type, filters: int, kernel_size: Any, activation: str,
               **kwargs: Any) -> Any:
    """A convolution with SELU built in, or without bias and followed by batch norm + ReLU."""
    if activation == "selu":
        init = {"kernel_initializer": "lecun_normal"}
        if layer_cls is layers.SeparableConv2D:
            init = {"depthwise_initializer": "lecun_normal",
                    "pointwise_initializer": "lecun_normal"}
        return layer_cls(filters, kernel_size, padding="same", activation="selu", **init,
                         **kwargs)(x)
    x = layer_cls(filters, kernel_size, padding="same", use_bias=False, **kwargs)(x)
    x = layers.BatchNormalization(axis=channel_axis())(x)
    return layers.Activation("relu")(x)


def _entry_conv(x: Any, filters: int, kernel_size: int, strides: int, activation: str) -> Any:
    return _activated(x, layers.Conv2D, filters, kernel_size, activation, strides=strides)


def _residual_block(x: Any, filters: int, activation: str, downsample: bool) -> Any:
    """Two separable 3x3 convolutions plus the shortcut; ``downsample`` halves the image."""
    if downsample:
        shortcut = layers.Conv2D(filters, 1, strides=2, padding="same")(x)
    elif x.shape[channel_axis()] != filters:
        shortcut = layers.Conv2D(filters, 1, padding="same")(x)
    else:
        shortcut = x
    y = _activated(x, layers.SeparableConv2D, filters, 3, activation)
    y = _activated(y, layers.SeparableConv2D, filters, 3, activation)
    if downsample:
        y = layers.MaxPooling2D(3, strides=2, padding="same")(y)
    return layers.add([y, shortcut])


def _dense(x: Any, units: int, activation: str, use_bn: bool, dropout_rate: float) -> Any:
    """A hidden dense layer: SELU (LeCun-normal), or ReLU with optional batch norm; dropout."""
    if activation == "selu":
        x = layers.Dense(units, activation="selu", kernel_initializer="lecun_normal")(x)
    else:
        x = layers.Dense(units, activation="relu")(x)
        if use_bn:
            x = layers.BatchNormalization()(x)
    if dropout_rate:
        x = layers.Dropout(dropout_rate)(x)
    return x
