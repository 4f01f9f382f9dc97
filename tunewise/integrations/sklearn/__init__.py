"""scikit-learn integration: ``TunewiseSearchCV`` (GridSearchCV's interface) and ``SklearnTuner``
(Keras Tuner's), both cross-validating each configuration fold by fold over a tunewise Study.

Needs scikit-learn: ``pip install 'tunewise[sklearn]'``.
"""

from ...trial_attrs import CV_FOLDS as CV_FOLDS_ATTR  # the trial attr naming the fold count
from ._search_cv import TunewiseSearchCV
from ._tuner import SklearnTuner

__all__ = ["CV_FOLDS_ATTR", "SklearnTuner", "TunewiseSearchCV"]
