"""``HyperResNet``: ResNet v1, ResNet v2 and ResNeXt as one search space (Keras Tuner's).

The networks are the 50-layer-family bottleneck ResNets: a 7x7 stride-2 stem, a 3x3 stride-2
max pool, four stacks of bottleneck blocks (64, 128, 256, 512 bottleneck filters; ResNeXt's
grouped variant 64, 256, 512, 1024 with 32 groups) that downsample the image 32 times in
all, global pooling and, with ``include_top``, a softmax classifier. Weights start random
(no pre-trained weights are loaded).

Hyperparameters (Keras Tuner's names, values and defaults):

============== ========================== ========
name           values                     default
============== ========================== ========
version        "v1", "v2", "next"         "v2"
conv3_depth    4, 8                       4
conv4_depth    6, 23, 36                  6
pooling        "avg", "max"               "avg"
optimizer      "adam", "rmsprop", "sgd"   "adam"     (only with ``include_top``)
learning_rate  0.1, 0.01, 0.001           0.01       (only with ``include_top``)
============== ========================== ========

``conv3_depth`` and ``conv4_depth`` are the number of blocks in the second and third stacks
(4 and 6 make ResNet-50, 4 and 23 ResNet-101, 8 and 36 ResNet-152); the first and last
stacks have 3 blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import layers

from ._inputs import ImageClassifier, channel_axis, image_input

_BN_EPSILON = 1.001e-5
_GROUPS = 32  # ResNeXt's cardinality

Block = Callable[..., Any]


def _bn(name: str) -> layers.Layer:
    return layers.BatchNormalization(axis=channel_axis(), epsilon=_BN_EPSILON, name=name)


class HyperResNet(ImageClassifier):
    """A ResNet search space: ``build(hp)`` returns a ResNet named ``"ResNet"``.

    Args:
        include_top: add the softmax classifier (``classes`` outputs) and compile the model
            (categorical cross-entropy, accuracy); without it the model ends at the pooled
            features and is not compiled.
        input_shape: the image shape, e.g. ``(224, 224, 3)``. One of ``input_shape`` and
            ``input_tensor`` is required.
        input_tensor: a Keras tensor to build on; the model's inputs are its source inputs.
        classes: the number of classes; required with ``include_top``.
        **kwargs: ``name`` and ``tunable``, as for :class:`tunewise.HyperModel`.
    """

    def build(self, hp: Any) -> keras.Model:
        version = hp.Choice("version", ["v1", "v2", "next"], default="v2")
        conv3_depth = hp.Choice("conv3_depth", [4, 8])
        conv4_depth = hp.Choice("conv4_depth", [6, 23, 36])
        if version not in _STACKS:
            raise ValueError(
                f"version={version!r} is not a ResNet version: use 'v1', 'v2' or 'next'."
            )

        inputs, x = image_input(self.input_shape, self.input_tensor)
        preactivation = version == "v2"
        x = _stem(x, use_bias=version != "next", normalize=not preactivation)
        for name, filters, depth, stride in _STACKS[version](conv3_depth, conv4_depth):
            x = _stack(version, x, filters, depth, stride, name)
        if preactivation:  # v2's blocks end without activation: finish the last one
            x = _bn("post_bn")(x)
            x = layers.Activation("relu", name="post_relu")(x)

        pooling = hp.Choice("pooling", ["avg", "max"], default="avg")
        if pooling == "max":
            x = layers.GlobalMaxPooling2D(name="max_pool")(x)
        else:
            x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if not self.include_top:
            return keras.Model(inputs, x, name="ResNet")

        outputs = layers.Dense(self.classes, activation="softmax", name="probs")(x)
        model = keras.Model(inputs, outputs, name="ResNet")
        optimizer = keras.optimizers.get(
            hp.Choice("optimizer", ["adam", "rmsprop", "sgd"], default="adam")
        )
        optimizer.learning_rate = hp.Choice("learning_rate", [0.1, 0.01, 0.001], default=0.01)
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
        return model


def _stem(x: Any, use_bias: bool, normalize: bool) -> Any:
    """7x7/2 convolution (with batch norm and ReLU unless the blocks pre-activate), 3x3/2 pool."""
    x = layers.ZeroPadding2D(padding=3, name="conv1_pad")(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if normalize:
        x = _bn("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=1, name="pool1_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)


# Per version: (stack name, bottleneck filters, blocks, stride) for the four stacks. v1 and
# ResNeXt stride in a stack's first block, v2 in its last (see ``_stack``).
_STACKS: dict[str, Callable[[int, int], list[tuple[str, int, int, int]]]] = {
    "v1": lambda d3, d4: [
        ("conv2", 64, 3, 1), ("conv3", 128, d3, 2), ("conv4", 256, d4, 2), ("conv5", 512, 3, 2)
    ],
    "v2": lambda d3, d4: [
        ("conv2", 64, 3, 2), ("conv3", 128, d3, 2), ("conv4", 256, d4, 2), ("conv5", 512, 3, 1)
    ],
    "next": lambda d3, d4: [
        ("conv2", 64, 3, 2), ("conv3", 256, d3, 2), ("conv4", 512, d4, 2), ("conv5", 1024, 3, 1)
    ],
}


def _stack(version: str, x: Any, filters: int, blocks: int, stride: int, name: str) -> Any:
    """``blocks`` bottleneck blocks; the first projects the shortcut; one of them strides."""
    for i in range(1, blocks + 1):
        block_name = f"{name}_block{i}"
        if version == "v2":  # projection first, stride in the last block
            x = _block_v2(x, filters, stride if i == blocks else 1, i == 1, block_name)
        elif version == "v1":
            x = _block_v1(x, filters, stride if i == 1 else 1, i == 1, block_name)
        else:
            x = _block_next(x, filters, stride if i == 1 else 1, i == 1, block_name)
    return x


def _block_v1(x: Any, filters: int, stride: int, project: bool, name: str) -> Any:
    """Post-activation bottleneck: 1x1 (strided), 3x3, 1x1 to 4x filters, add, ReLU."""
    if project:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _bn(f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _block_v2(x: Any, filters: int, stride: int, project: bool, name: str) -> Any:
    """Pre-activation bottleneck: BN-ReLU, 1x1, 3x3 (strided), 1x1 to 4x filters, add."""
    preact = _bn(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if project:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    elif stride > 1:  # subsample the identity to the strided branch's size
        shortcut = layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)
    else:
        shortcut = x
    y = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(preact)
    y = _bn(f"{name}_1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.ZeroPadding2D(padding=1, name=f"{name}_2_pad")(y)
    y = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(y)
    y = _bn(f"{name}_2_bn")(y)
    y = layers.Activation("relu", name=f"{name}_2_relu")(y)
    y = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(y)
    return layers.Add(name=f"{name}_out")([shortcut, y])


def _block_next(x: Any, filters: int, stride: int, project: bool, name: str) -> Any:
    """ResNeXt bottleneck: 1x1, 3x3 grouped conv (32 groups, strided), 1x1 to 2x filters."""
    out_filters = (64 // _GROUPS) * filters
    if project:
        shortcut = layers.Conv2D(
            out_filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv"
        )(x)
        shortcut = _bn(f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(x)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=1, name=f"{name}_2_pad")(x)
    x = layers.Conv2D(
        filters, 3, strides=stride, groups=_GROUPS, use_bias=False, name=f"{name}_2_conv"
    )(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(out_filters, 1, use_bias=False, name=f"{name}_3_conv")(x)
    x = _bn(f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)
