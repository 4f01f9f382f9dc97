"""``HyperParameters``: the define-by-run container users call inside ``build(hp)``.

It holds two things, as Keras Tuner's class does: the *space* (the definitions registered so
far, in registration order, with their conditions) and the *values* of the current trial.

The first call of ``hp.Int("units", ...)`` registers the definition and returns the trial's
value for it (or, when the trial has none yet, a value from the ``new_value`` hook, which by
default is the definition's default). Later calls with the same definition return the same
value. A call with a *different* definition is an error, except for definitions inherited from
a stored study (``inherited=True``): those the running code may redefine once, and the change
is recorded in ``changes`` so that the engine can say what changed.

``values`` is live, as Keras Tuner's plain ``values`` dict is: ``hp.values["units"] = 64``
sets the value that ``hp.get("units")`` and later ``hp.Int("units", ...)`` calls return and
that the trial stores.

Declared definitions win (Keras Tuner's ``hyperparameters=`` override): a ``new_value`` hook
with a ``declared`` attribute (a set of names) makes the container's definitions of those
names final, so that the code's own ``hp.Int("x", ...)`` with another definition (or a
``Fixed``) gets the declared definition's value instead of an error. A hook with an
``admit(hp)`` method is told of each name the code defines for the first time in this
container, before its value is chosen; it may raise (``allow_new_entries=False``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ._hyperparameters import (
    Boolean,
    Choice,
    Condition,
    Fixed,
    Float,
    HyperParameter,
    Int,
    hyperparameter_from_config,
    hyperparameter_to_config,
    plain_value,
)

NewValueHook = Callable[[HyperParameter], Any]


def _default_value(hp: HyperParameter) -> Any:
    return hp.default


class LiveValues(dict):
    """``hp.values``: the active values, a dict that writes through to its container.

    Assigning, deleting or updating a key changes the container's value (what ``hp.get`` and
    the next ``hp.Choice(...)`` of that name return, and what the trial stores), then the dict
    shows the container's active values again (a changed parent can switch children on or
    off). A fresh dict is made at each ``hp.values`` access: one kept aside does not see values
    the code defines later. Copies and pickles of it are plain dicts.
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: HyperParameters) -> None:
        super().__init__(owner._active_values())
        self._owner = owner

    def _sync(self) -> None:
        dict.clear(self)
        dict.update(self, self._owner._active_values())

    def __setitem__(self, name: str, value: Any) -> None:
        self._owner._set_value(name, value)
        self._sync()

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._owner._unset_value(name)
        self._sync()

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for name, value in dict(*args, **kwargs).items():
            self._owner._set_value(name, value)
        self._sync()

    def __ior__(self, other: Any) -> LiveValues:  # type: ignore[override,misc]  # noqa: PYI034
        self.update(other)
        return self

    def setdefault(self, name: str, default: Any = None) -> Any:
        if name not in self:
            self[name] = default
        return dict.get(self, name, default)

    def pop(self, name: str, *default: Any) -> Any:
        if name in self:
            value = dict.__getitem__(self, name)
            del self[name]
            return value
        if default:
            return default[0]
        raise KeyError(name)

    def popitem(self) -> tuple[str, Any]:
        if not self:
            raise KeyError("popitem(): values are empty")
        name = next(reversed(self))
        return name, self.pop(name)

    def clear(self) -> None:
        for name in list(self):
            self._owner._unset_value(name)
        self._sync()

    def copy(self) -> dict[str, Any]:  # type: ignore[override]
        return dict(self)

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        import copy

        return copy.deepcopy(dict(self), memo)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


