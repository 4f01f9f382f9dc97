"""Reading an Optuna storage (its RDB tables) as SearchHistory objects, without Optuna.

Read-only, always: a SQLite file is opened from the URI ``file:<path>?mode=ro`` with
``PRAGMA query_only`` (:func:`tunewise.storage._sqlite_open.reader_engine`), a server database
in ``READ ONLY`` transactions; Optuna's own ``RDBStorage`` is never used (opening it may create
or upgrade its tables). Only ``SELECT`` statements run.

The mapping (Optuna's current tables, tested with Optuna 5.1; the older ``studies.direction``,
``trials.value`` and ``trial_intermediate_values.value`` columns and the distribution names
before Optuna 3 are read too):

* a study's directions (``study_directions``, or ``studies.direction`` before multi-objective)
  give the objective: named by ``study.set_metric_names`` when it was called, else ``value``
  (``value_0``, ``value_1``... for several objectives); a multi-objective study is diagnosed
  on its first objective (tunewise's doctor has no Pareto-front checks) and said so;
* states: COMPLETE -> COMPLETED, FAIL -> FAILED, PRUNED, RUNNING and WAITING as they are;
* each parameter's distribution (the latest one a trial used) -> ``Float``/``Int``/``Choice``
  /``Boolean``/``Fixed``; values decoded from Optuna's internal form (a categorical's index);
  choices a ``Choice`` cannot hold (None, mixed types) become their text, said in ``not_run``;
* intermediate values (``trial.report(value, step)``) -> the trial's steps, each holding the
  objective; a trial without any gets one step holding its values; the score is the value the
  objective returned (score rule ``last``);
* user attributes -> ``settings["foreign"]["user_attrs"]`` and ``["trial_user_attrs"]``
  (a trial's ``attrs`` hold tunewise's declared keys only); a ``RetryFailedTrialCallback``
  re-run's ``failed_trial`` -> ``retry_of``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .. import trial_attrs as keys
from ..diagnostics import SearchHistory
from ..objective import Objective
from ..space import Boolean, Choice, Fixed, Float, HyperParameter, Int
from ..storage._errors import StorageError, classify
from ..storage._foreign import is_optuna
from ..storage._open import _server_engine, location_of, parse_url
from ..storage._sqlite_open import check_path, read_header, reader_engine, sqlite_file
from ..trial import FrozenTrial, Step, TrialState
from ._model import FOREIGN, NO_RUN_LOG, ForeignSourceError

OPTUNA = "optuna"

_STATES = {
    "COMPLETE": TrialState.COMPLETED,
    "FAIL": TrialState.FAILED,
    "PRUNED": TrialState.PRUNED,
    "RUNNING": TrialState.RUNNING,
    "WAITING": TrialState.WAITING,
}
_SPECIAL = {"INF_POS": math.inf, "INF_NEG": -math.inf, "NAN": math.nan}
#: Optuna's study system attribute holding ``set_metric_names``'s names.
_METRIC_NAMES = "study:metric_names"


# ---------------------------------------------------------------------- opening
def open_reader(url: str) -> tuple[Engine, str]:
    """A read-only engine on the database at ``url`` and its location (see the module
    docstring); nothing is created, not even a missing file."""
    parsed = parse_url(url)
    location = location_of(parsed)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(parsed)
        if path is None:
            raise ForeignSourceError(
                f"{location}: an in-memory database holds no stored search: pass the "
                "sqlite:///path of the file Optuna wrote."
            )
        check_path(path, reading=True)
        if not read_header(path):
            raise ForeignSourceError(
                f"{location} is an empty file, not an Optuna storage: pass the file an Optuna "
                "study was created with (optuna.create_study(storage='sqlite:///...'))."
            )
        return reader_engine(path), location
    return _server_engine(parsed, location, read_only=True), location


def _run(engine: Engine, location: str, work: Any) -> Any:
    try:
        with engine.connect() as conn:
            return work(conn)
    except sa.exc.SQLAlchemyError as exc:
        raise (
            classify(exc, location)
            or StorageError(f"{location} cannot be read: {exc}", user_mistake=False)
        ) from None


def tables_at(url: str) -> set[str]:
    """The table names of the database at ``url``, read-only."""
    engine, location = open_reader(url)
    try:
        return _run(engine, location, lambda c: set(sa.inspect(c).get_table_names()))
    finally:
        engine.dispose()


def is_optuna_storage(url: str) -> bool:
    return is_optuna(tables_at(url))


# ---------------------------------------------------------------------- reading
def read_optuna(url: str, study: str | None = None) -> list[SearchHistory]:
    """Every study of the Optuna storage at ``url`` (only ``study`` when given), as
    histories, the most recently created first."""
    engine, location = open_reader(url)
    try:
        return _run(engine, location, lambda conn: _read(conn, location, study))
    finally:
        engine.dispose()


def optuna_study_names(url: str) -> list[str]:
    engine, location = open_reader(url)
    try:
        return _run(engine, location, lambda conn: [n for _, n in _studies(conn)])
    finally:
        engine.dispose()


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _studies(conn: Connection) -> list[tuple[int, str]]:
    rows = conn.execute(sa.text("SELECT study_id, study_name FROM studies ORDER BY study_id"))
    return [(int(i), str(n)) for i, n in rows]


def _read(conn: Connection, location: str, wanted: str | None) -> list[SearchHistory]:
    tables = set(sa.inspect(conn).get_table_names())
    if not is_optuna(tables):
        raise ForeignSourceError(
            f"{location} is not an Optuna storage (it has no 'studies' and 'trials' tables of "
            "Optuna's): pass the storage URL an Optuna study was created with."
        )
    studies = _studies(conn)
    if wanted is not None:
        chosen = [s for s in studies if s[1] == wanted]
        if not chosen:
            names = ", ".join(repr(n) for _, n in studies[:10]) or "none"
            raise ForeignSourceError(
                f"No Optuna study named {wanted!r} in {location}; it holds {names}. Pass one of "
                "them to --study, or leave --study out for all."
            )
        studies = chosen
    version = _library_version(conn, tables)
    return [
        _read_study(conn, tables, location, sid, name, version) for sid, name in reversed(studies)
    ]


def _library_version(conn: Connection, tables: set[str]) -> str | None:
    if "version_info" not in tables:
        return None
    row = conn.execute(sa.text("SELECT library_version FROM version_info")).first()
    return None if row is None else str(row[0])


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


#: The trials of study ``:s``, as the filter of the per-trial tables.
_OF_STUDY = "trial_id IN (SELECT trial_id FROM trials WHERE study_id = :s)"


def _attrs(conn: Connection, table: str, study_id: int,
           tables: set[str]) -> dict[int, dict[str, Any]]:
    """``{owner id: {key: value}}`` of a study's (``study_*``) or its trials' attributes."""
    out: dict[int, dict[str, Any]] = {}
    if table not in tables:
        return out
    key = conn.dialect.identifier_preparer.quote("key")  # a reserved word in some dialects
    owner, where = (("study_id", "study_id = :s") if table.startswith("study")
                    else ("trial_id", _OF_STUDY))
    rows = conn.execute(
        sa.text(f"SELECT {owner}, {key}, value_json FROM {table} WHERE {where}"),
        {"s": study_id},
    )
    for owner, key, value in rows:
        out.setdefault(int(owner), {})[str(key)] = _json(value)
    return out


def _directions(conn: Connection, tables: set[str], study_id: int) -> list[str]:
    if "study_directions" in tables:
        rows = conn.execute(
            sa.text("SELECT direction FROM study_directions WHERE study_id = :s ORDER BY objective"),
            {"s": study_id},
        ).all()
        if rows:
            return [str(r[0]) for r in rows]
    if "direction" in _columns(conn, "studies"):
        row = conn.execute(
            sa.text("SELECT direction FROM studies WHERE study_id = :s"), {"s": study_id}
        ).first()
        if row is not None:
            return [str(row[0])]
    return ["MINIMIZE"]


def _number(value: Any, kind: Any) -> float:
    if kind is not None and str(kind) in _SPECIAL:
        return _SPECIAL[str(kind)]
    return math.nan if value is None else float(value)


def _timestamp(value: Any) -> float | None:
    """Optuna's naive local datetimes (strings on SQLite) as unix seconds."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return None


