"""Objectives: which metric a search optimises, and in which direction.

A direction is one of the plain strings ``"min"`` and ``"max"``. ``make_objective`` turns what a
user passes as ``objective=`` (``None``, a metric name, an ``Objective``, a Keras Tuner
objective, or a list of these) into an ``Objective`` or a ``MultiObjective`` (Keras Tuner's
sum); ``pareto_objective`` makes a ``ParetoObjective`` (several objectives, a Pareto front).
Metric names given as strings get their direction from ``infer_direction``; a name it does not
know is an error that says how to spell the direction out, never a silent guess.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from .trial_attrs import EXECUTIONS, SPREAD_SUFFIX

Direction = Literal["min", "max"]
DIRECTIONS: tuple[str, ...] = ("min", "max")
_DIRECTION_ALIASES = {"min": "min", "minimize": "min", "minimise": "min",
                      "max": "max", "maximize": "max", "maximise": "max"}

_PREFIXES = ("val_", "validation_", "train_", "test_", "weighted_")
_NUMERIC_SUFFIX = re.compile(r"_\d+$")

# Whole (normalised) names whose direction no pattern below should decide.
_EXACT = {
    "loss": "min", "brier_score": "min", "brier": "min",
    "acc": "max", "accuracy": "max", "score": "max", "return": "max", "reward": "max",
    "r2": "max", "r2_score": "max", "r_squared": "max", "f_beta": "max", "fbeta_score": "max",
    "cosine_similarity": "max", "explained_variance": "max", "matthews_corrcoef": "max",
}
# Checked in order after ``_EXACT``: (direction, kind, words). ``kind`` is "token" (a whole
# ``_``-separated word of the name), "sub" (a substring), "start" or "end".
_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("min", "token", ("loss",)),  # dice_loss, iou_loss: a loss even when named after a score
    ("min", "start", ("false_",)),  # false_positives, false_negatives
    ("max", "start", ("true_",)),  # true_positives, true_negatives
    ("max", "end", ("accuracy",)),
    ("max", "sub", ("iou", "io_u")),  # mean_iou, mean_io_u, binary_iou
    ("min", "sub", ("crossentropy", "error", "hinge", "divergence", "cosh", "poisson",
                    "huber", "perplexity", "regret", "latency")),
    ("min", "token", ("mse", "mae", "mape", "msle", "rmse", "kld", "wer", "cer",
                      "time", "seconds", "secs")),
    ("max", "start", ("rouge",)),
    ("max", "sub", ("similarity", "corrcoef", "explained_variance", "fbeta")),
    ("max", "token", ("auc", "precision", "recall", "sensitivity", "specificity", "f1", "acc",
                      "map", "ndcg", "mrr", "bleu", "dice", "kappa", "mcc", "r2", "score",
                      "reward", "return")),
)


def _base_name(name: str) -> str:
    """Lower-case ``name`` and strip split prefixes and Keras' ``_1`` suffixes until stable."""
    base = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    previous = None
    while base != previous:
        previous = base
        for prefix in _PREFIXES:
            if base.startswith(prefix) and len(base) > len(prefix):
                base = base[len(prefix):]
        base = _NUMERIC_SUFFIX.sub("", base)
    return base


def infer_direction(name: str) -> str | None:
    """The direction (``"min"`` or ``"max"``) implied by a metric name, or ``None`` if unknown.

    ``val_``/``validation_``/``train_``/``test_``/``weighted_`` prefixes and Keras' numeric
    suffixes (``auc_1``) are ignored. scikit-learn's ``neg_*`` scores are maximised.
    """
    base = _base_name(name)
    if not base:
        return None
    if base.startswith("neg_"):
        return "max"
    if base in _EXACT:
        return _EXACT[base]
    tokens = base.split("_")
    for direction, kind, words in _RULES:
        for word in words:
            if ((kind == "token" and word in tokens) or (kind == "sub" and word in base)
                    or (kind == "start" and base.startswith(word))
                    or (kind == "end" and base.endswith(word))):
                return direction
    return None


