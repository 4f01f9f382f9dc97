"""Reading a Keras Tuner project directory (keras-tuner 1.x) as a SearchHistory, read only.

What a project holds (``<directory>/<project_name>/``):

* ``oracle.json``: the search space (``hyperparameters``: ``{"space": [...], "values": ...}``,
  Keras Tuner's serialised definitions, which tunewise reads as they are), ``start_order``,
  ``retry_queue``, ``seed``, and the oracle's own settings (``num_initial_points``, ``alpha``
  and ``beta`` for Bayesian optimization; ``max_epochs``, ``factor`` and the brackets for
  Hyperband); neither the objective nor ``max_trials`` is stored;
* ``tuner0.json`` (the tuner's state, ``{}`` for Keras Tuner's own tuners);
* ``trial_<id>/trial.json`` per trial: its values, ``status`` (RUNNING, COMPLETED, INVALID,
  FAILED...), ``score``, ``best_step``, ``message`` (the traceback of a failure) and each
  metric's ``{"direction", "observations": [{"value": [..], "step"}]}``. Keras Tuner records
  each metric at the best epoch only (averaged over the executions), so the per-epoch curves
  come from the TensorBoard event files of the trials when there are some
  (:mod:`._tensorboard`), averaged over executions as tunewise's Keras tuner does
  (``<metric>__std`` for the spread).

The objective is the metric whose value at each completed trial's best step is its score
(ties: a ``val_`` metric), its direction the one Keras Tuner stored with the metric; when no
trial completed, the name a failure's message says was expected. ``objective=`` overrides it.
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
from collections.abc import Sequence
from typing import Any

from .. import trial_attrs as keys
from ..diagnostics import SearchHistory
from ..objective import Objective, infer_direction, make_objective
from ..space import HyperParameter, hyperparameter_from_config
from ..trial import FrozenTrial, Step, TrialState, score_steps
from ._model import FOREIGN, NO_RUN_LOG, ForeignSourceError
from ._tensorboard import Execution, find_executions, read_execution, tensorboard_problem

KERAS_TUNER = "keras_tuner"
ORACLE_FILE = "oracle.json"
TRIAL_FILE = "trial.json"

_STATES = {
    "COMPLETED": TrialState.COMPLETED,
    "FAILED": TrialState.FAILED,
    "INVALID": TrialState.FAILED,  # failed, a retry pending (or no retry left at the crash)
    "RUNNING": TrialState.RUNNING,  # running when the search stopped
}
#: Keras Tuner's Hyperband values, as tunewise's scheduler attrs.
_JOB_VALUES = {
    "tuner/epochs": keys.BUDGET,
    "tuner/initial_epoch": keys.INITIAL_BUDGET,
    "tuner/bracket": keys.BRACKET,
    "tuner/round": keys.RUNG,
}
_PARENT_VALUE = "tuner/trial_id"
_EXPECTED = re.compile(r"Objective value missing in metrics reported to the Oracle, "
                       r"expected: \[\s*'([^']+)'")
_KEY_ERROR = re.compile(r"KeyError: '([^']+)'")
#: The tunewise tuner class of each algorithm (the signature's ``algorithm``).
TUNER_CLASSES = {"random": "RandomSearch", "grid": "GridSearch",
                 "bayesian": "BayesianOptimization", "hyperband": "Hyperband"}


def is_keras_tuner_project(path: str) -> bool:
    """Whether ``path`` is a Keras Tuner project directory (it holds ``oracle.json``)."""
    return os.path.isfile(os.path.join(path, ORACLE_FILE))


def _load(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise ForeignSourceError(
            f"{path} cannot be read ({exc.strerror or exc}): check its permissions."
        ) from None
    except ValueError as exc:
        raise ForeignSourceError(
            f"{path} is not valid JSON ({exc}): Keras Tuner writes it whole at each trial's "
            "end; restore it, or remove the trial folder that holds it."
        ) from None


def _mean(value: Any) -> float | None:
    values = value if isinstance(value, list) else [value]
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(numbers) / len(numbers) if numbers else None


def _observations(trial: dict[str, Any]) -> dict[str, tuple[str | None, dict[int, float]]]:
    """``{metric: (direction, {step: value})}`` of a trial.json."""
    metrics = (trial.get("metrics") or {}).get("metrics") or {}
    out = {}
    for name, history in metrics.items():
        if not isinstance(history, dict):
            continue
        by_step = {}
        for obs in history.get("observations") or []:
            v = _mean(obs.get("value"))
            if v is not None:
                by_step[int(obs.get("step") or 0)] = v
        out[str(name)] = (history.get("direction"), by_step)
    return out


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def infer_objective(trials: Sequence[dict[str, Any]]) -> tuple[Objective | None, str]:
    """The objective of a project's trials and how it was found (see the module docstring)."""
    votes: dict[str, int] = {}
    directions: dict[str, str] = {}
    scored = [t for t in trials if isinstance(t.get("score"), (int, float))]
    for t in trials:
        for name, (direction, _) in _observations(t).items():
            if direction in ("min", "max"):
                directions.setdefault(name, direction)
    for t in scored:
        step = int(t.get("best_step") or 0)
        for name, (_, by_step) in _observations(t).items():
            v = by_step.get(step)
            if v is not None and _same(v, float(t["score"])):
                votes[name] = votes.get(name, 0) + 1
    if votes:
        top = max(votes.values())
        best = sorted((n for n, c in votes.items() if c == top),
                      key=lambda n: (not n.startswith("val_"), n))
        name = best[0]
        direction = directions.get(name) or infer_direction(name) or "min"
        how = (f"the metric whose value at the best step is the score of {top} of "
               f"{len(scored)} scored trials")
        return Objective(name, direction), how
    for t in trials:
        name = _expected_name(str(t.get("message") or ""))
        if name:
            direction = infer_direction(name) or "min"
            return Objective(name, direction), "the name a failed trial's message says was expected"
    for name in ("val_loss", "loss"):
        if name in directions:
            return Objective(name, "min"), "no trial was scored: Keras Tuner's usual loss"
    return None, ""


