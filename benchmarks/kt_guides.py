"""Keras Tuner's keras-io guides, section by section, under keras-tuner and under tunewise.

The six KerasTuner guides of https://github.com/keras-team/keras-io (``guides/keras_tuner/``:
``getting_started``, ``custom_tuner``, ``distributed_tuning``, ``visualize_tuning``,
``tailor_the_search_space``, ``failed_trials``) are Python files in which top-level
triple-quoted strings (the prose, and ``\"\"\"shell`` blocks) alternate with code. This script
splits each guide into its code sections (the source between two prose blocks, comments
included), applies the rewrites below, and runs the sections in order in one fresh process
per guide and side, so that state carries from section to section as it does in the guide.
For each section it records pass/fail and the last line of the error.

Rewrites (the only changes; each makes the guide offline or small, none changes its API use):

* ``<...>.datasets.{mnist,fashion_mnist,cifar10,cifar100}.load_data()`` becomes
  ``_kt_guides_load_data("<name>")``: generated arrays of the same shapes and dtypes
  (``uint8`` images, ``uint8`` labels), 300 training and 100 test samples; and the
  getting-started guide's 10,000-sample validation split (``[:-10000]``, ``[-10000:]``)
  becomes 100 samples.
* ``epochs=N`` with N > 2 becomes ``epochs=2``; ``max_trials=N`` with N > 3 becomes
  ``max_trials=3``; ``steps_per_epoch=N`` at most 5 and ``validation_steps=N`` at most 2.
* String literals starting ``"/tmp`` point into the run's temporary directory; the run's
  working directory is a fresh temporary directory too, so ``directory="my_dir"`` and the
  default ``directory="."`` land there.
* Lines starting with ``%`` or ``!`` (notebook magics, shell escapes) and lines launching
  TensorBoard are dropped; ``\"\"\"shell`` blocks are prose, not code, so ``pip install`` is
  never run.
* tunewise side only: ``import keras_tuner`` becomes ``import tunewise as keras_tuner``,
  ``import keras_tuner as X`` becomes ``import tunewise as X``, ``from keras_tuner... import``
  becomes ``from tunewise... import``. Nothing else names ``keras_tuner``.

``distributed_tuning`` runs twice: as written (no ``KERASTUNER_*`` variables: one process), and
as its prose says to run it: the same script in two processes started together with
``KERASTUNER_TUNER_ID=chief`` and ``tuner0``, ``KERASTUNER_ORACLE_IP=127.0.0.1`` and a free
``KERASTUNER_ORACLE_PORT``, in one shared working directory (row
``distributed_tuning[chief+tuner0]``; a section passes when it passes in both processes).
Keras Tuner serves the oracle over gRPC from the chief; tunewise maps the variables to the
shared storage (see tunewise/integrations/keras/_distributed.py).

The report counts, per guide, the code sections, those that pass under keras-tuner, under
tunewise, under both, and lists every failure. A section that fails under keras-tuner is not
counted against tunewise. The processes run with ``KERAS_BACKEND=tensorflow`` (the guides
import ``tensorflow``), on the CPU.

The guides' text is not part of this project: fetch the six files into a directory outside
the repository and pass it as ``--guides``.

Run:  .venv/bin/python benchmarks/kt_guides.py --guides DIR [--side tunewise|keras-tuner|both]
      [--only NAME] [--out results.json] [--timeout SECONDS] [--keep-logs DIR]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

GUIDES = (
    "getting_started",
    "custom_tuner",
    "distributed_tuning",
    "visualize_tuning",
    "tailor_the_search_space",
    "failed_trials",
)
SIDES = ("keras-tuner", "tunewise")
#: Guides also run as chief + worker processes, as their prose says.
DISTRIBUTED = ("distributed_tuning",)
REPO = Path(__file__).resolve().parent.parent

#: Generated data set shapes: name -> (image shape, label shape per sample).
DATASETS = {
    "mnist": ((28, 28), ()),
    "fashion_mnist": ((28, 28), ()),
    "cifar10": ((32, 32, 3), (1,)),
    "cifar100": ((32, 32, 3), (1,)),
}
N_TRAIN, N_TEST = 300, 100
MAX_EPOCHS, MAX_TRIALS, MAX_STEPS, MAX_VALIDATION_STEPS = 2, 3, 5, 2


@dataclass(frozen=True)
class Section:
    """One code section of a guide: its 1-based number, first source line and text."""

    number: int
    line: int
    code: str


@dataclass
class SectionResult:
    """How one section ran: ``status`` is ``pass``, ``fail`` or ``not run``."""

    number: int
    line: int
    status: str
    error: str = ""
    seconds: float = 0.0


@dataclass
class GuideRun:
    """One guide on one side: the sections' results and where its log is."""

    guide: str
    side: str
    results: list[SectionResult] = field(default_factory=list)
    log: str = ""