def _normalise_direction(direction: Any) -> str:
    key = direction.strip().lower() if isinstance(direction, str) else None
    if key not in _DIRECTION_ALIASES:
        raise ValueError(
            f"Invalid objective direction {direction!r}; expected one of "
            f"{', '.join(repr(d) for d in _DIRECTION_ALIASES)}."
        )
    return _DIRECTION_ALIASES[key]


@dataclass(frozen=True, repr=False)
class Objective:
    """One metric to optimise: ``Objective("val_loss", "min")``.

    ``direction`` accepts ``"min"``/``"max"`` and the spellings ``"minimize"``/``"minimise"``/
    ``"maximize"``/``"maximise"``; it is stored as ``"min"`` or ``"max"``.
    """

    name: str
    direction: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"Objective name must be a str, got {type(self.name).__name__}.")
        if not self.name.strip():
            raise ValueError("Objective name must be a non-empty metric name.")
        object.__setattr__(self, "direction", _normalise_direction(self.direction))

    @property
    def sign(self) -> int:
        """+1 for "min", -1 for "max": ``sign * value`` is a quantity to minimise."""
        return 1 if self.direction == "min" else -1

    @property
    def names(self) -> tuple[str, ...]:
        """The metric names this objective reads: here just ``(name,)``."""
        return (self.name,)

    def is_better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than value ``b``."""
        return a < b if self.direction == "min" else a > b

    better_than = is_better  # Keras Tuner's name

    def value_from(self, metrics: Mapping[str, float]) -> float | None:
        """This objective's value in ``metrics``, or ``None`` when the metric is absent."""
        value = metrics.get(self.name)
        return None if value is None else float(value)

    def has_value(self, logs: Mapping[str, float]) -> bool:
        """Keras Tuner's test: whether ``logs`` hold this objective's metric(s)."""
        return self.value_from(logs) is not None

    def get_value(self, logs: Mapping[str, float]) -> float | None:
        """Keras Tuner's name for :meth:`value_from`."""
        return self.value_from(logs)

    def describe(self) -> str:
        """A short human-readable form, e.g. ``val_loss (min)``."""
        return f"{self.name} ({self.direction})"

    def get_config(self) -> dict[str, Any]:
        """A JSON-serialisable dict that ``from_config`` turns back into this objective."""
        return {"type": "Objective", "name": self.name, "direction": self.direction}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Objective:
        """Rebuild an ``Objective`` from ``get_config()``'s output."""
        _check_type(config, "Objective")
        return cls(config["name"], config["direction"])

    def __repr__(self) -> str:
        return f'Objective(name="{self.name}", direction="{self.direction}")'

    __str__ = __repr__


