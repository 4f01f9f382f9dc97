"""Keras Tuner's pre-made search spaces (``keras_tuner.applications``), on Keras 3.

``HyperResNet``, ``HyperXception``, ``HyperEfficientNet`` and ``HyperImageAugment`` take
Keras Tuner 1.4's arguments and define its hyperparameters (names, values, defaults); the
models they build start from random weights (nothing is downloaded). Importing this package
imports Keras; ``import tunewise`` does not (``tunewise.applications`` loads on first use).
"""

from .augment import HyperImageAugment
from .efficientnet import HyperEfficientNet
from .resnet import HyperResNet
from .xception import HyperXception

__all__ = ["HyperEfficientNet", "HyperImageAugment", "HyperResNet", "HyperXception"]