# --------------------------------------------------------------------------- splitting


def split_sections(text: str) -> list[Section]:
    """The guide's code sections, in order: the source between top-level string blocks.

    Only top-level string expressions count as prose (a function's docstring stays in its
    code). Sections that hold only blank lines and comments are dropped.
    """
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    prose = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    sections: list[Section] = []
    start = 1
    for first, last in [*prose, (len(lines) + 1, len(lines) + 1)]:
        chunk = "".join(lines[start - 1:first - 1])
        if _has_code(chunk):
            sections.append(Section(len(sections) + 1, start, chunk))
        start = last + 1
    return sections


def _has_code(chunk: str) -> bool:
    return any(ln.strip() and not ln.strip().startswith("#") for ln in chunk.splitlines())


# --------------------------------------------------------------------------- rewriting

_LOAD = re.compile(r"(?:[A-Za-z_][\w.]*\.)?datasets\.(\w+)\.load_data\(\)")
_VAL_SPLIT = re.compile(r"\[(:?)(-?)10000(:?)\]")
_CAP = (
    (re.compile(r"\bepochs=(\d+)"), "epochs", MAX_EPOCHS),
    (re.compile(r"\bmax_trials=(\d+)"), "max_trials", MAX_TRIALS),
    (re.compile(r"\bsteps_per_epoch=(\d+)"), "steps_per_epoch", MAX_STEPS),
    (re.compile(r"\bvalidation_steps=(\d+)"), "validation_steps", MAX_VALIDATION_STEPS),
)
_TMP = re.compile(r"""(["'])/tmp(?=[/"'])""")
_DROP = re.compile(r"^\s*([%!]|tensorboard\s)")
_IMPORT = re.compile(r"^([ \t]*)import keras_tuner(?=[ \t]*(?:#.*)?$)", re.MULTILINE)
_IMPORT_AS = re.compile(r"^(\s*)import keras_tuner(\s+as\s+\w+)")
_FROM = re.compile(r"^(\s*)from keras_tuner(?=[.\s])")


def rewrite(code: str, side: str, tmp: str) -> tuple[str, list[str]]:
    """``code`` made offline and small (and importing tunewise on the tunewise side).

    Returns the new code and a list of the rewrites applied (for the log), one per kind.
    ``tmp`` is the directory that replaces ``/tmp``.
    """
    applied: list[str] = []

    def note(kind: str) -> None:
        if kind not in applied:
            applied.append(kind)

    def load(m: re.Match[str]) -> str:
        if m.group(1) not in DATASETS:
            raise ValueError(f"No generated stand-in for dataset {m.group(1)!r}; add it to "
                             f"DATASETS (known: {sorted(DATASETS)}).")
        note(f"{m.group(1)}.load_data -> generated")
        return f'_kt_guides_load_data("{m.group(1)}")'

    code = _LOAD.sub(load, code)
    if "_kt_guides_load_data" in code:
        new = _VAL_SPLIT.sub(lambda m: f"[{m.group(1)}{m.group(2)}100{m.group(3)}]", code)
        if new != code:
            note("10000-sample split -> 100")
        code = new
    for pattern, name, cap in _CAP:
        def capped(m: re.Match[str], name: str = name, cap: int = cap) -> str:
            if int(m.group(1)) <= cap:
                return m.group(0)
            note(f"{name} <= {cap}")
            return f"{name}={cap}"
        code = pattern.sub(capped, code)
    new = _TMP.sub(lambda m: f"{m.group(1)}{tmp}", code)
    if new != code:
        note("/tmp -> run dir")
    code = new
    out = []
    for line in code.splitlines(keepends=True):
        if _DROP.match(line):
            note("magic/shell/tensorboard line dropped")
            continue
        if side == "tunewise":
            new = _IMPORT.sub(r"\1import tunewise as keras_tuner", line)
            new = _IMPORT_AS.sub(r"\1import tunewise\2", new)
            new = _FROM.sub(r"\1from tunewise", new)
            if new != line:
                note("keras_tuner -> tunewise")
            line = new
        if side == "tunewise" and re.match(r"\s*(import|from)\s+keras_tuner\b", line):
            raise ValueError(f"No tunewise rewrite for the import {line.strip()!r}: extend "
                             "_IMPORT/_IMPORT_AS/_FROM.")
        out.append(line)
    return "".join(out), applied


# --------------------------------------------------------------------------- the child


