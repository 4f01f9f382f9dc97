"""scikit-learn searches over the tunewise engine: ``from tunewise.sklearn import TunewiseSearchCV``.

See :mod:`tunewise.integrations.sklearn`. Needs scikit-learn (``pip install 'tunewise[sklearn]'``).
"""

from .integrations.sklearn import SklearnTuner, TunewiseSearchCV

__all__ = ["SklearnTuner", "TunewiseSearchCV"]
