"""What every Keras-Tuner-style tuner over a :class:`~tunewise.Study` answers the same way.

A tuner class (the Keras ``Tuner``, ``SklearnTuner``) mixes this in and provides
``self.study`` (the Study), ``self._study_kwargs`` (how to reopen it), ``self.oracle`` (with
``get_best_trials``), ``self.directory``, ``self.project_name`` and ``self.max_trials``. Only
how a trial's model is stored and rebuilt differs between tuners, so that stays in each.
"""

from __future__ import annotations

import os
from typing import Any

from ..engine import ResultsSummary, Study
from ..schedulers import BudgetedHyperParameters, job_of
from ..space import HyperParameters
from ..space._configs import count_configurations


class StudyTunerMixin:
    """Results, reloading and paths of a tuner, all read from its Study."""

    study: Study
    _study_kwargs: dict[str, Any]
    oracle: Any
    directory: str
    project_name: str
    max_trials: int | None

    # ------------------------------------------------------------------ paths
    @property
    def project_dir(self) -> str:
        return os.path.join(self.directory, self.project_name)

    def get_trial_dir(self, trial_id: str | int) -> str:
        """``<project_dir>/<study>/trial_NN``: where a trial's model files live. Created when
        the trial runs in this process (as Keras Tuner does, so ``run_trial`` can write
        there); for any other trial only the path is returned."""
        path = os.path.join(self.project_dir, self.study.name, f"trial_{int(trial_id):02d}")
        if int(trial_id) in self.study.running:
            os.makedirs(path, exist_ok=True)
        return path

    # ------------------------------------------------------------------ space
    def search_space_summary(self, extended: bool = False) -> None:
        """Print every hyperparameter of the space (and the number of configurations when
        finite), as Keras Tuner does; ``extended`` is accepted for compatibility."""
        space = self.study.space
        size = count_configurations(space)
        print("Search space summary")
        print(f"Default search space size: {len(space)}")
        if size is not None:
            print(f"Distinct configurations: {size}")
        for hp in space:
            print(f"{hp.name} ({hp.class_name})")
            print(hp.get_config())

    # ------------------------------------------------------------------ results
    def results_summary(self, num_trials: int = 10) -> ResultsSummary:
        """Print the best trials and return the summary (``.best_objective`` and more)."""
        return self.study.results_summary(num_trials)

    def pareto_front(self, objectives: Any = None) -> list[Any]:
        """The Pareto front of the stored trials (snapshots, in number order) under the
        objective's components: with Keras Tuner's list objective (summed, and ranked by the
        sum in ``get_best_*`` and ``results_summary()``, unchanged), the completed trials
        whose values at their scored epoch no other trial's dominate. ``objectives``: names
        of the components or Objectives (see :meth:`tunewise.Study.pareto_front`)."""
        return self.study.pareto_front(objectives)

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """Hyperparameters of the best completed trials, best first (never failed ones).

        A trial a scheduler ran (Hyperband) also shows its ``tuner/epochs``,
        ``tuner/initial_epoch``, ``tuner/bracket`` and ``tuner/round`` (and ``tuner/trial_id``
        when promoted), as Keras Tuner's do: ``best.get("tuner/epochs")`` is the budget that
        reached the best score."""
        space = self.study.space
        best = []
        for t in self.oracle.get_best_trials(num_trials):
            hps = HyperParameters.for_trial(space, t.values, inherited=False)
            job = job_of(t)
            best.append(hps if job is None else BudgetedHyperParameters.wrap(hps, job))
        return best

    def trials_dataframe(self, history: bool = False) -> Any:
        """One row per trial (hyperparameters and final metrics as columns), or with
        ``history=True`` one row per step; see :meth:`tunewise.Study.trials_dataframe`."""
        return self.study.trials_dataframe(history=history)

    def diagnose(self) -> Any:
        """The doctor's report: why the best objective is (not) improving, with evidence and fixes."""
        return self.study.diagnose()

    def reload(self) -> None:
        """Re-read the study from storage (e.g. after another process added trials)."""
        self.study = Study(**self._study_kwargs)

    def get_state(self) -> dict[str, Any]:
        return {"study": self.study.name, "location": self.study.location}

    @property
    def remaining_trials(self) -> int | None:
        if self.max_trials is None:
            return None
        return max(0, self.max_trials - self.study.n_slots)