def generated_load_data(name: str) -> tuple[tuple[object, object], tuple[object, object]]:
    """A stand-in for ``keras.datasets.<name>.load_data()``: random ``uint8`` images and
    labels of the real shapes and dtypes, ``N_TRAIN`` training and ``N_TEST`` test samples."""
    import numpy as np

    shape, label_shape = DATASETS[name]
    classes = 100 if name == "cifar100" else 10
    rng = np.random.default_rng(0)

    def part(n: int) -> tuple[object, object]:
        x = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
        y = rng.integers(0, classes, size=(n, *label_shape), dtype=np.uint8)
        return x, y

    return part(N_TRAIN), part(N_TEST)


def run_child(sections_path: str, results_path: str) -> int:
    """Run the sections in ``sections_path`` (JSON) in order in one namespace, writing the
    results to ``results_path`` after each section (so a killed run keeps what it did)."""
    import traceback

    spec = json.loads(Path(sections_path).read_text())
    namespace: dict[str, object] = {"__name__": "__main__",
                                    "_kt_guides_load_data": generated_load_data}
    results: list[dict[str, object]] = []
    for sec in spec["sections"]:
        print(f"\n===== section {sec['number']} (line {sec['line']}) =====", flush=True)
        print(f"[kt_guides] started section {sec['number']}", file=sys.stderr, flush=True)
        began = time.perf_counter()
        row: dict[str, object] = {"number": sec["number"], "line": sec["line"]}
        try:
            code = compile(sec["code"], f"<{spec['guide']} section {sec['number']}>", "exec")
            exec(code, namespace)  # noqa: S102 - running the guide's code is the point
            row.update(status="pass", error="")
        except BaseException as exc:  # noqa: BLE001 - a guide's error of any kind is its result
            traceback.print_exc()
            row.update(status="fail",
                       error=traceback.format_exception_only(type(exc), exc)[-1].strip())
        row["seconds"] = round(time.perf_counter() - began, 2)
        results.append(row)
        Path(results_path).write_text(json.dumps(results))
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


# --------------------------------------------------------------------------- the parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(
                   os.pathsep),
               PYTHONUNBUFFERED="1")
    return env


def _start(run_dir: Path, guide: str, side: str, sections: list[Section], tag: str,
           env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path, Path]:
    tmp = run_dir / "tmp"
    tmp.mkdir(exist_ok=True)
    spec = {"guide": guide, "side": side, "sections": []}
    for sec in sections:
        code, applied = rewrite(sec.code, side, str(tmp))
        spec["sections"].append({"number": sec.number, "line": sec.line, "code": code,
                                 "rewrites": applied})
    spec_path = run_dir / f"sections{tag}.json"
    spec_path.write_text(json.dumps(spec, indent=1))
    results_path = run_dir / f"results{tag}.json"
    log_path = run_dir / f"log{tag}.txt"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path),
         str(results_path)],
        cwd=run_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    return proc, results_path, log_path


def _collect(sections: list[Section], results_path: Path, rc: int | None,
             timeout: float) -> list[SectionResult]:
    done = json.loads(results_path.read_text()) if results_path.exists() else []
    rows = [SectionResult(int(r["number"]), int(r["line"]), str(r["status"]),
                          str(r["error"]), float(r["seconds"])) for r in done]
    for sec in sections[len(rows):]:
        if sec.number != len(done) + 1:
            rows.append(SectionResult(sec.number, sec.line, "not run"))
        elif rc is None:
            rows.append(SectionResult(sec.number, sec.line, "fail",
                                      f"timed out after {timeout:.0f} s"))
        else:
            rows.append(SectionResult(sec.number, sec.line, "fail",
                                      f"the process ended (exit status {rc}) here"))
    return rows


def _wait(procs: list[subprocess.Popen[bytes]], deadline: float) -> list[int | None]:
    codes: list[int | None] = []
    for proc in procs:
        try:
            codes.append(proc.wait(timeout=max(1.0, deadline - time.time())))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            codes.append(None)
    return codes