def _read_study(conn: Connection, tables: set[str], location: str, study_id: int, name: str,
                version: str | None) -> SearchHistory:
    directions = _directions(conn, tables, study_id)
    system = _attrs(conn, "study_system_attributes", study_id, tables).get(study_id, {})
    user = _attrs(conn, "study_user_attributes", study_id, tables).get(study_id, {})
    names = system.get(_METRIC_NAMES)
    if not (isinstance(names, list) and len(names) == len(directions)
            and all(isinstance(n, str) and n for n in names)):
        names = ["value"] if len(directions) == 1 else [f"value_{i}" for i in range(len(directions))]
    goal = ["max" if d.upper() == "MAXIMIZE" else "min" for d in directions]
    objective = Objective(names[0], goal[0])

    trial_rows = conn.execute(
        sa.text("SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials "
                "WHERE study_id = :s ORDER BY number, trial_id"),
        {"s": study_id},
    ).all()
    ids = [int(r[0]) for r in trial_rows]
    params = _params(conn, study_id)
    values = _values(conn, tables, study_id)
    steps = _intermediates(conn, tables, study_id)
    trial_user = _attrs(conn, "trial_user_attributes", study_id, tables)
    trial_system = _attrs(conn, "trial_system_attributes", study_id, tables)

    space: dict[str, HyperParameter] = {}
    encoders: dict[str, Any] = {}
    text_choices: list[str] = []
    for tid in ids:  # the latest distribution of each parameter wins, in first-seen order
        for pname, (_raw, dist) in params.get(tid, {}).items():
            hp, encode, as_text = _hyperparameter(pname, dist)
            if hp is None:
                continue
            space.pop(pname, None)
            space[pname] = hp
            encoders[pname] = encode
            if as_text and pname not in text_choices:
                text_choices.append(pname)
    order = {n: i for i, n in enumerate(_first_seen(params, ids))}
    ordered_space = sorted(space.values(), key=lambda hp: order.get(hp.name, 0))

    trials = []
    reasons_missing = 0
    any_steps = False
    user_by_number: dict[str, Any] = {}
    for tid, number, state_text, start, complete in trial_rows:
        tid, number = int(tid), int(number)
        state = _STATES.get(str(state_text).upper(), TrialState.FAILED)
        hp_values = {}
        for pname, (raw, dist) in params.get(tid, {}).items():
            hp_values[pname] = _decode(raw, dist, encoders.get(pname))
        own_values = values.get(tid, {})
        reported = steps.get(tid, [])
        any_steps = any_steps or bool(reported)
        trial_steps = [Step(s, {names[0]: v}, 0.0) for s, v in reported]
        finals = {names[i]: own_values[i] for i in sorted(own_values) if i < len(names)}
        if not trial_steps and finals:
            trial_steps = [Step(0, finals, _timestamp(complete) or 0.0)]
        score = finals.get(names[0])
        if score is not None and not math.isfinite(score):
            score = None
        if score is None and state is TrialState.PRUNED and reported:
            finite = [v for _, v in reported if math.isfinite(v)]
            score = finite[-1] if finite else None
        best_step = None
        if score is not None:
            best_step = next(
                (s.step for s in reversed(trial_steps) if s.metrics.get(names[0]) == score), None
            )
        sysattrs = trial_system.get(tid, {})
        attrs: dict[str, Any] = {}
        reason = None
        if state is TrialState.FAILED:
            reason = sysattrs.get("fail_reason")
            if not reason:
                reasons_missing += 1
                reason = "failed in Optuna (Optuna stores no reason for a failed trial)"
        elif state is TrialState.PRUNED:
            at = reported[-1][0] if reported else None
            attrs[keys.PRUNED_AT_STEP] = at
            reason = "pruned by Optuna" + (f" at step {at}" if at is not None else "")
        retry_of = sysattrs.get("failed_trial")
        if tid in trial_user:
            user_by_number[str(number)] = trial_user[tid]
        trials.append(
            FrozenTrial(
                number=number,
                state=state,
                values=hp_values,
                steps=tuple(trial_steps),
                score=score if state in (TrialState.COMPLETED, TrialState.PRUNED) else None,
                best_step=best_step,
                reason=reason,
                retry_of=int(retry_of) if isinstance(retry_of, int) and retry_of < number else None,
                started_at=_timestamp(start),
                finished_at=_timestamp(complete),
                attrs=attrs,
            )
        )

    not_run = [NO_RUN_LOG.format(tool="Optuna")]
    if not any_steps:
        not_run.append(
            "no per-step curves: no trial reported intermediate values (trial.report), so "
            "noisy-objective's epoch jitter, undertrained, early-stopping-premature and "
            "overfitting did not run"
        )
    else:
        not_run.append(
            "intermediate values hold the objective alone (no training metric, no epochs "
            "asked, no EarlyStopping settings), so overfitting and early-stopping-premature did "
            "not run; lucky-epoch does not apply (the score is the value the objective "
            "returned, not its best step)"
        )
    if reasons_missing:
        not_run.append(
            f"no failure reasons: Optuna does not store a failed trial's exception "
            f"({reasons_missing} failed), so failed-trials counts the failures and where they "
            "lie in the space but cannot name their cause, and objective-not-logged cannot tell "
            "a missing metric"
        )
    not_run.append(
        "sampler unknown: Optuna does not store which sampler ran, so the checks of a "
        "model-based sampler's initial design did not run"
    )
    if len(directions) > 1:
        described = ", ".join(f"{n} ({g})" for n, g in zip(names, goal))
        not_run.append(
            f"multi-objective study ({described}): tunewise's doctor has no Pareto-front "
            f"checks; every check ran on the first objective, {objective.describe()}"
        )
    if text_choices:
        not_run.append(
            "categorical choices tunewise cannot hold as they are (None, mixed types, "
            f"containers) are shown as text: {', '.join(text_choices)}"
        )
    info = {
        "kind": OPTUNA,
        "source": location,
        "study": name,
        "optuna_version": version,
        "objectives": [{"name": n, "direction": g} for n, g in zip(names, goal)],
        "user_attrs": user,
        "trial_user_attrs": user_by_number,
        "not_run": not_run,
    }
    settings = {
        "signature": {"algorithm": OPTUNA, "objective": objective.get_config(), "score": "last"},
        FOREIGN: info,
    }
    return SearchHistory(
        study_name=name,
        objective=objective,
        trials=tuple(trials),
        space=tuple(ordered_space),
        settings=settings,
        location=f"Optuna storage {location}",
    )


