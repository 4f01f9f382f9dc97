"""TensorBoard runs per trial and execution, with the HParams plugin's data, as Keras Tuner does.

A ``keras.callbacks.TensorBoard(log_dir)`` passed to ``search`` is copied for every execution
(one ``fit``) of every trial and writes to its own run, ``<log_dir>/<trial_id>/execution<k>``
(``trial_id`` is ``"00"``, ``"01"``, ...; ``k`` counts the trial's executions from 0), so Keras
puts the epoch scalars in that run's ``train`` and ``validation`` sub-runs.

When ``tensorboard`` (and the TensorFlow it writes with) can be imported, each execution run also
gets the HParams plugin's session data: at the start of ``fit`` the trial's active
hyperparameter values (named as in the search space, ``trial_id`` as the session group, so a
trial's executions form one group), and at its end the session's end. TensorBoard's HParams
dashboard then lists every trial with its values, and takes its metrics from the runs' scalars
(the objective ``val_loss`` is ``epoch_loss`` in the ``validation`` group). The hyperparameters
are keyed by ``HParam`` objects whose domain comes from the tunewise definition (see
:func:`hparam_domain`); TensorBoard's session summaries store the values only, and its
dashboard infers the domains from them, as with Keras Tuner.

Without ``tensorboard`` the runs are still written (by Keras' own callback) and the tuner says
once per search that the HParams data needs ``pip install tensorboard``.
"""

from __future__ import annotations

import functools
import os
import weakref
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...engine import ConsoleReporter
    from ...space import HyperParameter, HyperParameters
    from ...trial import Trial

#: A grid with more values than this gets an interval domain instead of a list of values.
MAX_DISCRETE_VALUES = 1000

# The search (its fit kwargs, compared by identity) each reporter last noted the missing
# HParams for: one note per search. Weak keys: a reporter's entry goes with its tuner.
_NOTED: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def run_dir(log_dir: str | os.PathLike[str], trial_id: str, execution: int) -> str:
    """The TensorBoard run of one execution: ``<log_dir>/<trial_id>/execution<execution>``.

    ``execution`` is the 0-based index of the ``fit`` within the trial.
    """
    if isinstance(execution, bool) or not isinstance(execution, int) or execution < 0:
        raise ValueError(f"execution={execution!r} must be an int >= 0 (0 is the first fit).")
    return os.path.join(os.fspath(log_dir), str(trial_id), f"execution{execution}")


def load_hparams_api() -> tuple[ModuleType | None, str | None]:
    """``(tensorboard.plugins.hparams.api, None)``, or ``(None, why)`` when it cannot be
    imported (``why`` names the missing package)."""
    try:
        from tensorboard.plugins.hparams import api
    except ImportError as exc:  # tensorboard, or the TensorFlow it writes with, is missing
        missing = getattr(exc, "name", None) or "tensorboard"
        return None, f"{missing} cannot be imported ({exc})"
    return api, None


def _grid(hp: Any) -> list[Any] | None:
    size = hp.grid_size
    if size is None or size > MAX_DISCRETE_VALUES:
        return None
    return [hp.grid_value(i) for i in range(size)]


def hparam_domain(hp: HyperParameter, api: ModuleType) -> Any:
    """The TensorBoard domain of a tunewise hyperparameter definition.

    ``Choice``: ``Discrete`` of its values; ``Boolean``: ``Discrete([True, False])``;
    ``Fixed``: ``Discrete([value])``; ``Int``: ``IntInterval(min, max)`` when every integer
    of the range can be drawn (step 1, or no step), else ``Discrete`` of its grid (``min,
    min+step, ...``, or ``min, min*step, ...`` with log sampling); ``Float``: ``RealInterval(min,
    max)`` without a step, else ``Discrete`` of its grid. A grid of more than
    ``MAX_DISCRETE_VALUES`` values gets the interval instead.
    """
    from ...space import Boolean, Choice, Fixed, Float, Int

    if isinstance(hp, Choice):
        return api.Discrete(list(hp.values))
    if isinstance(hp, Boolean):
        return api.Discrete([True, False])
    if isinstance(hp, Fixed):
        return api.Discrete([hp.value])
    if isinstance(hp, Int):
        every_integer = hp.step is None or (hp.step == 1 and hp.sampling != "log")
        values = None if every_integer else _grid(hp)
        if values is None:
            return api.IntInterval(int(hp.min_value), int(hp.max_value))
        return api.Discrete(values)
    if isinstance(hp, Float):
        values = None if hp.step is None else _grid(hp)
        if values is None:
            return api.RealInterval(float(hp.min_value), float(hp.max_value))
        return api.Discrete(values)
    raise TypeError(
        f"Hyperparameter {hp.name!r} is a {type(hp).__name__}, which has no TensorBoard "
        "domain; tunewise defines Int, Float, Choice, Boolean and Fixed."
    )


