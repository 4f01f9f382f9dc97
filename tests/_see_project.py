"""A tiny stored project for the CLI, report and dashboard tests (plain functions, SQLite).

``make_project(root)`` stores study ``demo`` (20 trials of a known function: completed, pruned
by a median pruner, one failed) under ``root/demo/tunewise.db`` and returns the Study.
"""

from __future__ import annotations

import math
import os

import tunewise as tw
from tunewise.schedulers import MedianPruner

N_TRIALS = 20


def objective(hp, trial):
    lr = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    units = hp.Int("units", 16, 128, step=16)
    activation = hp.Choice("activation", ["relu", "tanh"])
    if units == 128 and activation == "tanh":
        raise tw.FailedTrialError("units=128 with tanh is not supported")
    base = 0.1 * (math.log10(lr) + 2.5) ** 2 + 0.2 + (0.05 if activation == "tanh" else 0.0)
    for epoch in range(6):
        value = base + 0.0002 * units + 1.0 / (epoch + 1)
        trial.report(epoch, {"val_loss": value, "loss": 0.9 * value})
        if trial.should_prune():
            raise tw.TrialPruned()


def make_project(root: str | os.PathLike[str], name: str = "demo", seed: int = 3) -> tw.Study:
    study = tw.Study(
        objective="val_loss",
        directory=os.fspath(root),
        project_name=name,
        seed=seed,
        verbose=0,
        pruner=MedianPruner(n_warmup_steps=2),
        max_consecutive_failed_trials=0,
    )
    study.optimize(objective, max_trials=N_TRIALS)
    return study