class _Composite:
    """What ``MultiObjective`` and ``ParetoObjective`` share: their components and their
    ``get_config``/``from_config`` round trip, tagged with ``_CONFIG_TYPE``."""

    _CONFIG_TYPE: ClassVar[str]
    _DEFAULT_NAME: ClassVar[str]
    objectives: tuple[Objective, ...]
    name: str

    def get_config(self) -> dict[str, Any]:
        """A JSON-serialisable dict that ``from_config`` turns back into this objective."""
        return {
            "type": self._CONFIG_TYPE,
            "name": self.name,
            "objectives": [o.get_config() for o in self.objectives],
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Any:
        """Rebuild the objective from ``get_config()``'s output."""
        _check_type(config, cls._CONFIG_TYPE)
        objectives = tuple(Objective.from_config(c) for c in config["objectives"])
        return cls(objectives, config.get("name", cls._DEFAULT_NAME))  # type: ignore[call-arg]


@dataclass(frozen=True, repr=False, eq=False)
class MultiObjective(_Composite):
    """Several objectives optimised as one minimised sum, as Keras Tuner does.

    The combined value is the sum of the minimised metrics minus the sum of the maximised
    ones, i.e. ``sum(o.sign * value)``; it is always minimised.
    """

    objectives: tuple[Objective, ...]
    name: str = "multi_objective"
    _CONFIG_TYPE: ClassVar[str] = "MultiObjective"
    _DEFAULT_NAME: ClassVar[str] = "multi_objective"

    def __post_init__(self) -> None:
        objectives = tuple(self.objectives)
        if not objectives:
            raise ValueError("MultiObjective needs at least one Objective.")
        for objective in objectives:
            if not isinstance(objective, Objective):
                raise TypeError(
                    "MultiObjective components must be Objective instances, got "
                    f"{type(objective).__name__}."
                )
        names = [o.name for o in objectives]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        clashing = sorted({o.name for o in objectives for p in objectives
                           if o.name == p.name and o.direction != p.direction})
        if clashing:
            raise ValueError(
                f"The objective asks to both minimise and maximise {clashing}; give each "
                "metric one direction."
            )
        if duplicates:  # Keras Tuner accepts it (the metric then counts twice in the sum)
            warnings.warn(
                f"The objective lists the metric(s) {duplicates} more than once: each counts "
                "once per listing in the summed objective. Remove the repetition unless you "
                "mean to weight it.", UserWarning, stacklevel=3)
        object.__setattr__(self, "objectives", objectives)

    def __eq__(self, other: object) -> bool:
        """Equal when the same objectives are summed, in whatever order (the sum is)."""
        if not isinstance(other, MultiObjective):
            return NotImplemented
        return sorted(map(repr, self.objectives)) == sorted(map(repr, other.objectives))

    def __hash__(self) -> int:
        return hash(tuple(sorted(map(repr, self.objectives))))

    @property
    def direction(self) -> str:
        """Always ``"min"``: the combined value is minimised."""
        return "min"

    @property
    def sign(self) -> int:
        """Always +1, as the combined value is minimised."""
        return 1

    @property
    def names(self) -> tuple[str, ...]:
        """The component metric names, in order."""
        return tuple(o.name for o in self.objectives)

    def is_better(self, a: float, b: float) -> bool:
        """Whether combined value ``a`` is strictly better (lower) than ``b``."""
        return a < b

    better_than = is_better  # Keras Tuner's name

    def has_value(self, logs: Mapping[str, float]) -> bool:
        """Whether ``logs`` hold every component metric."""
        return self.value_from(logs) is not None

    def get_value(self, logs: Mapping[str, float]) -> float | None:
        """Keras Tuner's name for :meth:`value_from` (the summed value)."""
        return self.value_from(logs)

    def value_from(self, metrics: Mapping[str, float]) -> float | None:
        """The combined value, or ``None`` unless every component metric is present."""
        total = 0.0
        for objective in self.objectives:
            value = objective.value_from(metrics)
            if value is None:
                return None
            total += objective.sign * value
        return total

    def describe(self) -> str:
        """E.g. ``sum of val_loss (min) - val_accuracy (max), minimised``."""
        first, *rest = self.objectives
        text = ("-" if first.direction == "max" else "") + first.describe()
        for objective in rest:
            text += f" {'+' if objective.direction == 'min' else '-'} {objective.describe()}"
        return f"sum of {text}, minimised"

    def __repr__(self) -> str:
        inner = ", ".join(repr(o) for o in self.objectives)
        return f'MultiObjective(name="{self.name}", direction="min"): [{inner}]'

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class ParetoObjective(_Composite):
    """Several objectives searched for their Pareto front (no single combined value).

    A trial's point is its values of the component objectives at one step (the last step
    that reports them all); trial A dominates trial B when A is at least as good on every
    objective and strictly better on one. The front is the completed, feasible trials that no
    other such trial dominates (see :mod:`tunewise.pareto`). Built by
    ``Study(objective=[...], pareto=True)`` or ``Study(objective=[names], directions=[...])``.

    There is no scalar score: ``value_from`` is always None and trials of a Pareto study are
    stored without one (``score`` None, ``best_step`` the step of their point).
    ``sign``/``direction`` are those of the scalarisations model-based samplers minimise
    (``+1``/``"min"``).
    """

    objectives: tuple[Objective, ...]
    name: str = "pareto"
    _CONFIG_TYPE: ClassVar[str] = "ParetoObjective"
    _DEFAULT_NAME: ClassVar[str] = "pareto"

    def __post_init__(self) -> None:
        objectives = tuple(self.objectives)
        if len(objectives) < 2:
            raise ValueError(
                "A Pareto search needs at least two objectives; with one, pass it alone "
                "(objective=tw.Objective(name, direction))."
            )
        for objective in objectives:
            if not isinstance(objective, Objective):
                raise TypeError(
                    "ParetoObjective components must be Objective instances, got "
                    f"{type(objective).__name__}."
                )
        names = [o.name for o in objectives]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"The objectives list the metric(s) {repeated} more than once; a Pareto search "
                "takes each metric once."
            )
        object.__setattr__(self, "objectives", objectives)

    @property
    def direction(self) -> str:
        """``"min"``: the direction of the scalarisations samplers model (see the class)."""
        return "min"

    @property
    def sign(self) -> int:
        return 1

    @property
    def names(self) -> tuple[str, ...]:
        """The component metric names, in order (the order of a trial's values)."""
        return tuple(o.name for o in self.objectives)

    @property
    def directions(self) -> tuple[str, ...]:
        return tuple(o.direction for o in self.objectives)

    def value_from(self, metrics: Mapping[str, float]) -> float | None:
        """Always None: several objectives have no single value (see :meth:`values_from`)."""
        return None

    def values_from(self, metrics: Mapping[str, float]) -> tuple[float, ...] | None:
        """The components' values (as reported, not sign-flipped), or None unless all are in
        ``metrics``."""
        values = tuple(o.value_from(metrics) for o in self.objectives)
        return None if any(v is None for v in values) else values  # type: ignore[return-value]

    def has_value(self, logs: Mapping[str, float]) -> bool:
        """Whether ``logs`` hold every component metric."""
        return self.values_from(logs) is not None

    get_value = value_from

    def describe(self) -> str:
        """E.g. ``Pareto front of val_accuracy (max), latency (min)``."""
        return "Pareto front of " + ", ".join(o.describe() for o in self.objectives)

    def __repr__(self) -> str:
        inner = ", ".join(repr(o) for o in self.objectives)
        return f"ParetoObjective([{inner}])"

    __str__ = __repr__


