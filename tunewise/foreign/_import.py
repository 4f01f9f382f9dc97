"""Copying a foreign search into tunewise storage, so that a tunewise search resumes it.

The source is only read (its history comes from :mod:`._keras_tuner` or :mod:`._optuna`); the
target is a tunewise storage. The copy is one study with the source's signature (algorithm,
objective with its direction, score rule) and space, and every trial with its values, steps,
score, best step, state, reason, times and attrs, in number order. So:

* a **Keras Tuner project** ``<directory>/<project_name>`` goes by default to the storage
  tunewise's Keras tuners open for the same ``directory`` and ``project_name``
  (``<directory>/<project_name>/tunewise.db``), as the study named ``project_name``: the
  tuner resumes it, and every imported trial counts toward ``max_trials``, as Keras Tuner
  counts the trials it reloads. A trial Keras Tuner left RUNNING (or INVALID with its retry
  pending) is stored FAILED with a WAITING re-run, which the next search runs first, as
  Keras Tuner retries it on reload;
* an **Optuna study** goes to the study of its name (default storage: ``tunewise.db`` beside
  an Optuna SQLite file; a server URL needs ``to=``), with the algorithm ``tpe`` (Optuna's
  default sampler; Optuna does not store which ran) unless told. A RUNNING trial gets a
  re-run as above; a WAITING (enqueued, never run) trial is not copied.

Nothing is half imported: a failure removes the study it was making.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .. import trial_attrs as keys
from ..diagnostics import SearchHistory
from ..space import hyperparameter_to_config
from ..storage import SQLStorage, Storage
from ..trial import TrialState
from ._keras_tuner import KERAS_TUNER, TUNER_CLASSES
from ._model import FOREIGN, ForeignSourceError, foreign_info
from ._optuna import OPTUNA

#: The worker name stored with imported trials.
IMPORT_WORKER = "tunewise-import"
#: The algorithm an Optuna study is imported with unless told (Optuna's default sampler).
OPTUNA_DEFAULT_ALGORITHM = "tpe"


@dataclass
class ImportResult:
    """What :func:`import_search` stored: the study, where, how many trials, and how to go on."""

    study: str
    target: str
    imported: int
    reruns: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


def default_target(history: SearchHistory) -> str | None:
    """The storage URL a search is imported to by default: for a Keras Tuner project the one
    tunewise's Keras tuners open for the same directory and project_name; for an Optuna
    SQLite file ``tunewise.db`` beside it; None for a server database (pass one)."""
    info = foreign_info(history)
    source = str(info.get("source", ""))
    if info.get("kind") == KERAS_TUNER:
        from ..storage import DB_FILENAME

        return f"sqlite:///{os.path.join(source, DB_FILENAME)}"
    if info.get("kind") == OPTUNA and "://" not in source and source:
        return f"sqlite:///{os.path.join(os.path.dirname(os.path.abspath(source)), 'tunewise.db')}"
    return None


def _needs_rerun(history: SearchHistory, number: int, state: TrialState) -> bool:
    info = foreign_info(history)
    if state is TrialState.RUNNING:
        return True
    if info.get("kind") == KERAS_TUNER and state is TrialState.FAILED:
        original = (info.get("trial_ids") or {}).get(str(number))
        return original in set(info.get("retry_queue") or [])
    return False


def import_search(
    history: SearchHistory,
    to: str | Storage,
    study_name: str | None = None,
    algorithm: str | None = None,
) -> ImportResult:
    """Copy ``history`` (a foreign search) into the tunewise storage ``to`` as the study
    ``study_name`` (default: the source's name); see the module docstring."""
    info = foreign_info(history)
    if not info:
        raise ForeignSourceError(
            f"{history.location}: only a Keras Tuner project or an Optuna study is imported "
            "(a tunewise study is already in tunewise storage)."
        )
    kind = info.get("kind")
    signature = dict(history.settings["signature"])
    if algorithm is not None:
        signature["algorithm"] = algorithm
    elif kind == OPTUNA:
        signature["algorithm"] = OPTUNA_DEFAULT_ALGORITHM
    if kind == KERAS_TUNER and signature["algorithm"] == "hyperband":
        raise ForeignSourceError(
            f"{info.get('source')} is a Keras Tuner Hyperband project: its brackets cannot be "
            "continued by tunewise's Hyperband, so it is not imported. Diagnose it with "
            "'tunewise doctor', or import it as another algorithm (--algorithm random) to "
            "keep its trials for a new search."
        )
    if len(info.get("objectives") or []) > 1:
        raise ForeignSourceError(
            f"{info.get('source')}: study {history.study_name!r} is multi-objective (a Pareto "
            "front); tunewise searches one objective, so it is not imported."
        )
    storage = to if isinstance(to, Storage) else SQLStorage(to)
    name = study_name or history.study_name
    existing = storage.get_study(name)
    if existing is not None:
        n = len(storage.get_trials(existing.id))
        if n or existing.settings.get("signature") != signature:
            what = (f"{n} trials" if n else "another signature: "
                    f"{existing.settings.get('signature')}")
            already = existing.settings.get("imported_from", {}).get("source") == info.get(
                "source")
            raise ForeignSourceError(
                f"{storage.location} already holds study {name!r} ({what})"
                + (", imported from this source before" if already else "")
                + ": pass another --study name, or another --to storage."
            )
    settings: dict[str, Any] = {
        "signature": signature,
        "sampler": dict(history.settings.get("sampler") or {"name": signature["algorithm"]}),
        "seed": int(history.settings.get("seed", int.from_bytes(os.urandom(4), "little"))),
        "imported_from": {k: v for k, v in info.items() if k != "not_run"}
        | {"not_run": list(info.get("not_run", [])), "imported_at": time.time()},
    }
    if "tuner" in history.settings:
        settings["tuner"] = dict(history.settings["tuner"])
    created = existing is None
    record = storage.create_study(name, settings) if created else existing
    try:
        space = [hyperparameter_to_config(hp) for hp in history.space]
        storage.save_space(record.id, space)
        result = _copy_trials(storage, record.id, history)
    except BaseException:
        if created:
            storage.delete_study(record.id)
        raise
    result.study, result.target = name, storage.location
    result.notes += _resume_notes(history, storage.location, name, signature)
    return result


def _copy_trials(storage: Storage, study_id: Any, history: SearchHistory) -> ImportResult:
    result = ImportResult(study="", target="", imported=0)
    numbers: dict[int, int] = {}  # the source's number -> the copy's
    pending = []  # (trial id, token, frozen): finished FAILED with a re-run after the rest
    now = time.time()
    for t in sorted(history.trials, key=lambda t: t.number):
        if t.state is TrialState.WAITING:
            result.skipped += 1
            continue
        token = uuid.uuid4().hex
        started = t.started_at or t.finished_at or now
        retry_of = numbers.get(t.retry_of) if t.retry_of is not None else None
        new = storage.create_trial(
            study_id, dict(t.values), retry_of, started, IMPORT_WORKER,
            token=token, attrs=dict(t.attrs),
        )
        assert new is not None  # no max_trials given: a slot is always free
        numbers[t.number] = new.number
        for step in t.steps:
            storage.add_step(new.id, step, token=token)
        result.imported += 1
        if _needs_rerun(history, t.number, t.state):
            pending.append((new.id, token, t))
            continue
        storage.finish_trial(
            new.id, t.state, dict(t.values), t.score, t.best_step, t.reason,
            t.finished_at or started, dict(t.attrs), token=token,
        )
    for trial_id, token, t in pending:  # re-runs numbered after every copied trial
        reason = t.reason or (
            f"{t.state.value} in the source when it was imported (its search stopped): "
            "re-run by the next search"
        )
        attrs = dict(t.attrs) | {keys.CUT_BY_CRASH: True}
        rerun = storage.finish_trial(
            trial_id, TrialState.FAILED, dict(t.values), None, None, reason,
            t.finished_at or now, attrs, token=token, rerun_cap=1 << 30,
        )
        result.reruns += rerun is not None
    return result


def _resume_notes(history: SearchHistory, location: str, name: str,
                  signature: dict[str, Any]) -> list[str]:
    info = foreign_info(history)
    objective = history.objective
    if info.get("kind") == KERAS_TUNER:
        source = str(info.get("source"))
        tuner = TUNER_CLASSES.get(signature["algorithm"], "RandomSearch")
        notes = [(
            f"Resume it with tunewise: import tunewise as kt; kt.{tuner}(build, "
            f"objective=kt.Objective({objective.name!r}, {objective.direction!r}), "
            f"directory={os.path.dirname(source)!r}, project_name={os.path.basename(source)!r}, "
            f"max_trials=N).search(...): the {len(history.trials)} imported trials count toward "
            "max_trials."
        )]
        if signature["algorithm"] == "random":
            notes.append(
                "Imported as RandomSearch (Keras Tuner does not store whether it was a grid "
                "search); for kt.GridSearch import it with --algorithm grid."
            )
        notes.append(
            "The imported trials' models stay in Keras Tuner's trial_<id>/checkpoint.weights.h5 "
            "files (model.load_weights(path) reads them); tunewise's get_best_models() loads "
            "the weights of trials tunewise ran."
        )
        return notes
    sampler = {"tpe": "TPESampler", "random": "RandomSampler", "gp": "GPSampler",
               "grid": "GridSampler", "auto": "AutoSampler"}.get(signature["algorithm"])
    sampler_text = f"sampler=tw.samplers.{sampler}(), " if sampler else (
        f"algorithm={signature['algorithm']!r}, ")
    url = location if "://" in location else f"sqlite:///{location}"
    return [(
        f"Resume it with tunewise: import tunewise as tw; tw.Study(objective=tw.Objective("
        f"{objective.name!r}, {objective.direction!r}), {sampler_text}storage={url!r}, "
        f"study_name={name!r}, score={signature['score']!r}).optimize(fn, max_trials=N)."
    )]


__all__ = ["FOREIGN", "ImportResult", "default_target", "import_search"]