def _expected_name(message: str) -> str | None:
    """The objective a failure's traceback says was missing: Keras Tuner's "Objective value
    missing" line, or the ``KeyError`` its ``Objective.get_value`` raised."""
    m = _EXPECTED.search(message)
    if m:
        return m.group(1)
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    if lines and "get_value" in message:
        m = _KEY_ERROR.fullmatch(lines[-1])
        if m:
            return m.group(1)
    return None


def _objective_arg(objective: Any, trials: Sequence[dict[str, Any]]) -> Objective:
    if isinstance(objective, str) and ":" in objective:
        name, _, direction = objective.rpartition(":")
        return Objective(name, direction)
    if isinstance(objective, str):
        for t in trials:
            direction = _observations(t).get(objective, (None, {}))[0]
            if direction in ("min", "max"):
                return Objective(objective, direction)
    made = make_objective(objective)
    if not isinstance(made, Objective):
        raise ForeignSourceError(
            "A Keras Tuner project is read with one objective: pass one metric name "
            "(e.g. val_accuracy or val_accuracy:max)."
        )
    return made


def _algorithm(oracle: dict[str, Any], trials: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """``(algorithm, how it was told)`` from the oracle's own state keys."""
    if {"max_epochs", "factor"} <= set(oracle) or any(
        "tuner/epochs" in ((t.get("hyperparameters") or {}).get("values") or {}) for t in trials
    ):
        return "hyperband", "oracle.json holds Hyperband's brackets"
    if {"num_initial_points", "alpha", "beta"} <= set(oracle):
        return "bayesian", "oracle.json holds Bayesian optimization's settings"
    return "random", ("oracle.json holds no settings of its own: RandomSearch or GridSearch "
                      "(Keras Tuner does not store which)")


def _numbers(ids: Sequence[str], start_order: Sequence[str]) -> dict[str, int]:
    """Trial numbers: Keras Tuner's ids are zero-padded counts ("00", "01"...), kept; other
    ids (older versions' hashes) are numbered in the order the trials started."""
    if ids and all(i.isdigit() for i in ids) and len({int(i) for i in ids}) == len(ids):
        return {i: int(i) for i in ids}
    order = [i for i in start_order if i in ids] + sorted(i for i in ids if i not in start_order)
    return {i: n for n, i in enumerate(order)}


def read_keras_tuner(
    path: str,
    objective: Any = None,
    logs: Sequence[str] = (),
    algorithm: str | None = None,
) -> SearchHistory:
    """The Keras Tuner project at ``path`` as a history (see the module docstring).

    ``logs``: more folders to look for TensorBoard event files in (the ``TensorBoard``
    callback's ``log_dir``), beside the project directory itself. ``algorithm`` (random, grid,
    bayesian, hyperband) overrides what ``oracle.json`` tells."""
    shown = os.path.normpath(path)  # as given (relative stays relative), for the report
    path = os.path.abspath(path)
    oracle_path = os.path.join(path, ORACLE_FILE)
    if not os.path.isfile(oracle_path):
        raise ForeignSourceError(
            f"{path} is not a Keras Tuner project directory: it holds no {ORACLE_FILE} (pass "
            "<directory>/<project_name> of the tuner)."
        )
    oracle = _load(oracle_path)
    if not isinstance(oracle, dict):
        raise ForeignSourceError(f"{oracle_path} does not hold a Keras Tuner oracle's state.")
    raw_trials: list[tuple[str, dict[str, Any], float | None]] = []
    skipped: list[str] = []
    for file in sorted(glob.glob(os.path.join(glob.escape(path), "trial_*", TRIAL_FILE))):
        try:
            data = _load(file)
        except ForeignSourceError:
            skipped.append(os.path.relpath(file, path))
            continue
        if not isinstance(data, dict) or "trial_id" not in data:
            skipped.append(os.path.relpath(file, path))
            continue
        if str(data.get("status")) not in _STATES:
            continue  # IDLE or STOPPED: not a trial that ran
        raw_trials.append((str(data["trial_id"]), data, _mtime(file)))
    dicts = [d for _, d, _ in raw_trials]

    notes: list[str] = []
    if objective is not None:
        chosen = _objective_arg(objective, dicts)
        notes.append(f"objective {chosen.describe()}, as given")
    else:
        found, how = infer_objective(dicts)
        if found is None:
            raise ForeignSourceError(
                f"{path}: no trial tells which metric was the objective (Keras Tuner does not "
                "store it, and no trial was scored): pass it, e.g. --objective val_accuracy."
            )
        chosen = found
        notes.append(f"objective {chosen.describe()} inferred: {how} (pass --objective to "
                     "override)")
    guessed, told = _algorithm(oracle, dicts)
    if algorithm is not None and algorithm not in TUNER_CLASSES:
        raise ForeignSourceError(
            f"algorithm={algorithm!r} is not one of {sorted(TUNER_CLASSES)}."
        )
    algo = algorithm or guessed
    notes.append(f"algorithm {algo}" + (" (as given)" if algorithm else f": {told}"))
    if skipped:
        notes.append(f"skipped unreadable trial files: {', '.join(skipped)}")

    ids = [i for i, _, _ in raw_trials]
    numbers = _numbers(ids, [str(i) for i in oracle.get("start_order") or []])
    roots = [path, *[os.path.abspath(p) for p in logs]]
    problem = tensorboard_problem()
    found_dirs = find_executions(roots, set(ids))
    curves: dict[str, list[Execution]] = {}
    if found_dirs and problem is None:
        curves = {t: [read_execution(d) for d in dirs] for t, dirs in found_dirs.items()}

    space = _space(oracle, dicts)
    retry_queue = {str(i) for i in oracle.get("retry_queue") or []}
    trials = []
    for trial_id, data, mtime in sorted(raw_trials, key=lambda r: numbers[r[0]]):
        trials.append(_trial(trial_id, numbers, data, mtime, chosen, curves.get(trial_id)))
    trials_with_curves = sum(1 for t in ids if curves.get(t))
    executions = max((len(curves[t]) for t in curves), default=None)

    not_run = [NO_RUN_LOG.format(tool="Keras Tuner")]
    curve_checks = ("noisy-objective's epoch jitter, lucky-epoch, undertrained, "
                    "early-stopping-premature and overfitting")
    if not found_dirs:
        looked = ", ".join(roots)
        not_run.append(
            "no per-epoch curves: trial.json keeps each metric at the best epoch only and no "
            f"TensorBoard logs of these trials were found under {looked} (pass --logs with the "
            f"TensorBoard callback's log_dir), so {curve_checks} did not run"
        )
    elif problem is not None:
        not_run.append(
            f"no per-epoch curves: TensorBoard logs of {len(found_dirs)} trials are there but "
            f"{problem}, so {curve_checks} did not run"
        )
    else:
        if trials_with_curves < len(ids):
            not_run.append(
                f"per-epoch curves for {trials_with_curves} of {len(ids)} trials only (the "
                "others have no TensorBoard logs): the curve checks saw those trials alone"
            )
        not_run.append(
            "no EarlyStopping settings nor epochs asked: Keras Tuner stores neither, so "
            "early-stopping-premature did not run"
        )
    unnamed = [t.trial_id for t in trials if t.state is TrialState.FAILED and not t.steps
               and _expected_name(t.reason or "") in chosen.names]
    if unnamed:
        not_run.append(
            f"objective-not-logged: the tracebacks of trials {', '.join(unnamed[:5])} say the "
            f"objective {chosen.name!r} was missing, but trial.json keeps no metric of a "
            "failed trial, so the names the model did log (and the closest one) are known "
            "only from TensorBoard logs (pass --logs)"
        )
    tuner: dict[str, Any] = {"class": TUNER_CLASSES[algo]}
    if executions:
        tuner["executions_per_trial"] = executions
    settings: dict[str, Any] = {
        "signature": {"algorithm": algo, "objective": chosen.get_config(), "score": "best"},
        "sampler": {"name": "gp" if algo == "bayesian" else ("grid" if algo == "grid"
                                                               else "random")},
        "tuner": tuner,
    }
    if algo == "bayesian":
        tuner["num_initial_points"] = oracle.get("num_initial_points")
    if algo == "hyperband":
        settings["scheduler"] = {
            "name": "hyperband",
            **{k: oracle[k] for k in ("max_epochs", "min_epochs", "factor",
                                      "hyperband_iterations") if k in oracle},
        }
    if isinstance(oracle.get("seed"), int):
        settings["seed"] = oracle["seed"]
    settings[FOREIGN] = {
        "kind": KERAS_TUNER,
        "source": path,
        "trial_ids": {str(numbers[i]): i for i in ids},
        "retry_queue": sorted(retry_queue),
        "notes": notes,
        "not_run": not_run,
    }
    return SearchHistory(
        study_name=os.path.basename(path),
        objective=chosen,
        trials=tuple(trials),
        space=tuple(space),
        settings=settings,
        location=f"Keras Tuner project {shown}",
    )


def _mtime(file: str) -> float | None:
    try:
        return os.stat(file).st_mtime
    except OSError:
        return None


def _space(oracle: dict[str, Any], trials: Sequence[dict[str, Any]]) -> list[HyperParameter]:
    """The oracle's space (it grows as trials define more), then any definition only a
    trial holds; Hyperband's ``tuner/...`` bookkeeping is not a hyperparameter."""
    out: dict[Any, HyperParameter] = {}
    configs = list(((oracle.get("hyperparameters") or {}).get("space")) or [])
    for t in trials:
        configs += list(((t.get("hyperparameters") or {}).get("space")) or [])
    for config in configs:
        try:
            hp = hyperparameter_from_config(config)
        except Exception:  # noqa: BLE001, S112 - a definition tunewise cannot read: left out
            continue
        if hp.name.startswith("tuner/"):
            continue
        out.setdefault(hp.key, hp)
    return list(out.values())


def _trial(
    trial_id: str,
    numbers: dict[str, int],
    data: dict[str, Any],
    mtime: float | None,
    objective: Objective,
    executions: list[Execution] | None,
) -> FrozenTrial:
    status = str(data.get("status"))
    state = _STATES[status]
    values = dict(((data.get("hyperparameters") or {}).get("values")) or {})
    attrs: dict[str, Any] = {}
    for key, attr in _JOB_VALUES.items():
        if key in values:
            attrs[attr] = values.pop(key)
    if _PARENT_VALUE in values:
        parent = values.pop(_PARENT_VALUE)
        attrs[keys.PARENT] = numbers.get(str(parent))
    observed = _observations(data)
    started = finished = None
    if executions and any(e.epochs for e in executions):
        steps = _averaged(executions, set(observed))
        attrs[keys.EPOCHS_RUN] = [len(e.epochs) for e in executions]
        firsts = [e.first_time for e in executions if e.first_time]
        started = min(firsts) if firsts else None
        finished = max((max(e.times.values()) for e in executions if e.times), default=None)
    else:
        by_step: dict[int, dict[str, float]] = {}
        for name, (_, points) in observed.items():
            for step, v in points.items():
                by_step.setdefault(step, {})[name] = v
        steps = [Step(s, m) for s, m in sorted(by_step.items())]
    score = data.get("score")
    score = float(score) if isinstance(score, (int, float)) and math.isfinite(score) else None
    best_step = data.get("best_step")
    reason = data.get("message") or None
    if state is TrialState.RUNNING:
        attrs[keys.CUT_BY_CRASH] = True
    if status == "INVALID" and reason is None:
        reason = "INVALID in Keras Tuner (failed; a retry was pending)"
    if state is TrialState.FAILED and reason is None:
        reason = "FAILED in Keras Tuner (no message stored)"
    if (state is TrialState.FAILED and steps and reason
            and _expected_name(reason) in objective.names):
        # Keras Tuner's KeyError, said as tunewise says it (with the names the curves hold)
        failure = score_steps(steps, objective).failure
        if failure:
            reason = f"{failure}\n{reason}"
    if state is TrialState.COMPLETED and score is None:
        state, reason = TrialState.FAILED, (
            f"COMPLETED in Keras Tuner without a score (objective {objective.name} not found)"
        )
    return FrozenTrial(
        number=numbers[trial_id],
        state=state,
        values=values,
        steps=tuple(steps),
        score=score if state is TrialState.COMPLETED else None,
        best_step=int(best_step) if isinstance(best_step, int) and score is not None else None,
        reason=reason,
        started_at=started,
        finished_at=finished if finished is not None else (
            mtime if state is not TrialState.RUNNING else None),
        attrs=attrs,
    )


def _averaged(executions: list[Execution], names: set[str]) -> list[Step]:
    """The executions' epochs averaged step by step (``<metric>__std`` and ``executions``
    when there are several), as tunewise's Keras tuner records them; only the metrics Keras
    Tuner recorded (``names``; all when it recorded none)."""
    from ..integrations.keras._recording import average_runs

    def kept(epoch: dict[str, float]) -> dict[str, float]:
        return {k: v for k, v in epoch.items() if not names or k in names}

    steps = sorted({s for e in executions for s in e.epochs})
    runs = [[kept(e.epochs[s]) for s in steps if s in e.epochs] for e in executions if e.epochs]
    logs = average_runs(runs)
    out = []
    for i, epoch in enumerate(logs):
        step = steps[i] if i < len(steps) else i
        at = max((e.times.get(step, 0.0) for e in executions), default=0.0)
        out.append(Step(step, epoch, at))
    return out
