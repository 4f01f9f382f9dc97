"""What every foreign reader shares: its error, and the ``settings["foreign"]`` it writes."""

from __future__ import annotations

from typing import Any

from ..storage import StorageError

#: The key of a foreign history's settings that says where it came from.
FOREIGN = "foreign"


class ForeignSourceError(StorageError):
    """A Keras Tuner project or an Optuna storage that cannot be read as it is: one line,
    naming the file and the fix (the command line exits 2)."""

    user_mistake = True


def foreign_info(history: Any) -> dict[str, Any]:
    """``settings["foreign"]`` of a history (empty for a tunewise study): ``kind``
    (``"keras_tuner"`` or ``"optuna"``), ``source``, ``not_run`` and the reader's notes."""
    info = getattr(history, "settings", {}).get(FOREIGN)
    return info if isinstance(info, dict) else {}


def not_run(history: Any) -> list[str]:
    """One line for each group of the doctor's checks that the stored facts of a foreign
    search cannot feed, and why (empty for a tunewise study)."""
    return [str(line) for line in foreign_info(history).get("not_run", [])]


# ---------------------------------------------------------------------- shared lines
NO_RUN_LOG = (
    "no run log: {tool} stores neither the trial budget (max_trials) nor why the search "
    "stopped, so the 'cut while improving' part of budget-too-small, search-space-exhausted "
    "and resumed-finished-project did not run"
)
