"""The ``tunewise`` command: read stored searches without the script that ran them.

    tunewise list PATH                     studies stored at PATH
    tunewise summary PATH [--study S]      the best trials of each study
    tunewise trials PATH [--state STATE]   every trial (completed, failed, pruned, running);
                                           --front: the Pareto front, with each objective
    tunewise doctor PATH [--json]          why each study's best objective is (not) improving;
                                           PATH may be a Keras Tuner project directory or an
                                           Optuna storage too (--fail-on warning|problem: exit 1
                                           when a finding that severe or worse exists, for CI)
    tunewise export PATH --csv FILE        the trials as CSV (--json FILE for JSON; --history
                                           for one row per step; FILE "-" is standard output)
    tunewise report PATH -o report.html    a self-contained HTML report (plots, findings)
    tunewise dashboard PATH [--port 8050]  a live read-only dashboard on http://127.0.0.1:PORT/
    tunewise import PATH [--to URL]        copy a Keras Tuner project or an Optuna study into
                                           tunewise storage, to resume it with tunewise (the
                                           only verb that writes; it never writes PATH)

PATH is a project directory (holding ``tunewise.db``), a directory of projects, a SQLite file,
or a database URL (``postgresql://...``). ``python -m tunewise`` is the same command.
``doctor`` and ``import`` also read other tuners' searches, read-only: a Keras Tuner project
directory (``<directory>/<project_name>`` with ``oracle.json``, or the ``directory`` of
several), and an Optuna storage (``sqlite:///optuna.db``, ``postgresql://...``); a path that
holds a tunewise database is read as tunewise's.

Every error is one line on standard error (which file or URL, what is wrong, what to do), with
no traceback; ``--debug`` (before or after the command) prints the traceback too.

Exit status: 0 done; 1 a failure (the database could not be read, a full disk, an unexpected
error), ``trials`` matched no trial, or ``doctor --fail-on`` found a finding of that severity
or worse; 2 a user mistake (a wrong path or URL, not a tunewise
database, an unknown study, an unwritable file, a bad or busy port); 3 an optional dependency
is missing (the line says what to install).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

if TYPE_CHECKING:  # the storage (and SQLAlchemy) load when a command runs, not for --help
    from .diagnostics import SearchHistory
    from .storage import Storage, StudyRecord


class UserError(Exception):
    """A mistake in the command line: printed as one line, exit status 2."""


class CommandFailure(Exception):
    """A failure the command line did not cause (a full disk, an I/O error): one line, exit
    status 1."""


#: ``errno`` values of an ``OSError`` that are failures of the machine, not user mistakes.
_FAILURE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EIO", "EDQUOT") if hasattr(errno, name)
)

_SOURCE_HINT = "Pass a project directory, a .db file or a database URL."


def _file_in_the_way(path: str) -> str | None:
    """The nearest existing ancestor directory of ``path`` when it is a file (so ``path``
    cannot exist), else None."""
    parent = os.path.dirname(os.path.abspath(path))
    while parent and not os.path.lexists(parent):
        if os.path.dirname(parent) == parent:
            return None
        parent = os.path.dirname(parent)
    return parent if parent and not os.path.isdir(parent) else None


def _missing(path: str) -> NoReturn:
    """Raise the UserError for a PATH that is neither a file nor a folder."""
    blocker = _file_in_the_way(path)
    if blocker is not None:
        raise UserError(
            f"{path!r} cannot exist: {blocker!r} is a file, not a folder. {_SOURCE_HINT}"
        )
    raise UserError(f"{path!r} does not exist. {_SOURCE_HINT}")


def find_databases(path: str) -> list[str]:
    """The storage URLs PATH designates (see the module docstring); a UserError, naming
    PATH, when it designates none."""
    from .storage import DB_FILENAME

    if "://" in path:
        return [path]  # the storage checks it (scheme, driver, file) in one line
    if os.path.isfile(path):
        return [f"sqlite:///{os.path.abspath(path)}"]
    if os.path.isdir(path):
        direct = os.path.join(path, DB_FILENAME)
        if os.path.isfile(direct):
            return [f"sqlite:///{os.path.abspath(direct)}"]
        nested = sorted(
            os.path.join(path, d, DB_FILENAME)
            for d in os.listdir(path)
            if os.path.isfile(os.path.join(path, d, DB_FILENAME))
        )
        if nested:
            return [f"sqlite:///{os.path.abspath(p)}" for p in nested]
        from .foreign._detect import keras_tuner_projects

        hint = (
            " It holds a Keras Tuner project: 'tunewise doctor PATH' diagnoses it and "
            "'tunewise import PATH' copies it into tunewise storage."
            if keras_tuner_projects(path) else ""
        )
        raise UserError(
            f"No tunewise project at {path!r}: neither {direct!r} nor any "
            f"{os.path.join(path, '*', DB_FILENAME)!r} exists.{hint}"
        )
    _missing(path)


def open_studies(path: str, study: str | None) -> list[tuple[Storage, StudyRecord]]:
    """The (storage, study) pairs at PATH, the most recent study first; only ``study`` when
    given. A UserError when there is none."""
    from .storage import SQLStorage

    found = []
    names: list[str] = []
    for url in find_databases(path):
        storage = SQLStorage(url, read_only=True)
        for record in reversed(storage.list_studies()):  # the most recent first
            names.append(record.name)
            if study is None or record.name == study:
                found.append((storage, record))
    if found:
        return found
    if not names:
        raise UserError(
            f"No study stored at {path!r}: it holds no search yet (run one with this storage "
            "first)."
        )
    shown = ", ".join(map(repr, names[:10])) + (f" and {len(names) - 10} more" if len(names) > 10
                                                else "")
    raise UserError(
        f"No study named {study!r} at {path!r}; it holds {shown}. Pass one of them to "
        "--study, or leave --study out for all."
    )


def _cmd_list(args: argparse.Namespace) -> int:
    for storage, record in open_studies(args.path, None):
        trials = storage.get_trials(record.id)
        signature = record.settings.get("signature", {})
        objective = signature.get("objective", {})
        print(
            f"{record.name}\t{signature.get('algorithm', '?')}\t"
            f"{objective.get('name', 'multi_objective')}\t{len(trials)} trials\t{storage.location}"
        )
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from .diagnostics import SearchHistory
    from .engine import ResultsSummary

    for storage, record in open_studies(args.path, args.study):
        history = SearchHistory.from_record(storage, record)
        summary = ResultsSummary(
            objective=history.objective,
            study_name=record.name,
            location=storage.location,
            trials=list(history.trials),
            ranked=history.ranked,
            num_trials=args.num_trials,
            space=list(history.space),
        )
        print(summary, end="\n\n")
    return 0


def open_histories(
    path: str,
    study: str | None,
    objective: str | None = None,
    logs: Sequence[str] = (),
) -> list[SearchHistory]:
    """The searches at PATH as histories: tunewise's studies, a Keras Tuner project's and an
    Optuna storage's (those read-only; see the module docstring). A folder of projects holds
    either kind in each project folder: one with a ``tunewise.db`` is tunewise's (an imported
    Keras Tuner project included), else one with an ``oracle.json`` is Keras Tuner's."""
    from .diagnostics import SearchHistory
    from .foreign import KERAS_TUNER, OPTUNA, detect, read_foreign
    from .foreign._detect import keras_tuner_projects
    from .foreign._optuna import tables_at
    from .storage import DB_FILENAME

    def tunewise_at(where: str) -> list[SearchHistory]:
        return [SearchHistory.from_record(s, r) for s, r in open_studies(where, None)]

    if not os.path.isdir(path):
        kind = detect(path)
    elif os.path.isfile(os.path.join(path, DB_FILENAME)):
        kind = None  # tunewise's (an imported Keras Tuner project resumed by tunewise too)
    else:
        projects = keras_tuner_projects(path)
        kind = KERAS_TUNER if projects else None
        if projects and projects != [path]:  # a folder of projects: each of its own kind
            found: list[SearchHistory] = []
            if any(os.path.isfile(os.path.join(path, d, DB_FILENAME)) for d in os.listdir(path)):
                found += tunewise_at(path)
            for p in projects:
                if not os.path.isfile(os.path.join(p, DB_FILENAME)):
                    found += read_foreign(p, objective=objective, logs=logs)
            return _only(found, study, path)
    if kind != KERAS_TUNER and (objective is not None or logs):
        raise UserError(
            f"--objective and --logs read a Keras Tuner project; {path!r} is not one."
        )
    if kind is None:
        return [SearchHistory.from_record(s, r) for s, r in open_studies(path, study)]
    if kind == OPTUNA and "://" in path and "tunewise_meta" in tables_at(path):
        # a server database holding both: tunewise's studies and Optuna's, by name
        return _only(tunewise_at(path) + read_foreign(path), study, path)
    return read_foreign(path, study, objective=objective, logs=logs)


