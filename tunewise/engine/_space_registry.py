"""The space registry: every hyperparameter definition a study has seen, stored with it.

Definitions arrive three ways: declared up front (``Study(hyperparameters=...)``, whose names
are the *declared* ones for ``tune_new_entries``/``allow_new_entries``), registered by an
integration building its model once (:meth:`SpaceRegistry.merge`), and met while trials run
(define-by-run: the trial's container reports them when it finishes or reports a step). The
registry stores the union with the study and reloads what other workers stored.

Declared definitions win, as Keras Tuner's ``hyperparameters=`` override does: a model that
defines a declared name otherwise (another range, or a tuned ``hp.Int`` where a ``Fixed`` was
declared) gets the declared definition's value, and merging never replaces a declared
definition. With ``allow_new_entries=False`` a model that defines an undeclared name stops
the search (:class:`~tunewise.errors.FatalRuntimeError`, a RuntimeError as Keras Tuner raises).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import FatalRuntimeError
from ..samplers import Sampler
from ..space import HyperParameter, hyperparameter_from_config, hyperparameter_to_config
from ..storage import Storage

Change = tuple["HyperParameter | None", HyperParameter]


class SpaceRegistry:
    """The definitions of study ``study_id``, in registration order.

    ``warn(text)`` and ``events`` receive what the user is told when a stored definition
    changes (the study's reporter and event list).
    """

    def __init__(
        self,
        storage: Storage,
        study_id: Any,
        stored: Sequence[dict[str, Any]],
        warn: Callable[[str], None],
        events: list[dict[str, Any]],
    ) -> None:
        self.storage, self.study_id = storage, study_id
        self._warn, self._events = warn, events
        self._space: dict[Any, HyperParameter] = {}  # by hp.key: (name, conditions)
        self._load(stored)
        self.declared: set[str] = set()
        """Names given up front (``hyperparameters=``); empty when none were."""

    def _load(self, stored: Sequence[dict[str, Any]]) -> None:
        for config in stored:
            hp = hyperparameter_from_config(config)
            self._space.setdefault(hp.key, hp)

    @property
    def space(self) -> list[HyperParameter]:
        return list(self._space.values())

    def get(self, name: str) -> HyperParameter | None:
        return next((hp for hp in self._space.values() if hp.name == name), None)

    def declare(self, space: Sequence[HyperParameter]) -> None:
        """Register ``space`` as the declared hyperparameters (``hyperparameters=``); their
        definitions replace stored ones and are final (see the module docstring)."""
        self.declared = {hp.name for hp in space}
        self._merge(space, [], keep_declared=False)

    def tunable(self, tune_new_entries: bool) -> list[HyperParameter]:
        """The part of the space samplers choose values for."""
        if tune_new_entries or not self.declared:
            return self.space
        return [hp for hp in self._space.values() if hp.name in self.declared]

    def reload(self) -> bool:
        """Add definitions other workers stored; True when the space grew."""
        before = len(self._space)
        self._load(self.storage.get_space(self.study_id))
        return len(self._space) > before

    def merge(self, space: Sequence[HyperParameter], changes: Sequence[Change]) -> None:
        """Add or replace definitions and store the space if it changed.

        ``changes`` are (stored definition, new definition) pairs a trial met: each changed
        stored definition is reported once (the warning and a ``space_changed`` event).
        Declared definitions are kept: the code's other definitions of them are ignored.
        """
        self._merge(space, changes, keep_declared=True)

    def _merge(
        self, space: Sequence[HyperParameter], changes: Sequence[Change], keep_declared: bool
    ) -> None:
        kept = self.declared if keep_declared else set()
        changed = False
        for old, new in changes:
            if new.name in kept:
                continue
            if old is not None and self._space.get(new.key) == old:
                self._events.append(
                    {
                        "event": "space_changed",
                        "name": new.name,
                        "old": old.describe(),
                        "new": new.describe(),
                    }
                )
                self._warn(
                    f"Search space changed since the stored study: {new.name!r} was "
                    f"{old.describe()}, now {new.describe()}. Stored trials keep their values "
                    "and their ranking; new trials sample the new definition."
                )
        for hp in space:
            if hp.name in kept and self.get(hp.name) is not None:
                continue
            if self._space.get(hp.key) != hp:
                self._space[hp.key] = hp
                changed = True
        if changed:
            self.storage.save_space(
                self.study_id, [hyperparameter_to_config(hp) for hp in self._space.values()]
            )

    def new_value_hook(
        self,
        sampler: Sampler,
        rng: np.random.Generator,
        tune_new_entries: bool,
        allow_new_entries: bool,
    ) -> Callable[[HyperParameter], Any]:
        """The value of a hyperparameter first met while a trial runs (define-by-run)."""
        return NewValue(self.declared, tune_new_entries, allow_new_entries, sampler, rng)

    def defaults_hook(self, allow_new_entries: bool) -> Callable[[HyperParameter], Any]:
        """The hook of a build with default values (a tuner registering its space): declared
        definitions win, each new name gets its default (or is refused, by
        ``allow_new_entries``)."""
        return DefaultValue(self.declared, allow_new_entries)


class NewValue:
    """A picklable define-by-run hook (it travels with a trial to a worker process or a
    Ray task): undeclared names follow ``allow_new_entries``/``tune_new_entries``, the rest
    get the sampler's value.

    ``declared`` also tells the trial's container which definitions are final, and
    :meth:`admit` is called for each name the code defines (see ``space._container``)."""

    def __init__(
        self,
        declared: set[str],
        tune_new: bool,
        allow_new: bool,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> None:
        self.declared, self.tune_new, self.allow_new = set(declared), tune_new, allow_new
        # The base rule needs no sampler state; only a sampler with its own rule travels.
        own_rule = type(sampler).new_value is not Sampler.new_value
        self.sampler = sampler if own_rule else None
        self.rng = rng

    def admit(self, hp: HyperParameter) -> None:
        """Refuse a name outside the declared ones when ``allow_new_entries=False``: the
        search stops (Keras Tuner raises a RuntimeError), whatever value the sampler had."""
        if self.declared and not self.allow_new and hp.name not in self.declared:
            declared = ", ".join(repr(n) for n in sorted(self.declared))
            raise FatalRuntimeError(
                f"Hyperparameter {hp.name!r} ({hp.describe()}) is not in the declared "
                f"hyperparameters ({declared}) and allow_new_entries=False (Keras Tuner: "
                "`allow_new_entries` is `False`). Declare it in "
                "hyperparameters=, or pass allow_new_entries=True."
            )

    def __call__(self, hp: HyperParameter) -> Any:
        if self.declared and hp.name not in self.declared:
            self.admit(hp)
            if not self.tune_new:
                return hp.default
        if self.sampler is not None:
            return self.sampler.new_value(hp, self.rng)
        return hp.from_unit(self.rng.random())


class DefaultValue(NewValue):
    """:class:`NewValue` for a build with default values: every value is the default."""

    def __init__(self, declared: set[str], allow_new: bool) -> None:
        self.declared, self.tune_new, self.allow_new = set(declared), False, allow_new
        self.sampler, self.rng = None, None

    def __call__(self, hp: HyperParameter) -> Any:
        if self.declared and hp.name not in self.declared:
            self.admit(hp)
        return hp.default
