"""Searches other tuners ran, read as tunewise's :class:`~tunewise.diagnostics.SearchHistory`.

Two sources, both read strictly read-only (no file is created, changed or locked for writing,
no table is created or altered):

* a **Keras Tuner project directory** (keras-tuner 1.x: ``oracle.json``, ``tuner0.json``,
  ``trial_*/trial.json``), with the TensorBoard event files of its trials when there are
  some (:mod:`._keras_tuner`);
* an **Optuna storage** (``sqlite:///...``, ``postgresql://...``), its tables read directly
  (:mod:`._optuna`).

Each history's ``settings["foreign"]`` says where it came from (``kind``, ``source``) and, in
``not_run``, one line for each group of the doctor's checks the stored facts cannot feed, and
why (:func:`not_run`). :func:`import_search` copies such a search into tunewise storage, so
that a tunewise search resumes it.
"""

from __future__ import annotations

from ._detect import KERAS_TUNER, OPTUNA, detect, is_keras_tuner_project, read_foreign
from ._import import ImportResult, default_target, import_search
from ._keras_tuner import read_keras_tuner
from ._model import ForeignSourceError, foreign_info, not_run
from ._optuna import read_optuna

__all__ = [
    "KERAS_TUNER",
    "OPTUNA",
    "ForeignSourceError",
    "ImportResult",
    "default_target",
    "detect",
    "foreign_info",
    "import_search",
    "is_keras_tuner_project",
    "not_run",
    "read_foreign",
    "read_keras_tuner",
    "read_optuna",
]