def _only(found: list[SearchHistory], study: str | None, path: str) -> list[SearchHistory]:
    """The histories named ``study`` (all without one); a UserError naming those there are."""
    chosen = [h for h in found if study is None or h.study_name == study]
    if chosen:
        return chosen
    names = ", ".join(repr(h.study_name) for h in found[:10]) or "none"
    raise UserError(
        f"No study named {study!r} at {path!r}; it holds {names}. Pass one of them to "
        "--study, or leave --study out for all."
    )


def _source_lines(history: SearchHistory) -> list[str]:
    """What the doctor says under a foreign search's report: where it was read from, the
    reader's notes, and the checks the stored facts could not feed."""
    from .foreign import foreign_info, not_run

    info = foreign_info(history)
    if not info:
        return []
    kind = {"keras_tuner": "a Keras Tuner project", "optuna": "an Optuna storage"}.get(
        str(info.get("kind")), str(info.get("kind")))
    source = str(info.get("source"))
    if os.path.isabs(source) and source.startswith(os.getcwd() + os.sep):
        source = os.path.relpath(source)  # under the current folder: as short as given
    lines = ["", f"Read from {kind} (read-only): {source}"]
    lines += [f"  note: {n}" for n in info.get("notes", [])]
    missing = not_run(history)
    if missing:
        lines.append("Checks that could not run:")
        lines += [f"  - {m}" for m in missing]
    return lines