class HyperParameters:
    """Search space plus the current trial's values.

    ``values`` holds only *active* hyperparameters: one whose conditions do not hold is
    registered in the space but absent from ``values``, and defining it returns None. It is
    live: ``hp.values[name] = v`` sets the value (see :class:`LiveValues`).
    """

    def __init__(self) -> None:
        self._space: dict[str, HyperParameter] = {}
        self._assigned: dict[str, Any] = {}
        self._scopes: list[Condition] = []
        self._inherited: set[str] = set()
        self._pinned: dict[str, None] = {}  # names set through ``values`` (ordered)
        self._locked: set[str] = set()  # declared names: their definitions here are final
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
            hps._space[hp.name] = hp
        if inherited:
            hps._inherited = set(hps._space)
        hps._assigned = {k: plain_value(v) for k, v in values.items()}
        if new_value is not None:
            hps._new_value = new_value
            declared = getattr(new_value, "declared", None) or ()
            hps._locked = {name for name in declared if name in hps._space}
        return hps

    def copy(self) -> HyperParameters:
        return HyperParameters.for_trial(self.space, self.values, inherited=False)

    # ------------------------------------------------------------------ space access
    @property
    def space(self) -> list[HyperParameter]:
        """Registered definitions in registration order (parents before children)."""
        return list(self._space.values())

    @property
    def values(self) -> dict[str, Any]:
        """The active hyperparameters' values, in registration order; live (assignments stick).

        In a trial's container, a definition inherited from the stored space that the code
        did not define in this trial (removed from the code, or not reached) is left out,
        unless a value was assigned to it through ``values``. A value assigned to a name not
        registered yet is shown too, and is what defining that name returns.
        """
        return LiveValues(self)

    def _active_values(self) -> dict[str, Any]:
        out = {
            name: self._assigned[name]
            for name, hp in self._space.items()
            if name in self._assigned
            and (name not in self._inherited or name in self._pinned)
            and self.is_active(hp)
        }
        for name in self._pinned:
            if name not in self._space and name in self._assigned:
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

    def is_active(self, hp: HyperParameter | str) -> bool:
        """True when every condition of ``hp`` holds (its parents active, with listed values)."""
        if isinstance(hp, str):
            hp = self._space[hp]
        for cond in hp.conditions:
            parent = self._space.get(cond.parent)
            if parent is None or not self.is_active(parent):
                return False
            if self._assigned.get(cond.parent, parent.default) not in cond.values:
                return False
        return True

    def get(self, name: str) -> Any:
        """The current value of ``name``; None when it is registered but inactive."""
        if name not in self._space:
            known = ", ".join(repr(n) for n in self._space) or "none"
            raise ValueError(
                f"Unknown hyperparameter {name!r}; registered: {known}. "
                f"Define it first, e.g. hp.Int({name!r}, ...)."
            )
        if not self.is_active(name):
            return None
        return self._assigned.get(name, self._space[name].default)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._space

    def __repr__(self) -> str:
        return f"HyperParameters({self.values!r})"

    # ------------------------------------------------------------------ define-by-run
    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Hyperparameters defined inside are active only when ``parent_name`` is in ``parent_values``."""
        if parent_name not in self._space:
            raise ValueError(
                f"conditional_scope: parent {parent_name!r} is not registered. "
                f"Define it (e.g. hp.Choice({parent_name!r}, [...])) before the scope."
            )
        if not isinstance(parent_values, (list, tuple, set)):
            parent_values = [parent_values]
        parent = self._space[parent_name]
        for v in parent_values:
            if not parent.contains(v):
                raise ValueError(
                    f"conditional_scope: {v!r} is not a value of {parent_name!r} "
                    f"({parent.describe()}). Pass values the parent can take."
                )
        self._scopes.append(Condition(parent_name, tuple(parent_values)))
        try:
            yield
        finally:
            self._scopes.pop()

    def _register(self, hp: HyperParameter) -> Any:
        name = hp.name
        existing = self._space.get(name)
        if existing is None or name in self._inherited:  # first defined here
            admit = getattr(self._new_value, "admit", None)
            if admit is not None:
                admit(hp)
        if existing is not None and name in self._locked:
            hp = existing  # the declared definition wins over the code's (Keras Tuner's rule)
        elif existing is not None and not existing.same_definition(hp):
            if name not in self._inherited:
                raise ValueError(
                    f"Hyperparameter {name!r} is already defined as {existing.describe()}; "
                    f"it cannot be redefined as {hp.describe()}. Use one definition per name."
                )
            self.changes.append((existing, hp))
            self._space[name] = hp
            stale = name in self._assigned and not hp.contains(self._assigned[name])
            if stale and name not in self._pinned:  # a value the user assigned is kept
                del self._assigned[name]
        elif existing is None:
            self._space[name] = hp
        self._inherited.discard(name)
        if not self.is_active(hp):
            return None
        if name not in self._assigned:
            self._assigned[name] = plain_value(self._new_value(hp))
        return self._assigned[name]

    def _conditions(self) -> tuple[Condition, ...]:
        return tuple(self._scopes)

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
                    name,
                    min_value,
                    max_value,
                    step=step,
                    sampling=sampling,
                    default_value=default,
                    conditions=self._conditions(),
                )
            )

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
                    name,
                    min_value,
                    max_value,
                    step=step,
                    sampling=sampling,
                    default_value=default,
                    conditions=self._conditions(),
                )
            )

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
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ValueError(
                f"Hyperparameter {name!r}: values={values!r} is not a list. "
                f"Pass a list, e.g. hp.Choice({name!r}, [1, 2, 3])."
            )
        with self._maybe_scope(parent_name, parent_values):
            return self._register(
                Choice(
                    name,
                    values=tuple(plain_value(v) for v in values),
                    ordered=ordered,
                    default_value=plain_value(default),
                    conditions=self._conditions(),
                )
            )

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
                Boolean(name, default_value=default, conditions=self._conditions())
            )

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
                Fixed(name, value=plain_value(value), conditions=self._conditions())
            )

    @contextlib.contextmanager
    def _maybe_scope(self, parent_name: str | None, parent_values: Any) -> Iterator[None]:
        if parent_name is None:
            yield
            return
        with self.conditional_scope(parent_name, parent_values):
            yield

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """``{"space": [{"class_name": ..., "config": ...}], "values": {...}}`` (Keras Tuner's shape)."""
        return {
            "space": [hyperparameter_to_config(hp) for hp in self._space.values()],
            "values": dict(self.values),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HyperParameters:
        space = [hyperparameter_from_config(c) for c in config.get("space", [])]
        return cls.for_trial(space, dict(config.get("values", {})), inherited=False)