def _plain(value: Any) -> bool | int | float | str:
    """A value TensorBoard can store (bool, int, float or str); anything else as its str."""
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def convert_hyperparams_to_hparams(hyperparameters: HyperParameters, api: ModuleType) -> dict:
    """The trial's active hyperparameters as ``{api.HParam(name, domain): value}``, in the
    order of the search space. A value set for a name without a definition, or of a type
    TensorBoard cannot store (it stores bool, int, float and str; such a value is written as
    its ``str``), gets an ``HParam`` without a domain. ``api`` is
    ``tensorboard.plugins.hparams.api``."""
    definitions = {hp.name: hp for hp in hyperparameters.space}
    out = {}
    for name, value in dict(hyperparameters.values).items():
        hp = definitions.get(name)
        plain = _plain(value)
        domain = None if hp is None or plain is not value else hparam_domain(hp, api)
        out[api.HParam(name, domain)] = plain
    return out


@functools.cache
def _callback_class(keras: ModuleType) -> type:
    """The Keras callback that writes one execution run's HParams session (one per Keras)."""

    class HParamsSession(keras.callbacks.Callback):
        """Writes the HParams session start (values, group = trial id) to ``logdir`` when
        ``fit`` begins, and the session's end when it ends. One ``fit`` per instance."""

        def __init__(self, logdir: str, hparams: dict, trial_id: str) -> None:
            super().__init__()
            self.logdir, self.hparams, self.trial_id = logdir, hparams, trial_id
            self._writer: Any = None

        def on_train_begin(self, logs: Any = None) -> None:
            import tensorflow as tf
            from tensorboard.plugins.hparams import api

            self._writer = tf.summary.create_file_writer(self.logdir)
            with self._writer.as_default():
                api.hparams(self.hparams, trial_id=self.trial_id)
            self._writer.flush()

        def on_train_end(self, logs: Any = None) -> None:
            if self._writer is None:
                return
            import tensorflow as tf
            from tensorboard.plugins.hparams import api_pb2, summary

            with self._writer.as_default():
                end = summary.session_end_pb(api_pb2.STATUS_SUCCESS).SerializeToString()
                tf.summary.experimental.write_raw_pb(end, step=0)
            self._writer.close()
            self._writer = None

    return HParamsSession


def hparams_callback(
    keras: ModuleType,
    api: ModuleType,
    logdir: str,
    hyperparameters: HyperParameters,
    trial_id: str,
) -> Any:
    """A Keras callback writing the trial's HParams session to the run ``logdir`` (``api``:
    ``tensorboard.plugins.hparams.api``). The values are taken now (after ``build``)."""
    hparams = convert_hyperparams_to_hparams(hyperparameters, api)
    return _callback_class(keras)(logdir, hparams, trial_id)


def note_missing_once(reporter: ConsoleReporter, search: Any, why: str) -> None:
    """Tell ``reporter`` that the HParams data is not written, once per ``search`` (any
    object that identifies the search, compared by identity)."""
    if reporter in _NOTED and _NOTED[reporter] is search:
        return
    _NOTED[reporter] = search
    reporter.note(
        f"TensorBoard's HParams data is not written ({why}): it needs `pip install tensorboard`"
        " (with TensorFlow). Each trial's runs are still written to <log_dir>/<trial_id>/"
        "execution<k>."
    )


def configure_run(
    keras: ModuleType,
    callback: Any,
    trial: Trial,
    execution: int,
    reporter: ConsoleReporter,
    search: Any,
) -> list[Any]:
    """Point a (copied) TensorBoard ``callback`` at the execution's run and return the
    callbacks to add after it: the HParams session writer, or none (with the note, once per
    ``search``, when ``tensorboard`` cannot be imported)."""
    logdir = run_dir(callback.log_dir, trial.trial_id, execution)
    callback.log_dir = logdir
    api, why = load_hparams_api()
    if api is None:
        note_missing_once(reporter, search, why or "tensorboard cannot be imported")
        return []
    return [hparams_callback(keras, api, logdir, trial.hyperparameters, trial.trial_id)]