#: ``--fail-on`` levels: the severities that fail the command at each.
_FAIL_ON = {"warning": ("problem", "warning"), "problem": ("problem",)}


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .diagnostics import diagnose_history
    from .foreign import foreign_info, not_run

    histories = open_histories(args.path, args.study, args.objective, args.logs or ())
    reports = [(h, diagnose_history(h)) for h in histories]
    if args.json:
        out = []
        for h, r in reports:
            entry = r.to_dict()
            info = foreign_info(h)
            if info:
                entry["source"] = {"kind": info.get("kind"), "location": info.get("source"),
                                   "notes": info.get("notes", [])}
                entry["not_run"] = not_run(h)
            out.append(entry)
        print(json.dumps(out, indent=2, default=str))
    else:
        print("\n\n".join("\n".join([str(r), *_source_lines(h)]) for h, r in reports))
    if args.fail_on:
        failing = [f for _, r in reports for f in r.findings if f.severity in _FAIL_ON[args.fail_on]]
        if failing:
            codes = ", ".join(dict.fromkeys(f.code for f in failing))
            print(f"tunewise doctor: --fail-on {args.fail_on}: {len(failing)} finding"
                  f"{'s' if len(failing) != 1 else ''} at {args.fail_on} or worse ({codes})",
                  file=sys.stderr)
            return 1
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from .foreign import default_target, detect, foreign_info, import_search, read_foreign

    if detect(args.path) is None:
        raise UserError(
            f"{args.path!r} is neither a Keras Tuner project directory (with oracle.json) nor "
            "an Optuna storage: 'tunewise import' copies one of those into tunewise storage."
        )
    histories = read_foreign(args.path, args.study, objective=args.objective,
                             logs=args.logs or ())
    if args.as_name and len(histories) > 1:
        raise UserError(
            f"--as names one study, and {args.path!r} holds {len(histories)}: pick one with "
            "--study."
        )
    for history in histories:
        target = args.to or default_target(history)
        if target is None:
            raise UserError(
                f"Pass --to URL (a tunewise storage such as sqlite:///tunewise.db): "
                f"{args.path!r} is a server database, with no folder to put one beside."
            )
        source = str(foreign_info(history).get("source"))
        if _same_database(target, args.path, source):
            raise UserError(
                f"--to {target!r} is the source itself: tunewise never writes into another "
                "program's storage; pass another --to."
            )
        result = import_search(history, target, args.as_name, args.algorithm)
        extra = []
        if result.reruns:
            extra.append(f"{result.reruns} re-run{'s' if result.reruns != 1 else ''} waiting")
        if result.skipped:
            extra.append(f"{result.skipped} waiting trials not copied")
        print(f"Imported {result.imported} trials of {source} into study {result.study!r} in "
              f"{result.target}" + (f" ({'; '.join(extra)})" if extra else "") + ".")
        for note in result.notes:
            print(f"  {note}")
    return 0