def _first_seen(params: dict[int, dict[str, Any]], ids: Iterable[int]) -> list[str]:
    seen: list[str] = []
    for tid in ids:
        seen += [n for n in params.get(tid, {}) if n not in seen]
    return seen


def _params(conn: Connection, study_id: int) -> dict[int, dict[str, tuple[float, Any]]]:
    out: dict[int, dict[str, tuple[float, Any]]] = {}
    rows = conn.execute(
        sa.text("SELECT trial_id, param_name, param_value, distribution_json FROM trial_params "
                f"WHERE {_OF_STUDY} ORDER BY param_id"),
        {"s": study_id},
    )
    for tid, pname, raw, dist in rows:
        out.setdefault(int(tid), {})[str(pname)] = (raw, _json(dist))
    return out


def _values(conn: Connection, tables: set[str], study_id: int) -> dict[int, dict[int, float]]:
    out: dict[int, dict[int, float]] = {}
    if "trial_values" in tables:
        kind = "value_type" if "value_type" in _columns(conn, "trial_values") else "NULL"
        rows = conn.execute(
            sa.text(f"SELECT trial_id, objective, value, {kind} FROM trial_values "
                    f"WHERE {_OF_STUDY}"),
            {"s": study_id},
        )
        for tid, objective, value, vtype in rows:
            if value is None and vtype is None:
                continue
            out.setdefault(int(tid), {})[int(objective)] = _number(value, vtype)
    elif "value" in _columns(conn, "trials"):  # Optuna 1.x: one objective, in the trials row
        rows = conn.execute(
            sa.text("SELECT trial_id, value FROM trials WHERE study_id = :s"), {"s": study_id}
        )
        for tid, value in rows:
            if value is not None:
                out.setdefault(int(tid), {})[0] = float(value)
    return out