def components(objective: Any) -> tuple[Objective, ...]:
    """The single objectives an objective is made of: a ``MultiObjective``'s or a
    ``ParetoObjective``'s components, else the objective itself."""
    return tuple(getattr(objective, "objectives", (objective,)))


def pareto_objective(spec: Any, directions: Sequence[Any] | None = None) -> ParetoObjective:
    """``Study(objective=spec, pareto=True)`` or ``Study(objective=spec, directions=...)`` as a
    ``ParetoObjective``.

    ``spec`` is a list of names or ``Objective`` s (a ``MultiObjective``'s components are
    taken), or None with ``directions`` (names ``objective_0``, ``objective_1``..., as an
    Optuna objective returning a tuple). With ``directions`` (Optuna's spellings accepted:
    ``"maximize"``, ``"minimize"``), each gives its objective's direction: a string name takes
    it as is (no inference), an ``Objective`` must agree with it.
    """
    if isinstance(spec, ParetoObjective):
        parts: list[Any] = list(spec.objectives)
    elif isinstance(spec, MultiObjective):
        parts = list(spec.objectives)
    elif spec is None:
        if directions is None:
            raise ValueError(
                "pareto=True needs the objectives: objective=[...] or directions=[...]."
            )
        parts = [f"objective_{i}" for i in range(len(directions))]
    elif isinstance(spec, (list, tuple)):
        parts = list(spec)
    else:
        raise ValueError(
            f"A Pareto search needs several objectives; objective={spec!r} is one. Pass a list: "
            'objective=[tw.Objective("acc", "max"), tw.Objective("latency", "min")].'
        )
    if directions is not None:
        if isinstance(directions, str) or len(directions) != len(parts):
            raise ValueError(
                f"directions={directions!r} must give one direction per objective "
                f"({len(parts)}: {', '.join(map(str, parts))})."
            )
        made = []
        for part, direction in zip(parts, directions):
            wanted = _normalise_direction(direction)
            if isinstance(part, str):
                made.append(Objective(part, wanted))
                continue
            objective = _single(part)
            if objective.direction != wanted:
                raise ValueError(
                    f"{objective!r} disagrees with its direction {direction!r} in directions=."
                )
            made.append(objective)
        return ParetoObjective(tuple(made))
    return ParetoObjective(tuple(_single(p) for p in parts))