def _same_database(target: str, path: str, source: str) -> bool:
    """Whether the ``--to`` URL names the source's own file or database."""
    from .storage._open import parse_url
    from .storage._sqlite_open import sqlite_file

    try:
        url = parse_url(target)
    except Exception:  # noqa: BLE001 - the storage says what is wrong with it
        return False
    if url.get_backend_name() == "sqlite":
        file = sqlite_file(url)
        candidates = {os.path.abspath(p) for p in (path, source) if "://" not in p}
        if "://" in path:
            with contextlib.suppress(Exception):
                candidates.add(str(sqlite_file(parse_url(path))))
        return file is not None and os.path.abspath(file) in candidates
    return "://" in path and parse_url(path) == url


def _cmd_trials(args: argparse.Namespace) -> int:
    from .diagnostics import SearchHistory
    from .engine._frames import json_safe
    from .report._summary import trials_table

    matched = 0
    out: list[dict[str, object]] = []
    for storage, record in open_studies(args.path, args.study):
        history = SearchHistory.from_record(storage, record)
        table = trials_table(history)
        if args.front:
            table = _front_table(history, table)
        state_at = table["columns"].index("state")
        rows = [r for r in table["rows"] if args.state is None or r[state_at] == args.state.upper()]
        matched += len(rows)
        if args.json:
            out += [
                {"study": record.name, **dict(zip(table["columns"], map(json_safe, r)))}
                for r in rows
            ]
            continue
        which = f" {args.state.lower()}" if args.state else ""
        which += f" on the {table['front_of']}" if args.front else ""
        print(f"Study {record.name!r} ({storage.location}): {len(rows)}{which} of "
              f"{len(history.trials)} trials")
        if rows:
            print(_text_table(table["columns"], rows))
        print()
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    return 0 if matched else 1


def _front_table(history: SearchHistory, table: dict[str, Any]) -> dict[str, Any]:
    """``table`` cut to the Pareto front's trials (:func:`tunewise.pareto.pareto_front` under
    the objective's components; one objective: the trials tied at the best), each objective's
    value at the trial's scored step as a column after the state."""
    from .engine._frames import json_safe
    from .objective import components
    from .pareto import pareto_front

    objectives = components(history.objective)
    front = {t.number: t for t in pareto_front(history.trials, objectives)}
    columns = list(table["columns"])
    number_at, after = columns.index("number"), columns.index("state") + 1
    names = [o.name for o in objectives]
    rows = []
    for row in table["rows"]:
        t = front.get(row[number_at])
        if t is None:
            continue
        step = next((s for s in t.steps if s.step == t.best_step), None)
        metrics = step.metrics if step is not None else {}
        rows.append([*row[:after], *(json_safe(metrics.get(n)) for n in names), *row[after:]])
    text = ", ".join(o.describe() for o in objectives)
    return {
        "columns": [*columns[:after], *names, *columns[after:]],
        "rows": rows,
        "front_of": f"Pareto front of {text}" if len(objectives) > 1 else f"best {text}",
    }


def _cell(value: object, width: int = 40) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else ("" if value is None else str(value))
    return text if len(text) <= width else text[: width - 3] + "..."


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    last = len(columns) - 1  # the reason: long, and nothing follows it
    cells = [[_cell(c) for c in columns]] + [
        [_cell(v, 100 if i == last else 40) for i, v in enumerate(r)] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells
    )


