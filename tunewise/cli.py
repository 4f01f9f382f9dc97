"""The ``tunewise`` command: read stored searches without the script that ran them.

    tunewise list PATH                 studies stored at PATH
    tunewise summary PATH [--study S]  the best trials of each study
    tunewise doctor PATH [--json]      why each study's best objective is (not) improving

PATH is a project directory (holding ``tunewise.db``), a directory of projects, a SQLite file,
or a database URL (``postgresql://...``). User mistakes (a wrong path, an unknown study) print
one line and exit 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UserError as exc:
        print(f"tunewise {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
