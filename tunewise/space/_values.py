"""``hp.values``: the live dict of a container's active values (Keras Tuner's plain dict
attribute, kept in step with the container)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._container import HyperParameters


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
