"""The declared keys of ``trial.attrs``, and the metric names integrations add to steps.

Contract: ``trial.attrs`` holds plain JSON facts about a trial's run (how it was run, how far,
why it stopped). Integrations, schedulers and the engine write them; the doctor, the report
and the dataframes read them. Nothing else belongs there: a key is declared here, with what it
holds, its type and unit and who writes it, and writers and readers alike use the constant,
never the string. Every key is optional: a reader treats a missing key as "not known".

This module imports nothing from tunewise, so any layer may import it.
"""

from __future__ import annotations

# ---------------------------------------------------------------------- fits (Keras tuner)
#: int | None: epochs each ``fit`` was asked to train (``fit``'s ``epochs`` minus its
#: ``initial_epoch``; the largest over the executions). Written by the Keras tuner.
EPOCHS_ASKED = "epochs_asked"
#: list[int]: epochs each execution actually trained, one entry per execution (fewer than
#: ``epochs_asked`` when EarlyStopping or the pruner cut it). Written by the Keras tuner.
EPOCHS_RUN = "epochs_run"
#: bool: some execution ran fewer epochs than ``epochs_asked``. Written by the Keras tuner (only
#: when ``epochs_asked`` is known).
STOPPED_EARLY = "stopped_early"
#: dict: the first EarlyStopping callback's config: ``monitor`` (str | None), ``patience``
#: (int, epochs), ``min_delta`` (float, >= 0, the monitor's units), ``restore_best_weights``
#: (bool), ``stopped_epochs`` (list[int], each execution's callback's ``stopped_epoch``, 0 if it
#: did not stop). Written by the Keras tuner when a fit had EarlyStopping.
EARLY_STOPPING = "early_stopping"

# ---------------------------------------------------------------------- cross-validation
#: int: the number of CV folds; the trial's steps are folds 1..n, not epochs (the doctor's
#: learning-curve checks skip such trials). Written by the scikit-learn integrations.
CV_FOLDS = "cv_folds"

# ---------------------------------------------------------------------- engine
#: int | None: the last reported step of a PRUNED trial (where it was stopped). Written by the
#: engine.
PRUNED_AT_STEP = "pruned_at_step"
#: bool: the trial was cut by Ctrl-C and is re-run on resume. Written by the engine.
INTERRUPTED = "interrupted"
#: bool: the worker running the trial died. Written by the engine.
CUT_BY_CRASH = "cut_by_crash"

# ---------------------------------------------------------------------- constraints
#: dict[str, float]: the trial's constraint values by name (feasible when every one is <= 0):
#: those the objective set with ``trial.set_constraint(name, value)`` and, for a finished
#: COMPLETED trial, those of the study's ``constraints=`` callable (named ``constraint_0``,
#: ``constraint_1``... unless it returns a dict). Finite floats. Written by the trial (user
#: code) and the engine; read by :func:`tunewise.pareto.feasibility`.
CONSTRAINTS = "constraints"
#: bool: the trial FAILED in a study with ``failed_as_infeasible=True``: its failure counts as
#: an infeasible result for the samplers (never set on an interrupted trial). Written by the
#: engine.
FAILED_INFEASIBLE = "failed_infeasible"

# ---------------------------------------------------------------------- scheduler's job
#: int: the budget (epochs) the trial trains up to, counted from the start of its
#: configuration's training. Written by the engine from the scheduler's job.
BUDGET = "budget"
#: int: the budget (epochs) its parent already trained (0 for a new configuration). Written by
#: the engine from the scheduler's job.
INITIAL_BUDGET = "initial_budget"
#: int: promotions so far (0 for a new configuration). Written by the engine from the job.
RUNG = "rung"
#: int | None: the trial number a promotion continues (None for a new configuration). Written
#: by the engine from the scheduler's job.
PARENT = "parent"
#: int | None: Keras Tuner's ``tuner/bracket`` (halvings of the trial's Hyperband bracket);
#: None outside Hyperband. Written by the engine from the scheduler's job.
BRACKET = "bracket"
#: int | None: which bracket of the search (0, 1, ...) the trial belongs to; None outside
#: Hyperband. Written by the engine from the scheduler's job.
BRACKET_INDEX = "bracket_index"

#: The scheduler's job keys, as :meth:`tunewise.schedulers.Job.attrs` writes them.
JOB_KEYS = (BUDGET, INITIAL_BUDGET, RUNG, PARENT, BRACKET, BRACKET_INDEX)

#: Every declared ``trial.attrs`` key.
ALL_KEYS = (
    EPOCHS_ASKED, EPOCHS_RUN, STOPPED_EARLY, EARLY_STOPPING,
    CV_FOLDS,
    PRUNED_AT_STEP, INTERRUPTED, CUT_BY_CRASH,
    CONSTRAINTS, FAILED_INFEASIBLE,
    *JOB_KEYS,
)

# ---------------------------------------------------------------------- step metrics
# Not attrs: names integrations add to a step's metrics next to the user's own (the doctor's
# objective checks skip the spread and its count, which measure noise, not quality).

#: ``<metric>__std`` (float, the metric's units): the population standard deviation of the
#: metric over a trial's executions (Keras tuner, with ``executions_per_trial > 1``) or over
#: its CV folds (scikit-learn integrations, last step only).
SPREAD_SUFFIX = "__std"
#: float (a count): how many executions (Keras tuner) or folds (scikit-learn integrations) the
#: step's mean holds.
EXECUTIONS = "executions"
#: ``<metric>__fold`` (float, the metric's units): one CV fold's own test score (step ``k`` =
#: fold ``k``; the step's plain ``<metric>`` is the running mean). Written by the scikit-learn
#: integrations.
FOLD_SUFFIX = "__fold"
#: Prefix of a fold's training score, ``train_<metric>__fold`` (``return_train_score``).
#: Written by the scikit-learn integrations.
TRAIN_PREFIX = "train_"
#: float (1.0): the fold raised and was scored ``error_score``. Written by the scikit-learn
#: integrations.
FOLD_FAILED = "fold_failed"

#: Suffixes of bookkeeping metric names.
METRIC_SUFFIXES = (SPREAD_SUFFIX, FOLD_SUFFIX)
#: Whole bookkeeping metric names.
METRIC_NAMES = (EXECUTIONS, FOLD_FAILED)


def spread_name(metric: str) -> str:
    """``<metric>__std``: the metric's spread over executions or folds."""
    return metric + SPREAD_SUFFIX


def fold_name(metric: str, train: bool = False) -> str:
    """``<metric>__fold`` (or ``train_<metric>__fold``): one fold's own score."""
    return (TRAIN_PREFIX if train else "") + metric + FOLD_SUFFIX
