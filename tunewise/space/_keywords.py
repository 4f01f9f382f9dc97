"""One clear line for a call whose arguments do not fit: "did you mean" and habit hints.

:func:`explained_arguments` wraps a function (or a class's ``__init__``) so that a call
Python refuses to bind (an unknown keyword, a missing or extra argument) raises one error
that names the callable, what was wrong, and the fix: the hint of a known habit
(``low=`` for ``min_value=``, Optuna's ``n_trials=``), else the closest real parameter name
(``difflib``), else the parameters it takes. A call that binds runs unchanged, at no cost;
the wrapped function keeps its signature (``inspect.signature`` follows ``__wrapped__``).
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _label(fn: Callable[..., Any]) -> str:
    qualname = getattr(fn, "__qualname__", getattr(fn, "__name__", "the function"))
    qualname = qualname.removesuffix(".__init__")
    return f"{qualname}()"


def _public_signature(sig: inspect.Signature) -> inspect.Signature:
    """``sig`` without ``self`` and without annotations (as a user writes the call)."""
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    bare = [p.replace(annotation=inspect.Parameter.empty) for p in params]
    return sig.replace(parameters=bare, return_annotation=inspect.Signature.empty)


def _keyword_names(sig: inspect.Signature) -> list[str]:
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in sig.parameters.values() if p.kind in kinds]


def explain_call(
    fn: Callable[..., Any],
    sig: inspect.Signature,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    problem: str,
    hints: Mapping[str, str],
) -> str:
    """The one line for a call of ``fn`` that does not bind to ``sig``; ``problem`` is
    Python's own message."""
    label = _label(fn)
    shown = _public_signature(sig)
    names = _keyword_names(shown)
    unknown = [k for k in kwargs if k not in sig.parameters]
    parts = []
    helped = True  # every unknown keyword got a hint or a "did you mean"
    for key in unknown:
        if key in hints:
            parts.append(f"{label} got an unexpected keyword argument {key!r}: {hints[key]}")
            continue
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        if close:
            parts.append(
                f"{label} got an unexpected keyword argument {key!r}; did you mean {close[0]!r}?"
            )
        else:
            parts.append(f"{label} got an unexpected keyword argument {key!r}.")
            helped = False
    if not parts:  # a missing, extra or doubled argument: Python's words, the callable named
        text = problem.split("() ", 1)[1] if "() " in problem else problem
        parts.append(f"{label} {text}.")
        helped = False
    line = " ".join(parts)
    return line if helped else f"{line} It takes {label[:-2]}{shown}."


def explained_arguments(
    hints: Mapping[str, str] | None = None, error: type[Exception] = TypeError
) -> Callable[[F], F]:
    """Decorate ``fn`` so that a call that does not bind raises ``error`` with
    :func:`explain_call`'s line (``hints``: keyword -> the fix for that habit)."""
    known = dict(hints or {})

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except TypeError as exc:
                try:
                    sig.bind(*args, **kwargs)
                except TypeError:  # the call never reached fn's body: explain it
                    raise error(explain_call(fn, sig, args, kwargs, str(exc), known)) from None
                raise

        return wrapper  # type: ignore[return-value]

    return decorate


#: Other libraries' names for the definitions' keywords (Optuna's suggest_* and habits).
DEFINITION_HINTS: dict[str, str] = {
    "low": "tunewise (as Keras Tuner) calls the lower bound min_value.",
    "high": "tunewise (as Keras Tuner) calls the upper bound max_value.",
    "log": 'pass sampling="log" (or "linear", "reverse_log").',
    "q": "tunewise calls the grid spacing step.",
    "choices": "tunewise (as Keras Tuner) calls the list of values values: "
    "hp.Choice(name, values=[...]).",
    "min": "tunewise (as Keras Tuner) calls the lower bound min_value.",
    "max": "tunewise (as Keras Tuner) calls the upper bound max_value.",
}
