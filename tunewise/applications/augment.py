"""``HyperImageAugment``: a search space of image augmentations (Keras Tuner's).

Four transforms, each with a strength *factor* searched in a range:

============ ================================================= ============= =========
transform    what the factor means                             default range layer
============ ================================================= ============= =========
rotate       largest rotation, as a fraction of a full turn    0..0.5        RandomRotation
translate_x  largest horizontal shift, as a fraction of width  0..0.4        RandomTranslation
translate_y  largest vertical shift, as a fraction of height   0..0.4        RandomTranslation
contrast     largest contrast change (1 +- factor)             0..0.3        RandomContrast
============ ================================================= ============= =========

Each transform argument is a number ``x`` (range ``[0, x]``), a pair ``[lo, hi]``, or
None/0/False (the transform is off); factors lie in [0, 1].

Two modes, set by ``augment_layers``:

* ``augment_layers=0`` (or None): every transform is applied in turn, each at its tuned
  factor ``factor_<transform>`` (a Float with step 0.05, default the range's low end); a
  transform whose factor is 0 is left out. The model is named ``"image_augment"``.
* an int ``n`` (range ``[0, n]``) or a pair ``[lo, hi]``: a simple RandAugment
  (https://arxiv.org/abs/1909.13719). ``augment_layers`` (an Int, default the low end) is
  the number of :class:`RandAugment` layers stacked; each applies to every image one
  transform picked at random, at the tuned factor ``factor_<transform>`` (a Float, default
  the low end). The model is named ``"image_rand_augment"``.

Augmentations act only in training; at inference the model returns its input unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import keras
from keras import layers

from ..integrations.keras._hypermodel import HyperModel
from ._inputs import check_image_input, image_input

TRANSFORM_NAMES = ("rotate", "translate_x", "translate_y", "contrast")


def transform_layer(name: str, factor: float) -> layers.Layer:
    """The Keras preprocessing layer of transform ``name`` at strength ``factor``."""
    if name == "rotate":
        return layers.RandomRotation(factor)
    if name == "translate_x":
        return layers.RandomTranslation(height_factor=0.0, width_factor=factor)
    if name == "translate_y":
        return layers.RandomTranslation(height_factor=factor, width_factor=0.0)
    if name == "contrast":
        return layers.RandomContrast(factor)
    raise ValueError(
        f"Unknown transform {name!r}: use one of {', '.join(map(repr, TRANSFORM_NAMES))}."
    )


@keras.saving.register_keras_serializable(package="tunewise")
class RandAugment(layers.Layer):
    """One RandAugment step: each image in a training batch gets one of ``transforms``,
    picked uniformly at random per image, at its factor in ``factors`` (a factor of 0 leaves
    the image unchanged). Outside training the layer is the identity.

    Args:
        transforms: transform names (see :data:`TRANSFORM_NAMES`).
        factors: one strength per transform, in [0, 1].
        seed: optional int seed of the per-image choice.
    """

    def __init__(self, transforms: Sequence[str], factors: Sequence[float],
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if len(transforms) != len(factors) or not transforms:
            raise ValueError(
                f"RandAugment needs one factor per transform and at least one transform; got "
                f"transforms={list(transforms)!r}, factors={list(factors)!r}."
            )
        self.transforms = list(transforms)
        self.factors = [float(f) for f in factors]
        self.seed = seed
        self._transform_layers = [
            transform_layer(name, f) if f else None
            for name, f in zip(self.transforms, self.factors)
        ]
        self._seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not training:
            return inputs
        batch = keras.ops.shape(inputs)[0]
        picked = keras.ops.cast(
            keras.random.uniform(
                (batch, 1, 1, 1), maxval=len(self.transforms), seed=self._seed_generator
            ),
            "int32",
        )
        x = inputs
        for i, layer in enumerate(self._transform_layers):
            if layer is None:
                continue
            transformed = keras.ops.cast(layer(inputs, training=True), inputs.dtype)
            x = keras.ops.where(keras.ops.equal(picked, i), transformed, x)
        return x

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(transforms=self.transforms, factors=self.factors, seed=self.seed)
        return config


class HyperImageAugment(HyperModel):
    """An image-augmentation search space; ``build(hp)`` returns a model mapping images to
    images of the same shape.

    Args:
        input_shape: the image shape, e.g. ``(32, 32, 3)`` (dimensions may be None). One of
            ``input_shape`` and ``input_tensor`` is required.
        input_tensor: a Keras tensor to build on; the model's inputs are its source inputs.
        rotate, translate_x, translate_y, contrast: each transform's factor range: a number
            ``x`` for ``[0, x]``, a pair ``[lo, hi]``, or None to leave the transform out.
        augment_layers: 0/None for every transform in turn; an int ``n`` to search
            ``[0, n]`` RandAugment layers, or a pair ``[lo, hi]`` of ints.
        **kwargs: ``name`` and ``tunable``, as for :class:`tunewise.HyperModel`.

    Attributes:
        transforms: ``[(name, (lo, hi)), ...]``, the transforms switched on, in the order
            rotate, translate_x, translate_y, contrast.
        model_name: ``"image_augment"`` or ``"image_rand_augment"``.
    """

    def __init__(
        self,
        input_shape: Sequence[int | None] | None = None,
        input_tensor: Any = None,
        rotate: Any = 0.5,
        translate_x: Any = 0.4,
        translate_y: Any = 0.4,
        contrast: Any = 0.3,
        augment_layers: Any = 3,
        **kwargs: Any,
    ) -> None:
        check_image_input(input_shape, input_tensor)
        self.input_shape = input_shape
        self.input_tensor = input_tensor
        self.transforms: list[tuple[str, tuple[float, float]]] = []
        for name, spec in zip(TRANSFORM_NAMES, (rotate, translate_x, translate_y, contrast)):
            factor_range = _factor_range(name, spec)
            if factor_range is not None:
                self.transforms.append((name, factor_range))
        layers_range = _layers_range(augment_layers)
        if layers_range is None:
            self.model_name = "image_augment"
        else:
            self.model_name = "image_rand_augment"
            self.augment_layers_min, self.augment_layers_max = layers_range
        super().__init__(**kwargs)

    def build(self, hp: Any) -> keras.Model:
        inputs, x = image_input(self.input_shape, self.input_tensor)
        if self.model_name == "image_rand_augment":
            x = self._rand_augment(x, hp)
        else:
            x = self._each_transform(x, hp)
        return keras.Model(inputs, x, name=self.model_name)

    def _rand_augment(self, x: Any, hp: Any) -> Any:
        count = hp.Int(
            "augment_layers",
            self.augment_layers_min,
            self.augment_layers_max,
            default=self.augment_layers_min,
        )
        for _ in range(count):
            factors = [
                hp.Float(f"factor_{name}", lo, hi, default=lo) for name, (lo, hi) in self.transforms
            ]
            if self.transforms:
                x = RandAugment([name for name, _ in self.transforms], factors)(x)
        return x

    def _each_transform(self, x: Any, hp: Any) -> Any:
        for name, (lo, hi) in self.transforms:
            factor = hp.Float(f"factor_{name}", lo, hi, step=0.05, default=lo)
            if factor:
                x = transform_layer(name, factor)(x)
        return x


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _factor_range(name: str, spec: Any) -> tuple[float, float] | None:
    """``(lo, hi)`` from a transform argument; None when the transform is off."""
    if spec is None or spec is False or (_is_number(spec) and spec == 0):
        return None
    if isinstance(spec, (list, tuple)):
        if len(spec) > 2:
            raise ValueError(
                f"Length of keyword argument {name} must not exceed 2: got {spec!r}; pass "
                f"a number x for the range [0, x] or a pair [low, high]."
            )
        if len(spec) < 2:
            raise ValueError(
                f"Keyword argument {name}={spec!r} needs two numbers: pass a number x for "
                f"the range [0, x] or a pair [low, high]."
            )
        lo, hi = spec
    else:
        lo, hi = 0, spec
    if not (_is_number(lo) and _is_number(hi)):
        raise ValueError(
            f"Keyword argument {name} must be int or float, or a pair of them, but received "
            f"{spec!r}."
        )
    if not 0 <= lo <= hi <= 1:
        raise ValueError(
            f"Keyword argument {name}={spec!r} is not a factor range within [0, 1] with "
            f"low <= high: pass e.g. {name}=0.3 or {name}=[0.1, 0.3]."
        )
    return (lo, hi)


def _layers_range(spec: Any) -> tuple[int, int] | None:
    """``(lo, hi)`` RandAugment layers from ``augment_layers``; None for 0/None (each in turn)."""
    if spec is None or spec is False or (_is_number(spec) and spec == 0):
        return None
    lo, hi = (spec[0], spec[1]) if isinstance(spec, (list, tuple)) and len(spec) == 2 else (0, spec)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi)):
        raise ValueError(
            f"Keyword argument `augment_layers` must be int, or a pair of ints, but received "
            f"{spec!r}."
        )
    if not 0 <= lo <= hi:
        raise ValueError(
            f"augment_layers={spec!r} is not a range of layer counts: pass n >= 1 for "
            f"[0, n] or a pair [low, high] with 0 <= low <= high."
        )
    return (lo, hi)
