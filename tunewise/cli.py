"""The ``tunewise`` command: read stored searches without the script that ran them.

    tunewise list PATH                     studies stored at PATH
    tunewise summary PATH [--study S]      the best trials of each study
    tunewise trials PATH [--state STATE]   every trial (completed, failed, pruned, running)
    tunewise doctor PATH [--json]          why each study's best objective is (not) improving
    tunewise export PATH --csv FILE        the trials as CSV (--json FILE for JSON; --history
                                           for one row per step; FILE "-" is standard output)
    tunewise report PATH -o report.html    a self-contained HTML report (plots, findings)
    tunewise dashboard PATH [--port 8050]  a live read-only dashboard on http://127.0.0.1:PORT/

PATH is a project directory (holding ``tunewise.db``), a directory of projects, a SQLite file,
or a database URL (``postgresql://...``).

Exit status: 0 done; 1 ``trials`` matched no trial; 2 a user mistake (a wrong path, an
unknown study, an unwritable file, a port in use), printed as one line without traceback;
3 an optional dependency is missing (the line says what to install).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from .storage import DB_FILENAME, SQLStorage, Storage, StudyRecord


class UserError(Exception):
    """A mistake in the command line: printed as one line, exit status 2."""


def find_databases(path: str) -> list[str]:
    """The storage URLs PATH designates (see the module docstring)."""
    if "://" in path:
        return [path]
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
        raise UserError(
            f"No tunewise project at {path!r}: neither {direct!r} nor any "
            f"{os.path.join(path, '*', DB_FILENAME)!r} exists."
        )
    raise UserError(f"{path!r} does not exist. Pass a project directory, a .db file or a URL.")


def open_studies(path: str, study: str | None) -> list[tuple[Storage, StudyRecord]]:
    found = []
    for url in find_databases(path):
        storage = SQLStorage(url)
        for record in reversed(storage.list_studies()):  # the most recent first
            if study is None or record.name == study:
                found.append((storage, record))
    if not found:
        raise UserError(
            f"No study named {study!r} at {path!r}." if study else f"No study stored at {path!r}."
        )
    return found


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


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .diagnostics import SearchHistory, diagnose_history

    reports = [
        diagnose_history(SearchHistory.from_record(storage, record))
        for storage, record in open_studies(args.path, args.study)
    ]
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2, default=str))
    else:
        print("\n\n".join(str(r) for r in reports))
    return 0


def _cmd_trials(args: argparse.Namespace) -> int:
    from .diagnostics import SearchHistory
    from .engine._frames import json_safe
    from .report._summary import trials_table

    matched = 0
    out: list[dict[str, object]] = []
    for storage, record in open_studies(args.path, args.study):
        history = SearchHistory.from_record(storage, record)
        table = trials_table(history)
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
        print(f"Study {record.name!r} ({storage.location}): {len(rows)}{which} of "
              f"{len(history.trials)} trials")
        if rows:
            print(_text_table(table["columns"], rows))
        print()
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    return 0 if matched else 1


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


def _open_output(path: str) -> TextIO:
    if path == "-":
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise UserError(f"Cannot write {path!r}: {exc.strerror}. Pass a writable file path.")


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
    directory = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(directory):
        raise UserError(f"Cannot write {args.output!r}: the directory {directory!r} does not exist.")
    try:
        write_report(histories, args.output, title=args.title)
    except OSError as exc:
        raise UserError(f"Cannot write {args.output!r}: {exc.strerror}.")
    print(f"Wrote the report of {len(histories)} studies to {args.output}")
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from .report import start_dashboard

    _require_plots("tunewise dashboard")

    storages = [SQLStorage(url) for url in find_databases(args.path)]
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tunewise",
        description="Inspect stored tunewise searches.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list the studies stored at PATH")
    p.add_argument("path", help="project directory, directory of projects, .db file or URL")
    p.set_defaults(run=_cmd_list)

    p = sub.add_parser("summary", help="print the best trials of each study")
    p.add_argument("path")
    p.add_argument("--study", help="only this study")
    p.add_argument("--num-trials", type=int, default=10, help="trials to show (default 10)")
    p.set_defaults(run=_cmd_summary)

    p = sub.add_parser("doctor", help="explain why the best objective is (not) improving")
    p.add_argument("path")
    p.add_argument("--study", help="only this study")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
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
    p.add_argument("--port", type=int, default=8050, help="port to listen on (default 8050)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--refresh", type=float, default=2.0, metavar="SECONDS",
                   help="seconds between the page's refreshes (default 2)")
    p.set_defaults(run=_cmd_dashboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UserError as exc:
        print(f"tunewise {args.command}: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"tunewise {args.command}: {exc}", file=sys.stderr)
        return 3
    except BrokenPipeError:  # the reader (``| head``) stopped reading: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