def _intermediates(conn: Connection, tables: set[str],
                   study_id: int) -> dict[int, list[tuple[int, float]]]:
    out: dict[int, list[tuple[int, float]]] = {}
    if "trial_intermediate_values" not in tables:
        return out
    columns = _columns(conn, "trial_intermediate_values")
    value = "intermediate_value" if "intermediate_value" in columns else "value"
    kind = "intermediate_value_type" if "intermediate_value_type" in columns else "NULL"
    rows = conn.execute(
        sa.text(f"SELECT trial_id, step, {value}, {kind} FROM trial_intermediate_values "
                f"WHERE {_OF_STUDY} ORDER BY trial_id, step"),
        {"s": study_id},
    )
    for tid, step, v, vtype in rows:
        out.setdefault(int(tid), []).append((int(step), _number(v, vtype)))
    return out


# ---------------------------------------------------------------------- distributions
def _distribution(dist: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(dist, dict):
        return "", {}
    return str(dist.get("name", "")), dict(dist.get("attributes") or {})


def _plain_choices(choices: list[Any]) -> list[Any] | None:
    """The choices as one tunewise type, or None when they cannot be (None, mixed types)."""
    if all(isinstance(c, bool) for c in choices):
        return choices
    if all(isinstance(c, str) for c in choices):
        return choices
    if all(isinstance(c, int) and not isinstance(c, bool) for c in choices):
        return choices
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices):
        floats = [float(c) for c in choices]
        if all(math.isfinite(f) for f in floats) and len(set(floats)) == len(floats):
            return floats
    return None


