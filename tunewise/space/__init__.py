"""Search spaces: hyperparameter types, conditions, and the unit-cube encoding samplers use.

The classes are Keras Tuner's (``tunewise.engine.hyperparameters`` and
``tunewise.engine.conditions`` are their Keras Tuner module paths).
"""

from ._conditions import Condition, Parent
from ._configs import (
    config_key,
    count_configurations,
    decode,
    encode,
    float_points,
    grid_values_of,
    is_active,
    iter_configurations,
)
from ._container import HyperParameters
from ._hyperparameters import (
    Boolean,
    Choice,
    Fixed,
    Float,
    HyperParameter,
    Int,
    Numerical,
    hyperparameter_from_config,
    hyperparameter_to_config,
    plain_value,
)
from ._serialize import deserialize, serialize

__all__ = [
    "Boolean",
    "Choice",
    "Condition",
    "Fixed",
    "Float",
    "HyperParameter",
    "HyperParameters",
    "Int",
    "Numerical",
    "Parent",
    "config_key",
    "count_configurations",
    "decode",
    "deserialize",
    "encode",
    "float_points",
    "grid_values_of",
    "hyperparameter_from_config",
    "hyperparameter_to_config",
    "is_active",
    "iter_configurations",
    "plain_value",
    "serialize",
]