def _write_error(path: str, exc: OSError) -> Exception:
    """The one-line error for ``exc`` raised while writing ``path`` ("-": standard output)."""
    shown = "standard output" if path == "-" else repr(path)
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in _FAILURE_ERRNOS:
        return CommandFailure(
            f"Cannot write {shown}: {reason}. Free some space (or pass a file on another "
            "disk) and run it again; the database was not changed."
        )
    if path != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        blocker = _file_in_the_way(path)
        if blocker is not None:
            reason = f"{blocker!r} is a file, not a folder"
        else:
            reason = f"the folder {os.path.dirname(os.path.abspath(path))!r} does not exist"
    return UserError(f"Cannot write {shown}: {reason}. Pass a writable file path.")


@contextlib.contextmanager
def _writing(path: str) -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` into the one-line error of
    :func:`_write_error`, removing the file it left half written if it did not exist."""
    existed = path == "-" or os.path.lexists(path)
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        if not existed:
            with contextlib.suppress(OSError):
                os.remove(path)
        raise _write_error(path, exc) from exc


def _open_output(path: str) -> TextIO:
    if path == "-":
        return sys.stdout
    with _writing(path):
        return open(path, "w", encoding="utf-8", newline="")


def _cmd_export(args: argparse.Namespace) -> int:
    import csv

    from .diagnostics import SearchHistory
    from .engine._frames import history_rows, json_safe, trial_rows

    rows: list[dict[str, object]] = []
    for storage, record in open_studies(args.path, args.study):
        history = SearchHistory.from_record(storage, record)
        found = (
            history_rows(history.trials)
            if args.history
            else trial_rows(history.trials, [hp.name for hp in history.space])
        )
        rows += [{"study": record.name, **r} for r in found]
    target = args.csv or args.json
    with _writing(target):
        stream = _open_output(target)
        try:
            if args.json:
                clean = [{k: json_safe(v) for k, v in r.items()} for r in rows]
                stream.write(json.dumps(clean, indent=2, default=str) + "\n")
            else:
                columns: list[str] = []
                for r in rows:
                    columns += [k for k in r if k not in columns]
                writer = csv.DictWriter(stream, fieldnames=columns)
                writer.writeheader()
                writer.writerows(rows)
            stream.flush()
        finally:
            if stream is not sys.stdout:
                stream.close()
    if target != "-":
        kind = "steps" if args.history else "trials"
        print(f"Wrote {len(rows)} {kind} to {target}", file=sys.stderr)
    return 0


def _require_plots(command: str) -> None:
    """Fail early (exit 3) when the extra ``plots`` is not installed."""
    import importlib

    for module, package in (("matplotlib", "matplotlib"), ("sklearn", "scikit-learn")):
        try:
            importlib.import_module(module)
        except ImportError:
            raise ImportError(
                f"{command} draws its plots with {package}, which is not installed: "
                "pip install 'tunewise[plots]'."
            ) from None


def _cmd_report(args: argparse.Namespace) -> int:
    from .diagnostics import SearchHistory
    from .report import write_report

    _require_plots("tunewise report")

    histories = [
        SearchHistory.from_record(storage, record)
        for storage, record in open_studies(args.path, args.study)
    ]
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
        # before drawing the plots (the slow part): the same line as a failed write
        raise _write_error(args.output, FileNotFoundError(errno.ENOENT, "No such directory"))
    with _writing(args.output):
        write_report(histories, args.output, title=args.title)
    print(f"Wrote the report of {len(histories)} studies to {args.output}")
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from .report import start_dashboard
    from .storage import SQLStorage

    _require_plots("tunewise dashboard")

    storages = [SQLStorage(url, read_only=True) for url in find_databases(args.path)]
    if not any(s.list_studies() for s in storages):
        raise UserError(f"No study stored at {args.path!r}.")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"tunewise dashboard: warning: serving on {args.host}, reachable from other "
              "machines; the dashboard has no authentication.", file=sys.stderr)
    try:
        server = start_dashboard(storages, args.host, args.port, args.refresh, background=False)
    except OSError as exc:
        raise UserError(
            f"Cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. "
            "Pick another port with --port."
        )
    except ValueError as exc:
        raise UserError(str(exc))
    print(f"tunewise dashboard on {server.url} (read-only; Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


_STATES = ("completed", "failed", "pruned", "running")


def _port(text: str) -> int:
    """``--port``'s type: an integer in 0-65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number: pass 0 to 65535 (0 picks a free port)"
        )
    return port


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help').\n")


def package_version() -> str:
    """tunewise's version, from the installed package's metadata (``__version__`` when run
    from a source tree that is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tunewise")
    except PackageNotFoundError:
        from . import __version__

        return __version__


class _VersionAction(argparse.Action):
    """``--version``: print the version and exit; reads the metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: object = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(package_version())
        parser.exit()


_DEBUG_HELP = "on an error, print the traceback too"


def _add_keras_tuner_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--objective", metavar="NAME[:min|max]",
                   help="a Keras Tuner project's objective (default: told from its trials)")
    p.add_argument("--logs", action="append", metavar="DIR",
                   help="a TensorBoard log_dir of a Keras Tuner search, for per-epoch curves "
                   "(the project directory is searched too); repeatable")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tunewise",
        description="Inspect stored tunewise searches.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list the studies stored at PATH")
    p.add_argument("path", help="project directory, directory of projects, .db file or URL")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser("summary", help="print the best trials of each study")
    p.add_argument("path")
    p.add_argument("--study", help="only this study")
    p.add_argument("--num-trials", type=int, default=10, help="trials to show (default 10)")
    p.set_defaults(run=_cmd_summary)

    p = sub.add_parser(
        "doctor",
        help="explain why the best objective is (not) improving",
        description="The doctor's findings for each study at PATH: a tunewise storage, a Keras "
        "Tuner project directory or an Optuna storage (those two read-only, with a line for "
        "each check their stored facts cannot feed). Exit status 0; with --fail-on, 1 when "
        "some finding is at that severity or worse (problem > warning > info).",
    )
    p.add_argument("path", help="tunewise project or database, Keras Tuner project directory, "
                   "or Optuna storage (sqlite:///..., postgresql://...)")
    p.add_argument("--study", help="only this study (an Optuna study, a Keras Tuner project)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--fail-on", choices=tuple(_FAIL_ON), metavar="{warning,problem}",
                   help="exit 1 when a finding of this severity or worse exists (for CI)")
    _add_keras_tuner_options(p)
    p.set_defaults(run=_cmd_doctor)

    p = sub.add_parser(
        "trials",
        help="list every trial (exit 1 when none matches)",
        description="Every trial of each study: state, score, duration, hyperparameters, "
        "epochs run and the first line of a failure or pruning reason.",
    )
    p.add_argument("path")
    p.add_argument("--study", help="only this study")
    p.add_argument("--state", type=str.lower, choices=_STATES, help="only trials in this state")
    p.add_argument("--json", action="store_true", help="print the trials as JSON")
    p.add_argument("--front", action="store_true",
                   help="only the Pareto front (completed, feasible, non-dominated trials), "
                   "with each objective's value")
    p.set_defaults(run=_cmd_trials)

    p = sub.add_parser(
        "export",
        help="write the trials as CSV or JSON",
        description="One row per trial: number, state, score, times, hp_<name> columns and "
        "each metric's last value; with --history one row per reported step.",
    )
    p.add_argument("path")
    p.add_argument("--study", help="only this study")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--csv", metavar="FILE", help="write CSV to FILE ('-': standard output)")
    target.add_argument("--json", metavar="FILE", help="write JSON to FILE ('-': standard output)")
    p.add_argument("--history", action="store_true", help="one row per step (epoch) instead")
    p.set_defaults(run=_cmd_export)

    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report",
        description="One HTML file that opens offline: each study's summary, plots "
        "(optimization history, learning curves, importance, parallel coordinates, slices), "
        "trials table and the doctor's findings. Needs the extra 'plots'.",
    )
    p.add_argument("path")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    p.add_argument("--study", help="only this study")
    p.add_argument("--title", help="the page title")
    p.set_defaults(run=_cmd_report)

    p = sub.add_parser(
        "dashboard",
        help="serve a live read-only dashboard",
        description="A small web app over the storage: the studies, their plots, trials and "
        "findings, refreshed while a search runs. Read-only; bound to 127.0.0.1 by default.",
    )
    p.add_argument("path")
    p.add_argument("--port", type=_port, default=8050,
                   help="port to listen on, 0-65535 (default 8050; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--refresh", type=float, default=2.0, metavar="SECONDS",
                   help="seconds between the page's refreshes (default 2)")
    p.set_defaults(run=_cmd_dashboard)

    p = sub.add_parser(
        "import",
        help="copy a Keras Tuner project or an Optuna study into tunewise storage",
        description="Copy a foreign search (read-only: PATH is never written) into a tunewise "
        "storage, as a study a tunewise search resumes. A Keras Tuner project "
        "<directory>/<project_name> goes by default to <directory>/<project_name>/tunewise.db, "
        "where tunewise's tuners with the same directory and project_name find it (its trials "
        "count toward max_trials, as Keras Tuner's reload counts them); an Optuna study to "
        "tunewise.db beside its SQLite file, or --to.",
    )
    p.add_argument("path", help="Keras Tuner project directory, or Optuna storage")
    p.add_argument("--to", metavar="URL", help="the tunewise storage to write (default: see above)")
    p.add_argument("--study", help="only this study (an Optuna study, a Keras Tuner project)")
    p.add_argument("--as", dest="as_name", metavar="NAME",
                   help="the name of the study made (default: the source's name)")
    p.add_argument("--algorithm",
                   choices=("random", "grid", "bayesian", "tpe", "gp", "auto"),
                   help="the algorithm of the search that resumes it (its signature; default: "
                   "a Keras Tuner project's, told from oracle.json; tpe for Optuna)")
    _add_keras_tuner_options(p)
    p.set_defaults(run=_cmd_import)
    for verb in sub.choices.values():  # --debug after the command too; unset, the global one
        verb.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                          help=_DEBUG_HELP)
    return parser


def _one_line(text: str) -> str:
    """``text`` on one line: SQLAlchemy's "Background on this error" links dropped, newlines
    and runs of spaces made single spaces."""
    text = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)
    return " ".join(text.split())


def _storage_errors() -> tuple[type[BaseException], ...]:
    """The storage's error classes, if the storage was imported (else none can be raised)."""
    storage = sys.modules.get(f"{__package__}.storage")
    names = ("StorageError", "SchemaVersionError")
    return tuple(getattr(storage, n) for n in names if hasattr(storage, n))


def explain(exc: BaseException, command: str) -> tuple[int, str]:
    """The exit status and the one line (without the ``tunewise COMMAND:`` prefix) for an
    exception a command raised; an unexpected one gets the ``failed`` line, status 1."""
    if isinstance(exc, UserError):
        return 2, _one_line(str(exc))
    if isinstance(exc, CommandFailure):
        return 1, _one_line(str(exc))
    if isinstance(exc, _storage_errors()):
        return (2 if getattr(exc, "user_mistake", True) else 1), _one_line(str(exc))
    if isinstance(exc, ImportError):
        return 3, _one_line(str(exc))
    if isinstance(exc, OSError) and exc.filename is not None:
        names = " -> ".join(repr(os.fsdecode(f)) for f in (exc.filename, exc.filename2) if f)
        reason = exc.strerror or str(exc)
        code = 1 if exc.errno in _FAILURE_ERRNOS else 2
        return code, _one_line(f"{names}: {reason}. {_SOURCE_HINT}")
    detail = _one_line(str(exc))
    kind = type(exc).__name__ + (f": {detail}" if detail else "")
    return 1, f"failed: {kind}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status
    (argparse's own errors, ``--help`` and ``--version`` raise SystemExit)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # the reader (``| head``) stopped reading: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - every error is one line (--debug: and its traceback)
        code, line = explain(exc, args.command)
        if args.debug:
            import traceback

            traceback.print_exc()
        elif line.startswith("failed: "):
            line += " (run with --debug for the traceback)"
        sep = " " if line.startswith("failed: ") else ": "
        print(f"tunewise {args.command}{sep}{line}", file=sys.stderr)
        return code


if __name__ == "__main__":
    raise SystemExit(main())
