"""``HyperParameters``: the define-by-run container users call inside ``build(hp)``.

It holds two things, as Keras Tuner's class does: the *space* (the definitions registered so
far, in registration order, with their conditions) and the *values* of the current trial.

Identity is Keras Tuner's: a definition is the same hyperparameter as another when its
``key`` — ``(name, conditions)`` — is. A name may so have several definitions under different
conditions (``hp.Int("layers", 1, 3)`` under ``model == "v1"`` and ``hp.Int("layers", 2, 4)``
under ``model == "v2"``); the name has one value, that of its first active definition.

The first call of ``hp.Int("units", ...)`` registers the definition and returns the trial's
value for it (or, when the trial has none yet, a value from the ``new_value`` hook, which by
default is the definition's default). Later calls with the same definition return the same
value. A later call with the same key but a *different* definition does what Keras Tuner does
— the first definition wins and the call returns the current value — and says so in a
:class:`UserWarning`, once per name and container. Definitions inherited from a stored study
(``inherited=True``) are the exception: those the running code may redefine once (the code's
definition replaces the stored one), and the change is recorded in ``changes`` so that the
engine can say what changed.

``values`` is live, as Keras Tuner's plain ``values`` dict is: ``hp.values["units"] = 64``
sets the value that ``hp.get("units")`` and later ``hp.Int("units", ...)`` calls return and
that the trial stores.

Declared definitions win (Keras Tuner's ``hyperparameters=`` override): a ``new_value`` hook
with a ``declared`` attribute (a set of names) makes the container's definitions of those
names final, so that the code's own ``hp.Int("x", ...)`` with another definition (or a
``Fixed``) gets the declared definition's value, silently. A hook with an ``admit(hp)``
method is told of each definition the code makes for the first time in this container, before
its value is chosen; it may raise (``allow_new_entries=False``).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..errors import SpaceDefinitionError
from ._base import check_name
from ._conditions import Condition, Parent
from ._hyperparameters import (
    Boolean,
    Choice,
    Fixed,
    Float,
    HyperParameter,
    Int,
    hyperparameter_from_config,
    hyperparameter_to_config,
    plain_value,
)
from ._keywords import DEFINITION_HINTS, explained_arguments
from ._values import LiveValues

NewValueHook = Callable[[HyperParameter], Any]
Key = tuple[str, tuple[Condition, ...]]


#: A definition call whose arguments do not fit raises a SpaceDefinitionError with a
#: "did you mean" (``hp.Int("n", min_vlaue=1, ...)``) or the habit's fix (``low=``).
_checked = explained_arguments(DEFINITION_HINTS, SpaceDefinitionError)


def _default_value(hp: HyperParameter) -> Any:
    return hp.default


class HyperParameters:
    """Search space plus the current trial's values.

    ``values`` holds only *active* hyperparameters: one whose conditions do not hold is
    registered in the space but absent from ``values``, defining it returns None and
    ``get`` of it raises. It is live: ``hp.values[name] = v`` sets the value (see
    :class:`~tunewise.space._values.LiveValues`).
    """

    def __init__(self) -> None:
        self._defs: dict[Key, HyperParameter] = {}  # registration order
        self._assigned: dict[str, Any] = {}
        self._scopes: list[Condition] = []
        self._name_scopes: list[str] = []
        self._inherited: set[Key] = set()
        self._pinned: dict[str, None] = {}  # names set through ``values`` (ordered)
        self._locked: set[str] = set()  # declared names: their definitions here are final
        self._warned: set[str] = set()  # names whose redefinition was reported
        self._new_value: NewValueHook = _default_value
        self.changes: list[tuple[HyperParameter | None, HyperParameter]] = []
        """(old, new) definitions that replaced inherited ones during this trial."""

    # ------------------------------------------------------------------ construction
    @classmethod
    def for_trial(
        cls,
        space: Sequence[HyperParameter],
        values: dict[str, Any],
        new_value: NewValueHook | None = None,
        inherited: bool = True,
    ) -> HyperParameters:
        """A container pre-filled with a stored ``space`` and a sampler's ``values``."""
        hps = cls()
        for hp in space:
            hps._defs.setdefault(hp.key, hp)
        if inherited:
            hps._inherited = set(hps._defs)
        hps._assigned = {k: plain_value(v) for k, v in values.items()}
        if new_value is not None:
            hps._new_value = new_value
            declared = getattr(new_value, "declared", None) or ()
            names = {hp.name for hp in hps._defs.values()}
            hps._locked = {name for name in declared if name in names}
        return hps

    def copy(self) -> HyperParameters:
        """The same space and active values, without the trial's hooks."""
        values = self._active_values()
        out = HyperParameters.for_trial(self.space, values, inherited=False)
        out._pinned = {name: None for name in self._pinned if name in values}
        return out

    def merge(self, hps: HyperParameters | Iterable[HyperParameter], overwrite: bool = True) -> None:
        """Add the definitions of ``hps`` (a container or definitions) to this one.

        A definition whose key this container has replaces its definition when ``overwrite``
        (and is skipped otherwise). Each merged definition that is active gets its default as
        value when ``overwrite`` or when its name has no value yet.
        """
        space = hps.space if isinstance(hps, HyperParameters) else list(hps)
        for hp in space:
            if not isinstance(hp, HyperParameter):
                raise TypeError(
                    f"merge() takes a HyperParameters or hyperparameter definitions, got "
                    f"{hp!r}. Pass e.g. hp.merge(other_hp) or hp.merge(other_hp.space)."
                )
            if hp.key in self._defs and not overwrite:
                continue
            self._defs[hp.key] = hp
            self._inherited.discard(hp.key)
            if self._conditions_hold(hp.conditions) and (
                overwrite or hp.name not in self._assigned
            ):
                self._assigned[hp.name] = hp.default

    def ensure_active_values(self) -> None:
        """Give each active hyperparameter without a value a random one, and drop the values
        of names that are registered but inactive (Keras Tuner's rule: only active values)."""
        for hp in self._defs.values():
            if hp.name not in self._assigned and self._conditions_hold(hp.conditions):
                self._assigned[hp.name] = hp.random_sample()
        for name in {hp.name for hp in self._defs.values()}:
            if not self.is_active(name):
                self._unset_value(name)

    # ------------------------------------------------------------------ space access
    @property
    def space(self) -> list[HyperParameter]:
        """Registered definitions in registration order (parents before children)."""
        return list(self._defs.values())

    @property
    def _hps(self) -> dict[str, list[HyperParameter]]:
        """The definitions by name (Keras Tuner's private ``_hps``)."""
        out: dict[str, list[HyperParameter]] = {}
        for hp in self._defs.values():
            out.setdefault(hp.name, []).append(hp)
        return out

    def _by_name(self, name: str) -> list[HyperParameter]:
        return [hp for hp in self._defs.values() if hp.name == name]

    @property
    def values(self) -> dict[str, Any]:
        """The active hyperparameters' values, in registration order; live (assignments stick).

        In a trial's container, a definition inherited from the stored space that the code
        did not define in this trial (removed from the code, or not reached) is left out,
        unless a value was assigned to it through ``values``. A value assigned to a name not
        registered yet is shown too, and is what defining that name returns.
        """
        return LiveValues(self)

    @values.setter
    def values(self, values: dict[str, Any]) -> None:
        """Replace every value (Keras Tuner's ``hp.values = {...}``)."""
        self._assigned.clear()
        self._pinned.clear()
        for name, value in dict(values).items():
            self._set_value(name, value)

    def _active_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        registered: set[str] = set()
        for hp in self._defs.values():
            name = hp.name
            registered.add(name)
            if name in out or name not in self._assigned:
                continue
            if hp.key in self._inherited and name not in self._pinned:
                continue
            if self._conditions_hold(hp.conditions):
                out[name] = self._assigned[name]
        for name in self._pinned:
            if name not in registered and name in self._assigned:
                out[name] = self._assigned[name]
        return out

    def _set_value(self, name: str, value: Any) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Hyperparameter names are strings, got {name!r}.")
        self._assigned[name] = plain_value(value)
        self._pinned[name] = None

    def _unset_value(self, name: str) -> None:
        self._assigned.pop(name, None)
        self._pinned.pop(name, None)

    # ------------------------------------------------------------------ activity, lookup
    def is_active(self, hyperparameter: HyperParameter | str) -> bool:
        """Whether a definition's conditions hold (each parent active with a listed value);
        for a name, whether any of its definitions' do."""
        if isinstance(hyperparameter, HyperParameter):
            return self._conditions_hold(hyperparameter.conditions)
        return any(
            self._conditions_hold(hp.conditions) for hp in self._by_name(str(hyperparameter))
        )

    def _conditions_hold(
        self, conditions: Sequence[Condition], seen: frozenset[str] = frozenset()
    ) -> bool:
        for cond in conditions:
            active, value = self._state(cond.name, seen)
            if not active or not cond.is_active({cond.name: value}):
                return False
        return True

    def _state(self, name: str, seen: frozenset[str] = frozenset()) -> tuple[bool, Any]:
        """(active, current value) of a name: its first definition whose conditions hold."""
        if name in seen:  # a cycle of conditions never holds
            return False, None
        for hp in self._by_name(name):
            if self._conditions_hold(hp.conditions, seen | {name}):
                return True, self._assigned.get(name, hp.default)
        return False, None

    def _scoped(self, name: str) -> str:
        """``name`` inside the open name scopes (``"scope1/scope2/name"``)."""
        return "/".join([*self._name_scopes, str(name)])

    def _defined(self, name: Any) -> str:
        """The scoped name of a new definition; ``name`` must be a non-empty str
        (:func:`~tunewise.space._base.check_name`), never ``5`` or ``None`` made ``"5"``."""
        return self._scoped(check_name(name))

    def get(self, name: str) -> Any:
        """The current value of ``name`` (inside the open name scopes).

        Raises KeyError when no hyperparameter has that name and ValueError when it is
        registered but inactive (Keras Tuner's errors).
        """
        name = self._scoped(name)
        values = self._active_values()
        if name in values:
            return values[name]
        active, value = self._state(name)
        if active:
            # An inherited definition the code reads without defining it in this trial (a
            # run_trial over a declared space): the trial used it, so it stores the value.
            for hp in self._by_name(name):
                if self._conditions_hold(hp.conditions):
                    if hp.key in self._inherited:
                        self._inherited.discard(hp.key)
                        self._assigned.setdefault(name, value)
                    break
            return value
        if self._by_name(name):
            raise ValueError(
                f"Hyperparameter {name!r} is currently inactive: its conditions do not hold "
                f"for the current values {values!r}. Read it only where its parent has one "
                "of the listed values (inside its conditional_scope)."
            )
        known = ", ".join(sorted({repr(hp.name) for hp in self._defs.values()})) or "none"
        raise KeyError(
            f"Hyperparameter {name!r} does not exist; registered: {known}. "
            f"Define it first, e.g. hp.Int({name!r}, ...)."
        )

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        """True when ``name`` has a value: it is registered and active (or was assigned)."""
        if not isinstance(name, str):
            return False
        try:
            self.get(name)
        except (KeyError, ValueError):
            return False
        return True

    def __repr__(self) -> str:
        return f"HyperParameters({self._active_values()!r})"

    # ------------------------------------------------------------------ scopes
    @contextlib.contextmanager
    def name_scope(self, name: str) -> Iterator[None]:
        """Hyperparameters defined inside are named ``"<name>/<their name>"``."""
        self._name_scopes.append(check_name(name, "A name scope"))
        try:
            yield
        finally:
            self._name_scopes.pop()

    @contextlib.contextmanager
    @_checked
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Hyperparameters defined inside are active only when ``parent_name`` is in
        ``parent_values`` (one value or a list); the code inside runs either way."""
        parent_name = self._scoped(parent_name)
        parents = self._by_name(parent_name)
        if not parents:
            raise SpaceDefinitionError(
                f"conditional_scope: the parent hyperparameter {parent_name!r} is not defined. "
                f"Define it (e.g. hp.Choice({parent_name!r}, [...])) before the scope."
            )
        condition = Parent(parent_name, parent_values)
        for v in condition.values:
            if not any(p.contains(v) for p in parents):
                raise SpaceDefinitionError(
                    f"conditional_scope: {v!r} is not a value of {parent_name!r} "
                    f"({parents[0].describe()}). Pass values the parent can take."
                )
        self._scopes.append(condition)
        try:
            yield
        finally:
            self._scopes.pop()

    @contextlib.contextmanager
    def _maybe_scope(self, parent_name: str | None, parent_values: Any) -> Iterator[None]:
        if not parent_name:
            yield
            return
        with self.conditional_scope(parent_name, parent_values):
            yield

    # ------------------------------------------------------------------ define-by-run
    def _register(self, hp: HyperParameter) -> Any:
        """Register ``hp`` (or find its key) and return its value, None when inactive."""
        name, key = hp.name, hp.key
        if any(c.name == name for c in hp.conditions):
            raise SpaceDefinitionError(
                f"A conditional hyperparameter cannot have the same name as its parent: "
                f"{name!r} is defined inside conditional_scope({name!r}, ...). "
                "Give the child its own name."
            )
        existing = self._defs.get(key)
        if existing is None or key in self._inherited:  # first defined here
            admit = getattr(self._new_value, "admit", None)
            if admit is not None:
                admit(hp)
        if name in self._locked:
            # the declared definition wins over the code's (Keras Tuner's rule)
            hp = existing or next(h for h in self._defs.values() if h.name == name)
            key = hp.key
        elif existing is not None and existing != hp:
            if key in self._inherited:
                self.changes.append((existing, hp))
                self._defs[key] = hp
                self._drop_stale(hp)
            else:
                self._warn_redefinition(existing, hp)
                hp = existing
        elif existing is None:
            self._defs[key] = hp
            self._drop_stale(hp)
        self._inherited.discard(key)
        if not self._conditions_hold(hp.conditions):
            return None
        if name not in self._assigned:
            self._assigned[name] = plain_value(self._new_value(hp))
        return self._assigned[name]

    def _drop_stale(self, hp: HyperParameter) -> None:
        """Forget a value ``hp`` cannot take (one stored for an older definition, or drawn
        for another definition of the name), so that ``hp`` gets a value of its own; a value
        the user assigned, or one that another definition of the name made here holds, stays."""
        name = hp.name
        if name not in self._assigned or name in self._pinned:
            return
        if hp.contains(self._assigned[name]):
            return
        others = [
            h for h in self._by_name(name)
            if h is not hp and h.key not in self._inherited and self._conditions_hold(h.conditions)
        ]
        if not others:
            del self._assigned[name]

    def _warn_redefinition(self, first: HyperParameter, later: HyperParameter) -> None:
        if first.name in self._warned:
            return
        self._warned.add(first.name)
        warnings.warn(
            f"Hyperparameter {first.name!r} is already defined as {first.describe()}; the "
            f"later definition {later.describe()} is ignored and {first.name!r} keeps the "
            "first definition and its value (Keras Tuner's rule). Use one definition per "
            "name, or give the other one its own name.",
            UserWarning,
            stacklevel=5,  # the user's hp.Int(...) call, past the argument check
        )

    def _conditions(self) -> tuple[Condition, ...]:
        return tuple(self._scopes)

    @_checked
    def Int(
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: float | None = None,
        sampling: str = "linear",
        default: int | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> int | None:
        """An integer in ``[min_value, max_value]``; see :class:`tunewise.space.Int`."""
        with self._maybe_scope(parent_name, parent_values):
            return self._register(
                Int(
                    self._defined(name),
                    min_value,
                    max_value,
                    step=step,
                    sampling=sampling,
                    default=default,
                    conditions=self._conditions(),
                )
            )

    @_checked
    def Float(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: str = "linear",
        default: float | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> float | None:
        """A real number in ``[min_value, max_value]``; see :class:`tunewise.space.Float`."""
        with self._maybe_scope(parent_name, parent_values):
            return self._register(
                Float(
                    self._defined(name),
                    min_value,
                    max_value,
                    step=step,
                    sampling=sampling,
                    default=default,
                    conditions=self._conditions(),
                )
            )

    @_checked
    def Choice(
        self,
        name: str,
        values: Sequence[Any],
        ordered: bool | None = None,
        default: Any = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> Any:
        """One of ``values``; see :class:`tunewise.space.Choice`."""
        with self._maybe_scope(parent_name, parent_values):
            return self._register(
                Choice(
                    self._defined(name),
                    values,
                    ordered=ordered,
                    default=default,
                    conditions=self._conditions(),
                )
            )

    @_checked
    def Boolean(
        self,
        name: str,
        default: bool = False,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> bool | None:
        """True or False."""
        with self._maybe_scope(parent_name, parent_values):
            return self._register(
                Boolean(self._defined(name), default=default, conditions=self._conditions())
            )

    @_checked
    def Fixed(
        self,
        name: str,
        value: Any,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> Any:
        """A constant, recorded with the trial."""
        with self._maybe_scope(parent_name, parent_values):
            return self._register(
                Fixed(self._defined(name), value=value, conditions=self._conditions())
            )

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """``{"space": [{"class_name": ..., "config": ...}], "values": {...}}`` (Keras
        Tuner's format)."""
        return {
            "space": [hyperparameter_to_config(hp) for hp in self._defs.values()],
            "values": dict(self._active_values()),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HyperParameters:
        """The container a config (Keras Tuner's or tunewise's) describes."""
        space = [hyperparameter_from_config(c) for c in config.get("space", [])]
        return cls.for_trial(space, dict(config.get("values", {})), inherited=False)