def _check_type(config: Mapping[str, Any], expected: str) -> None:
    found = config.get("type", expected)
    if found != expected:
        raise ValueError(f"Config of type {found!r} cannot build an {expected}.")


def _single(spec: Any) -> Objective:
    """One list element (a name, an Objective or an objective-like object) as an Objective."""
    if isinstance(spec, Objective):
        return spec
    if isinstance(spec, str):
        direction = infer_direction(spec)
        if direction is None:
            raise ValueError(
                f'Could not infer optimization direction ("min" or "max") for the metric '
                f'"{spec}": tunewise cannot tell whether it should be minimised or maximised; '
                f'pass tunewise.Objective("{spec}", "max") (or "min") instead of the string '
                f'"{spec}".'
            )
        return Objective(spec, direction)
    is_container = isinstance(spec, (MultiObjective, ParetoObjective, list, tuple, Mapping))
    if not is_container and hasattr(spec, "name") and hasattr(spec, "direction"):
        return Objective(spec.name, spec.direction)
    raise TypeError(
        f"objective {spec!r} ({type(spec).__name__}) is not understood, expected str, "
        "tunewise.Objective (or an object with .name and .direction), or a list of these; "
        'e.g. objective="val_loss" or objective=tunewise.Objective("val_auc", "max").'
    )


def make_objective(spec: Any) -> Objective | MultiObjective | ParetoObjective:
    """Turn a user's ``objective=`` argument into an ``Objective`` or ``MultiObjective``.

    ``None`` gives ``Objective("default_objective", "min")`` (Keras Tuner's rule); a string gets
    its direction from ``infer_direction``; objects with ``.name`` and ``.direction`` (such as a
    ``keras_tuner.Objective``) are converted; a list or tuple becomes a ``MultiObjective`` (a
    single-element one becomes that ``Objective``): Keras Tuner's summed objective. A Pareto
    search is asked for explicitly (:func:`pareto_objective`).
    """
    if spec is None:
        return Objective("default_objective", "min")
    if isinstance(spec, (MultiObjective, ParetoObjective)):
        return spec
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise ValueError("objective must not be an empty list.")
        objectives = tuple(_single(item) for item in spec)
        return objectives[0] if len(objectives) == 1 else MultiObjective(objectives)
    return _single(spec)


create_objective = make_objective  # Keras Tuner's name


def objective_from_config(
    config: Mapping[str, Any],
) -> Objective | MultiObjective | ParetoObjective:
    """Rebuild an ``Objective``, a ``MultiObjective`` or a ``ParetoObjective`` from its
    ``get_config()``."""
    kind = config.get("type")
    if kind is None:
        kind = "MultiObjective" if "objectives" in config else "Objective"
    if kind == "Objective":
        return Objective.from_config(config)
    if kind == "MultiObjective":
        return MultiObjective.from_config(config)
    if kind == "ParetoObjective":
        return ParetoObjective.from_config(config)
    raise ValueError(
        f"Unknown objective config type {kind!r}; expected 'Objective', 'MultiObjective' or "
        "'ParetoObjective'."
    )


