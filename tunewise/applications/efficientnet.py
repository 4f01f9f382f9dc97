"""``HyperEfficientNet``: Keras' EfficientNet B0-B7 as a search space (Keras Tuner's).

``build(hp)`` applies the optional augmentation model, resizes the images to the chosen
version's native size (bilinear), runs ``keras.applications.EfficientNetB<k>`` without its
top, then pooling, dropout and a softmax classifier, and compiles the model through
``_compile`` (override it to compile differently, as in Keras Tuner).

Weights: Keras Tuner loads the ImageNet weights (a download); here the backbone starts
random unless ``weights="imagenet"`` (or a weights file path) is passed.

Hyperparameters (Keras Tuner's names, values and defaults):

================ ========================== =======
name             values                     default
================ ========================== =======
version          "B0" ... "B7"              "B0"
pooling          "avg", "max"               "avg"
top_dropout_rate Float 0.2..0.8, step 0.2   0.2
learning_rate    0.1, 0.01, 0.001           0.01    (SGD with momentum 0.1, in ``_compile``)
================ ========================== =======

An augmentation ``HyperModel`` (e.g. :class:`HyperImageAugment`) adds its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers

from ..integrations.keras._hypermodel import HyperModel
from ._inputs import check_classes, check_image_input, image_input

#: The image size (pixels a side) each EfficientNet version was designed for.
IMAGE_SIZES: dict[str, int] = {
    "B0": 224, "B1": 240, "B2": 260, "B3": 300, "B4": 380, "B5": 456, "B6": 528, "B7": 600,
}


def _backbone(version: str) -> Any:
    """The ``keras.applications`` constructor of ``version`` ("B0".."B7")."""
    return getattr(keras.applications, f"EfficientNet{version}")


class HyperEfficientNet(HyperModel):
    """An EfficientNet search space: ``build(hp)`` returns a model named ``"EfficientNet"``.

    Args:
        input_shape: the image shape, e.g. ``(32, 32, 3)`` (any size: images are resized to
            the version's own). One of ``input_shape`` and ``input_tensor`` is required.
        input_tensor: a Keras tensor to build on; the model's inputs are its source inputs.
        classes: the number of classes (required).
        augmentation_model: None, a ``keras.Model`` applied to the images first, or a
            :class:`tunewise.HyperModel` whose ``build(hp)`` makes one (its hyperparameters
            join the search).
        weights: the backbone's initial weights: None (random; the default, nothing is
            downloaded), ``"imagenet"`` (Keras Tuner's behaviour; downloads them, and needs
            3 channels) or the path of a weights file.
        **kwargs: ``name`` and ``tunable``, as for :class:`tunewise.HyperModel`.
    """

    def __init__(
        self,
        input_shape: Sequence[int | None] | None = None,
        input_tensor: Any = None,
        classes: int | None = None,
        augmentation_model: HyperModel | keras.Model | None = None,
        weights: str | None = None,
        **kwargs: Any,
    ) -> None:
        if augmentation_model is not None and not isinstance(
            augmentation_model, (HyperModel, keras.Model)
        ):
            raise ValueError(
                f"augmentation_model={augmentation_model!r} is neither a HyperModel nor a "
                "Keras Model: pass a keras.Model (e.g. a Sequential of RandomFlip/"
                "RandomRotation layers), a HyperModel such as HyperImageAugment, or None."
            )
        check_classes(classes, required=True, why="for HyperEfficientNet")
        check_image_input(input_shape, input_tensor)
        self.input_shape = input_shape
        self.input_tensor = input_tensor
        self.classes = classes
        self.augmentation_model = augmentation_model
        self.weights = weights
        super().__init__(**kwargs)

    def build(self, hp: Any) -> keras.Model:
        inputs, x = image_input(self.input_shape, self.input_tensor)
        if self.augmentation_model is not None:
            x = self._augmentation(hp)(x)

        version = hp.Choice("version", list(IMAGE_SIZES), default="B0")
        if version not in IMAGE_SIZES:
            raise ValueError(
                f"version={version!r} is not an EfficientNet version: use one of "
                f"{', '.join(IMAGE_SIZES)}."
            )
        size = IMAGE_SIZES[version]
        x = layers.Resizing(size, size, interpolation="bilinear")(x)
        backbone = _backbone(version)(include_top=False, weights=self.weights, input_tensor=x)
        x = backbone.output

        pooling = hp.Choice("pooling", ["avg", "max"], default="avg")
        if pooling == "max":
            x = layers.GlobalMaxPooling2D(name="max_pool")(x)
        else:
            x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        rate = hp.Float("top_dropout_rate", min_value=0.2, max_value=0.8, step=0.2, default=0.2)
        x = layers.Dropout(rate, name="top_dropout")(x)
        outputs = layers.Dense(self.classes, activation="softmax", name="probs")(x)
        model = keras.Model(inputs, outputs, name="EfficientNet")
        self._compile(model, hp)
        return model

    def _augmentation(self, hp: Any) -> keras.Model:
        """The augmentation model for this build (a HyperModel's is built with ``hp``)."""
        if isinstance(self.augmentation_model, HyperModel):
            model = self.augmentation_model.build(hp)
            if not callable(model):
                raise TypeError(
                    f"augmentation_model.build(hp) returned {model!r}: it must return a "
                    "Keras model that maps images to images."
                )
            return model
        return self.augmentation_model

    def _compile(self, model: keras.Model, hp: Any) -> None:
        """Compile ``model``: SGD (momentum 0.1) at the tuned ``learning_rate``, categorical
        cross-entropy, accuracy. Override to compile differently."""
        learning_rate = hp.Choice("learning_rate", [0.1, 0.01, 0.001], default=0.01)
        model.compile(
            optimizer=keras.optimizers.SGD(momentum=0.1, learning_rate=learning_rate),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