def _text(choice: Any) -> str:
    """A choice tunewise cannot hold as it is, as text: a string as it is, anything else as
    its JSON (``None`` -> ``null``)."""
    return choice if isinstance(choice, str) else json.dumps(choice)


def _hyperparameter(name: str, dist: Any) -> tuple[HyperParameter | None, Any, bool]:
    """``(definition, choice encoder, shown as text)`` of an Optuna distribution."""
    kind, a = _distribution(dist)
    try:
        if kind in ("FloatDistribution", "UniformDistribution", "LogUniformDistribution",
                    "DiscreteUniformDistribution"):
            low, high = float(a["low"]), float(a["high"])
            log = bool(a.get("log")) or kind == "LogUniformDistribution"
            step = a.get("step", a.get("q"))
            if low == high:
                return Fixed(name, low), None, False
            return (Float(name, low, high, step=float(step) if step else None,
                          sampling="log" if log else "linear"), None, False)
        if kind in ("IntDistribution", "IntUniformDistribution", "IntLogUniformDistribution"):
            low, high = int(a["low"]), int(a["high"])
            log = bool(a.get("log")) or kind == "IntLogUniformDistribution"
            if low == high:
                return Fixed(name, low), None, False
            step = None if log else int(a.get("step") or 1)
            return Int(name, low, high, step=step, sampling="log" if log else "linear"), None, False
        if kind == "CategoricalDistribution":
            choices = list(a.get("choices") or [])
            plain = _plain_choices(choices)
            as_text = plain is None
            shown = plain if plain is not None else [_text(c) for c in choices]
            if len(set(map(repr, shown))) != len(shown):
                shown = [json.dumps(c) for c in choices]
                as_text = True
            if len(shown) == 1:
                return Fixed(name, shown[0]), shown, as_text
            if all(isinstance(c, bool) for c in shown) and set(shown) == {True, False}:
                return Boolean(name), shown, as_text
            return Choice(name, shown), shown, as_text
    except (KeyError, TypeError, ValueError):
        return None, None, False
    return None, None, False


def _decode(raw: Any, dist: Any, shown: Any) -> Any:
    """A parameter's value from Optuna's internal form (a categorical's index)."""
    kind, a = _distribution(dist)
    if raw is None:
        return None
    if kind == "CategoricalDistribution":
        choices = list(a.get("choices") or [])
        index = int(raw)
        if isinstance(shown, list) and len(shown) == len(choices) and 0 <= index < len(shown):
            return shown[index]  # the choice as the space holds it (its text, a float...)
        return choices[index] if 0 <= index < len(choices) else raw
    if kind.startswith("Int"):
        return int(round(float(raw)))
    return float(raw)
