"""Samplers decide which configuration a trial tries; each is a small class behind ``suggest``."""

from ._auto import AutoSampler
from ._base import Sampler, tried_keys
from ._gp import GPSampler
from ._grid import GridSampler
from ._parego import ParEGOSampler
from ._random import RandomSampler
from ._tpe import TPESampler

__all__ = ["AutoSampler", "GPSampler", "GridSampler", "ParEGOSampler", "RandomSampler", "Sampler",
           "TPESampler", "tried_keys"]
