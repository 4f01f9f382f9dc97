"""What every pre-made application checks and builds first: its image input and its classes.

The applications take their images as Keras Tuner's do: either ``input_shape`` (a
``(height, width, channels)`` tuple, or ``(channels, height, width)`` under
``channels_first``; a dimension may be None) or ``input_tensor`` (a Keras tensor, e.g.
``keras.Input(...)`` or the output of layers on one), of which the built model's inputs are
the tensor's source inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from ..integrations.keras._hypermodel import HyperModel


def check_image_input(input_shape: Sequence[int | None] | None, input_tensor: Any) -> None:
    """Raise ValueError unless exactly what an image model needs was given.

    At least one of ``input_shape`` and ``input_tensor`` is required (``input_tensor`` wins
    when both are given, as in Keras Tuner); a shape has three dimensions, each a positive
    int or None; a tensor is a symbolic Keras tensor.
    """
    if input_shape is None and input_tensor is None:
        raise ValueError(
            "You must specify either `input_shape` or `input_tensor`: pass "
            "input_shape=(height, width, channels), e.g. (32, 32, 3), or "
            "input_tensor=keras.Input(shape=(32, 32, 3))."
        )
    if input_tensor is not None:
        if not keras.backend.is_keras_tensor(input_tensor):
            raise ValueError(
                f"input_tensor={input_tensor!r} is not a Keras tensor: pass the output of "
                "keras.Input(shape=...) (or of layers applied to one)."
            )
        return
    dims = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if dims is None or len(dims) != 3 or not all(_is_dim(d) for d in dims):
        raise ValueError(
            f"input_shape={input_shape!r} is not an image shape: pass three dimensions "
            "(height, width, channels), each a positive int or None, e.g. (32, 32, 3)."
        )


def _is_dim(d: Any) -> bool:
    return d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0)


def check_classes(classes: Any, required: bool, why: str) -> None:
    """Raise ValueError when ``classes`` is required (``why`` says when) and missing, or when
    it is given and is not a positive int."""
    if classes is None or (classes == 0 and not isinstance(classes, bool)):
        if required:
            raise ValueError(
                f"You must specify `classes` {why}: the number of classes the images are "
                "sorted into, e.g. classes=10."
            )
        return
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 1:
        raise ValueError(
            f"classes={classes!r} is not a number of classes: pass a positive int, "
            "e.g. classes=10."
        )


def image_input(input_shape: Sequence[int | None] | None, input_tensor: Any) -> tuple[Any, Any]:
    """``(model_inputs, x)``: what the built ``keras.Model`` takes, and the tensor to build on.

    With ``input_tensor``, the model's inputs are its source inputs (a list) and ``x`` is the
    tensor itself; otherwise a fresh ``keras.Input(shape=input_shape)`` is both.
    """
    if input_tensor is not None:
        return keras.utils.get_source_inputs(input_tensor), input_tensor
    inputs = keras.Input(shape=tuple(input_shape))
    return inputs, inputs


def channel_axis() -> int:
    """The channels axis of image tensors under Keras' image data format (3 or 1)."""
    return 3 if keras.config.image_data_format() == "channels_last" else 1


class ImageClassifier(HyperModel):
    """The arguments HyperResNet and HyperXception share (Keras Tuner's), checked once:
    ``include_top``, ``input_shape``/``input_tensor`` (one is required) and ``classes``
    (required with ``include_top``)."""

    def __init__(
        self,
        include_top: bool = True,
        input_shape: Sequence[int | None] | None = None,
        input_tensor: Any = None,
        classes: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_classes(classes, required=include_top, why="when `include_top=True`")
        check_image_input(input_shape, input_tensor)
        self.include_top = include_top
        self.input_shape = input_shape
        self.input_tensor = input_tensor
        self.classes = classes
