"""Search spaces: hyperparameter types, conditions, and the unit-cube encoding samplers use."""

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
    Condition,
    Fixed,
    Float,
    HyperParameter,
    Int,
    hyperparameter_from_config,
    hyperparameter_to_config,
    plain_value,
)

__all__ = [
    "Boolean",
    "Choice",
    "Condition",
    "Fixed",
    "Float",
    "HyperParameter",
    "HyperParameters",
    "Int",
    "config_key",
    "count_configurations",
    "decode",
    "encode",
    "float_points",
    "grid_values_of",
    "hyperparameter_from_config",
    "hyperparameter_to_config",
    "is_active",
    "iter_configurations",
    "plain_value",
]