def run_guide(guides: Path, guide: str, side: str, timeout: float, keep: Path | None,
              distributed: bool = False) -> GuideRun:
    """Run one guide on one side in a fresh process (two with ``distributed``)."""
    sections = split_sections((guides / f"{guide}.py").read_text())
    name = f"{guide}[chief+tuner0]" if distributed else guide
    run_dir = Path(tempfile.mkdtemp(prefix=f"kt_guides_{guide}_{side}_"))
    try:
        env = _child_env()
        deadline = time.time() + timeout
        if not distributed:
            proc, results_path, log_path = _start(run_dir, guide, side, sections, "", env)
            (rc,) = _wait([proc], deadline)
            results = _collect(sections, results_path, rc, timeout)
            logs = [log_path]
        else:
            base = {**env, "KERASTUNER_ORACLE_IP": "127.0.0.1",
                    "KERASTUNER_ORACLE_PORT": str(_free_port())}
            started = [_start(run_dir, guide, side, sections, f".{role}",
                              {**base, "KERASTUNER_TUNER_ID": role})
                       for role in ("chief", "tuner0")]
            codes = _wait([p for p, _, _ in started], deadline)
            per_role = [_collect(sections, r, rc, timeout)
                        for (_, r, _), rc in zip(started, codes)]
            results = []
            for chief, worker in zip(*per_role):
                bad = [(role, r) for role, r in (("chief", chief), ("tuner0", worker))
                       if r.status != "pass"]
                results.append(SectionResult(
                    chief.number, chief.line, "pass" if not bad else bad[0][1].status,
                    "; ".join(f"{role}: {r.error}" for role, r in bad),
                    max(chief.seconds, worker.seconds)))
            logs = [log for _, _, log in started]
        log_text = ""
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for log in logs:
                target = keep / f"{name}.{side}.{log.stem}.log"
                shutil.copy(log, target)
                log_text += f"{target} "
        return GuideRun(name, side, results, log_text.strip())
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def report(runs: list[GuideRun], sides: list[str]) -> str:
    """The table (guide, sections, passes per side, both) and every failure."""
    by = {(r.guide, r.side): r for r in runs}
    names = list(dict.fromkeys(r.guide for r in runs))
    head = f"{'guide':<34} {'sections':>8} {'keras-tuner':>11} {'tunewise':>8} {'both':>5}"
    out = [head, "-" * len(head)]
    totals = [0, 0, 0, 0]
    failures: list[str] = []
    for name in names:
        kt, tw = by.get((name, "keras-tuner")), by.get((name, "tunewise"))
        any_run = kt or tw
        assert any_run is not None
        n = len(any_run.results)
        kt_ok = {r.number for r in kt.results if r.status == "pass"} if kt else set()
        tw_ok = {r.number for r in tw.results if r.status == "pass"} if tw else set()
        cells = [n, len(kt_ok) if kt else None, len(tw_ok) if tw else None,
                 len(kt_ok & tw_ok) if kt and tw else None]
        out.append(f"{name:<34} " + " ".join(
            f"{'-' if c is None else c:>{w}}" for c, w in zip(cells, (8, 11, 8, 5))))
        for i, c in enumerate(cells):
            totals[i] += c or 0
        for run in (kt, tw):
            if run is None:
                continue
            for r in run.results:
                if r.status == "pass":
                    continue
                counted = run.side == "keras-tuner" or kt is None or r.number in kt_ok
                mark = "" if counted else "  (fails under keras-tuner too: not counted)"
                failures.append(f"  {name} section {r.number} (line {r.line}) [{run.side}] "
                                f"{r.status}: {r.error}{mark}")
    out.append("-" * len(head))
    out.append(f"{'total':<34} " + " ".join(f"{c:>{w}}" for c, w in zip(totals, (8, 11, 8, 5))))
    out.append("")
    out.append("Failures:" if failures else "Failures: none")
    out.extend(failures)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return run_child(argv[1], argv[2])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guides", required=True, type=Path,
                        help="directory holding the six guide files (<name>.py)")
    parser.add_argument("--side", choices=[*SIDES, "both"], default="both")
    parser.add_argument("--only", choices=GUIDES, help="run this guide alone")
    parser.add_argument("--timeout", type=float, default=1200.0,
                        help="seconds a guide may run on one side (default 1200)")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument("--keep-logs", type=Path, help="copy each run's output here")
    parser.add_argument("--no-distributed", action="store_true",
                        help="skip the chief+worker run of distributed_tuning")
    args = parser.parse_args(argv)
    missing = [g for g in GUIDES if not (args.guides / f"{g}.py").exists()]
    if missing and (args.only is None or args.only in missing):
        parser.error(f"--guides {args.guides} lacks {', '.join(m + '.py' for m in missing)}: "
                     "fetch them from keras-team/keras-io, guides/keras_tuner/.")
    sides = list(SIDES) if args.side == "both" else [args.side]
    guides = [args.only] if args.only else list(GUIDES)
    runs: list[GuideRun] = []
    for guide in guides:
        variants = [False] + ([True] if guide in DISTRIBUTED and not args.no_distributed
                              else [])
        for distributed in variants:
            for side in sides:
                began = time.time()
                run = run_guide(args.guides, guide, side, args.timeout, args.keep_logs,
                                distributed)
                ok = sum(r.status == "pass" for r in run.results)
                print(f"{run.guide:<34} {side:<12} {ok}/{len(run.results)} sections pass "
                      f"({time.time() - began:.0f} s)", flush=True)
                runs.append(run)
    print()
    print(report(runs, sides))
    if args.out:
        args.out.write_text(json.dumps(
            [{"guide": r.guide, "side": r.side, "log": r.log,
              "sections": [vars(s) for s in r.results]} for r in runs], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