# ---------------------------------------------------------------------- closest logged name

#: difflib similarity for suggesting a logged name as a typo of the objective: 0.8 accepts a
#: swapped or missing letter (val_accuarcy, val_acuracy) but not another metric (val_auc for
#: val_accuracy is 0.74).
CLOSE_NAME_CUTOFF = 0.8

#: Keras' short metric names and the long ones it logs for the same metric (``metrics=["acc"]``
#: logs ``acc``/``val_acc``, ``metrics=["accuracy"]`` logs ``accuracy``/``val_accuracy``).
_METRIC_ALIASES = {
    "acc": "accuracy",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "rmse": "root_mean_squared_error",
    "kld": "kullback_leibler_divergence",
}
#: A metric's data split, from its prefix: the validation split, else the training data.
_SPLITS = (("validation_", "val"), ("val_", "val"), ("training_", ""), ("train_", ""))


def _metric_key(name: str) -> tuple[str, str]:
    """``(split, metric)`` of a logged name, spelt canonically: ``val_acc`` and
    ``validation_accuracy`` are both ``("val", "accuracy")``, ``loss`` is ``("", "loss")``."""
    base = name.strip().lower()
    split = ""
    for prefix, which in _SPLITS:
        if base.startswith(prefix) and len(base) > len(prefix):
            split, base = which, base[len(prefix):]
            break
    tokens = [_METRIC_ALIASES.get(tok, tok) for tok in base.split("_")]
    return split, "_".join(tokens)


def _bookkeeping(name: str) -> bool:
    """Names integrations log beside the user's metrics (the spread over executions, its count)."""
    return name.endswith(SPREAD_SUFFIX) or name == EXECUTIONS


def closest_name(name: str, logged: Iterable[str]) -> str | None:
    """The logged metric name the user most likely meant by the objective ``name``, or None.

    The one rule for both the live check (a Keras fit that does not log the objective) and the
    doctor (``objective-not-logged``). In order, the first rule that finds a name wins:

    1. the same metric on the same split under Keras' other spelling (``val_acc`` and
       ``val_accuracy``, ``validation_accuracy``; ``mse`` and ``mean_squared_error``);
    2. a logged name that extends ``name`` (``val_auc`` -> ``val_auc_1``, ``val_los`` ->
       ``val_loss``), the shortest first;
    3. a near-identical spelling, a typo (difflib ratio at least :data:`CLOSE_NAME_CUTOFF`);
    4. the same metric on another split (``val_loss`` -> ``loss`` when no validation data was
       given, ``val_acc`` -> ``accuracy``).

    Another metric is never suggested (``val_auc`` for ``val_accuracy``), nor the spread over
    executions (``<metric>__std``) or its count.
    """
    names = sorted({n for n in logged if n != name and not _bookkeeping(n)})
    split, metric = _metric_key(name)
    keys = {n: _metric_key(n) for n in names}
    same = [n for n in names if keys[n] == (split, metric)]
    if same:
        return min(same, key=lambda n: (len(n), n))
    extending = sorted((n for n in names if n.startswith(name)), key=lambda n: (len(n), n))
    if extending:
        return extending[0]
    close = difflib.get_close_matches(name, names, n=1, cutoff=CLOSE_NAME_CUTOFF)
    if close:
        return close[0]
    other_split = [n for n in names if keys[n][1] == metric]
    return min(other_split, key=lambda n: (len(n), n)) if other_split else None


__all__ = ["DIRECTIONS", "Direction", "MultiObjective", "Objective", "ParetoObjective",
           "closest_name", "components", "create_objective", "infer_direction",
           "make_objective", "objective_from_config", "pareto_objective"]
