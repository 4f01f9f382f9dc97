"""Keras Tuner's own unit tests, run against Keras Tuner and against tunewise in its place.

Keras Tuner's repository keeps its tests beside its code (``keras_tuner/**/*_test.py``). This
script copies a checkout's tests twice into a temporary directory and runs each copy with
pytest, one test file per process:

* **keras-tuner**: the tests as they are, importing the checkout's own ``keras_tuner``
  (its code at that commit; the baseline of what passes).
* **tunewise**: the same tests with ``keras_tuner`` replaced by ``tunewise``. Imports of Keras
  Tuner's test plumbing are pointed at their real equivalents: ``keras_tuner.backend.keras``
  is ``keras`` itself, ``backend.config.multi_backend()`` asks Keras, and
  ``test_utils.mock_distribute`` (which only sets environment variables per thread) is taken
  from the checkout. Nothing else in a test is changed.

The report lists, per file, how many tests pass on each side, and every test that passes on
keras-tuner but not on tunewise, except the tests of Keras Tuner's private internals, listed
in ``PRIVATE`` with the reason (its gRPC protocol buffers, its private helper modules).

Keras Tuner is not a dependency: pass a checkout (or a bare git directory) of
https://github.com/keras-team/keras-tuner; its code needs ``grpcio``, ``protobuf`` and
``portpicker`` (``.venv/bin/pip install keras-tuner tensorboard portpicker``).

Run:  .venv/bin/python benchmarks/kt_own_tests.py --kt-repo PATH [--only SUBSTRING]
      [--side tunewise|keras-tuner|both] [--out results.json] [-k EXPR] [--show-failures]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

#: Test files in scope (the issue's list: Keras Tuner's public API) and why the rest are not.
IN_SCOPE = (
    "engine/hyperparameters/",
    "engine/base_tuner_test.py",
    "engine/tuner_test.py",
    "engine/oracle_test.py",
    "engine/trial_test.py",
    "engine/objective_test.py",
    "engine/hypermodel_test.py",
    "engine/metrics_tracking_test.py",
    "engine/conditions_test.py",
    "tuners/",
    "applications/",
    "integration_tests/",
)

#: Whole files left out: (path suffix, reason).
PRIVATE_FILES = (
    ("engine/hyperparameters/hp_utils_test.py", "Keras Tuner's private hp_utils helpers"),
    ("engine/tuner_utils_test.py", "Keras Tuner's private tuner_utils module"),
    ("distribute/", "Keras Tuner's gRPC oracle service (tunewise shares a storage instead)"),
    ("test_utils/mock_distribute_test.py", "a test of Keras Tuner's own test helper"),
    ("utils_test.py", "Keras Tuner's private utils module"),
)

#: Single tests left out: (file suffix, test name prefix, reason).
PRIVATE = (
    ("", "test_.*proto", "Keras Tuner's gRPC protocol buffers (to_proto/from_proto)"),
)

#: Text that marks a test body as touching Keras Tuner's private internals, with the reason.
PRIVATE_MARKERS = (
    (re.compile(r"\bprotos\b|to_proto|from_proto"), "Keras Tuner's gRPC protocol buffers"),
    (re.compile(r"\btuner_utils\."), "Keras Tuner's private tuner_utils module"),
    (re.compile(r"\bhp_utils\."), "Keras Tuner's private hp_utils module"),
    (re.compile(r"\butils\.(try_clear|to_list|load_json|create_directory|IS_NOTEBOOK)"),
     "Keras Tuner's private utils module"),
    (re.compile(r"\b(oracle|tuner)\._(?!set_project_dir\b)[a-z]\w*|\._duplicate\b"
                r"|oracle_module\.Display\b|\bTunerCallback\b|\bSaveBestEpoch\b"),
     "Keras Tuner's private oracle/tuner attributes (_methods, Display, its callback classes)"),
)

HARNESS = '''"""Keras Tuner's test plumbing, pointed at the real things (written by kt_own_tests.py)."""
import types

import keras

config = types.SimpleNamespace(
    multi_backend=lambda: keras.version().startswith("3."),
    backend=lambda: keras.config.backend(),
)
backend = types.SimpleNamespace(keras=keras, config=config, ops=keras.ops)


class _NoProtos:
    """Keras Tuner's gRPC protocol buffers: private, and tunewise has none. Only the proto
    tests (left out as private) use them; the module-level import must not stop a file."""

    def __getattr__(self, name):
        raise AttributeError(f"protos.{name}: Keras Tuner's private gRPC protos (not in tunewise)")


protos = _NoProtos()


class _PrivateModule:
    """One of Keras Tuner's private helper modules (utils, tuner_utils): tunewise has none.
    Only tests left out as private use them; the module-level import must not stop a file."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        raise AttributeError(f"{self._name}.{attr}: Keras Tuner's private module (not in tunewise)")


utils = _PrivateModule("utils")
tuner_utils = _PrivateModule("tuner_utils")

# Keras Tuner's gRPC client: tunewise has none (workers share a storage). Tests only set its
# TIMEOUT, a setting of that client; a namespace holds it so the file loads.
oracle_client = types.SimpleNamespace(TIMEOUT=None)
'''


def rewrite_for_tunewise(source: str) -> str:
    """A Keras Tuner test file's source with tunewise in place of keras_tuner."""
    rules = (
        (r"^from keras_tuner\.backend import keras\b", "import keras"),
        (r"^from keras_tuner\.backend\.keras import ", "from keras import "),
        (r"^from keras_tuner\.backend import (config|ops)\b", r"from _kt_harness import \1"),
        (r"^from keras_tuner import backend\b", "from _kt_harness import backend"),
        # the attribute form, e.g. tuner_test's skipif on keras_tuner.backend.config.backend()
        (r"\bkeras_tuner\.backend\.", "__import__('_kt_harness').backend."),
        (r"^from keras_tuner import protos\b", "from _kt_harness import protos"),
        (r"^from keras_tuner import utils\b", "from _kt_harness import utils"),
        (r"^from keras_tuner\.engine import tuner_utils\b", "from _kt_harness import tuner_utils"),
        (r"^from keras_tuner\.distribute import oracle_client\b",
         "from _kt_harness import oracle_client"),
        (r"^from keras_tuner\.test_utils import mock_distribute\b",
         "import _kt_mock_distribute as mock_distribute"),
    )
    for pattern, replacement in rules:
        source = re.sub(pattern, replacement, source, flags=re.MULTILINE)
    return re.sub(r"\bkeras_tuner\b", "tunewise", source)


def checkout(repo: Path, into: Path) -> Path:
    """A plain copy of the repository's tree (a work tree or a bare git directory)."""
    if (repo / "keras_tuner").is_dir():
        shutil.copytree(repo, into / "kt", ignore=shutil.ignore_patterns(".git"))
    else:
        (into / "kt").mkdir()
        archive = subprocess.run(["git", "--git-dir", str(repo), "archive", "HEAD"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "x", "-C", str(into / "kt")], input=archive, check=True)
    return into / "kt"


def private_reason(relpath: str) -> str | None:
    for suffix, reason in PRIVATE_FILES:
        if suffix in relpath:
            return reason
    return None


def test_sources(path: Path) -> dict[str, str]:
    """Each top-level test function's source text, by name (for the private markers)."""
    text = path.read_text()
    out: dict[str, str] = {}
    starts = [(m.start(), m.group(1)) for m in
              re.finditer(r"^(?:async )?def (test_\w+)", text, flags=re.MULTILINE)]
    for i, (start, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        out[name] = text[start:end]
    return out


def run_file(test_file: Path, cwd: Path, pythonpath: list[Path], xml_path: Path,
             timeout: float, extra: list[str]) -> dict[str, str]:
    """pytest on one file; each test's outcome: passed, failed, error, skipped, timeout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           f"--junitxml={xml_path}", "-o", "addopts=", str(test_file), *extra]
    try:
        subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"<file>": "timeout"}
    if not xml_path.exists():
        return {"<file>": "error"}
    outcomes: dict[str, str] = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        name = case.get("name", "?")
        kinds = {child.tag for child in case}
        if "failure" in kinds:
            outcome = "failed"
        elif "error" in kinds:
            outcome = "error"
        elif "skipped" in kinds:
            outcome = "skipped"
        else:
            outcome = "passed"
        message = ""
        for child in case:
            if child.tag in ("failure", "error"):
                message = (child.get("message") or "")[:300]
        outcomes[name] = outcome if not message else f"{outcome}: {message}"
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kt-repo", required=True, type=Path)
    parser.add_argument("--only", default="", help="run only files whose path contains this")
    parser.add_argument("--side", default="both", choices=("both", "tunewise", "keras-tuner"))
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per file")
    parser.add_argument("--out", type=Path)
    parser.add_argument("-k", default="", help="pytest -k expression")
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kt_own_tests_"))
    kt = checkout(args.kt_repo.resolve(), work)
    tw_dir = work / "tw"
    tw_dir.mkdir()
    (tw_dir / "_kt_harness.py").write_text(HARNESS)
    (tw_dir / "_kt_mock_distribute.py").write_text(
        (kt / "keras_tuner" / "test_utils" / "mock_distribute.py").read_text())
    extra = ["-k", args.k] if args.k else []

    files = sorted(p for p in (kt / "keras_tuner").rglob("*_test.py"))
    results: dict[str, dict] = {}
    for path in files:
        rel = str(path.relative_to(kt / "keras_tuner"))
        if args.only and args.only not in rel:
            continue
        if not any(rel.startswith(s) or s in rel for s in IN_SCOPE):
            continue
        reason = private_reason(rel)
        if reason:
            results[rel] = {"excluded": reason}
            continue
        entry: dict = {}
        if args.side in ("both", "keras-tuner"):
            entry["keras-tuner"] = run_file(path, kt, [kt], work / "kt.xml", args.timeout,
                                            extra)
        if args.side in ("both", "tunewise"):
            flat = tw_dir / rel.replace("/", "__")
            flat.write_text(rewrite_for_tunewise(path.read_text()))
            entry["tunewise"] = run_file(flat, tw_dir, [tw_dir], work / "tw.xml",
                                         args.timeout, extra)
        sources = test_sources(path)
        entry["private"] = {}
        for name in set().union(*(entry.get(s, {}) for s in ("keras-tuner", "tunewise"))):
            base = name.split("[")[0]
            for pattern, why in PRIVATE_MARKERS:
                if pattern.search(sources.get(base, "")):
                    entry["private"][name] = why
                    break
        results[rel] = entry
        print_file(rel, entry, args.show_failures)
        sys.stdout.flush()

    print_totals(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, sort_keys=True))
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _passed(outcome: str | None) -> bool:
    return outcome == "passed"


def print_file(rel: str, entry: dict, show: bool) -> None:
    kt_side, tw_side = entry.get("keras-tuner", {}), entry.get("tunewise", {})
    private = entry["private"]
    names = sorted(set(kt_side) | set(tw_side))
    public = [n for n in names if n not in private]
    kt_pass = [n for n in public if _passed(kt_side.get(n))]
    tw_pass = [n for n in public if _passed(tw_side.get(n))]
    both = [n for n in kt_pass if _passed(tw_side.get(n))]
    print(f"{rel:58s} keras-tuner {len(kt_pass):3d}  tunewise {len(tw_pass):3d}  "
          f"both {len(both):3d}  of {len(public):3d} public ({len(private)} private)")
    if show:
        reference = kt_pass if kt_side else public
        for n in reference:
            if not _passed(tw_side.get(n)):
                print(f"    FAIL {n}: {tw_side.get(n, 'missing')}")


def print_totals(results: dict) -> None:
    kt_total = tw_total = both_total = public_total = private_total = 0
    for entry in results.values():
        if "excluded" in entry:
            continue
        kt_side, tw_side = entry.get("keras-tuner", {}), entry.get("tunewise", {})
        public = [n for n in set(kt_side) | set(tw_side) if n not in entry["private"]]
        private_total += len(entry["private"])
        public_total += len(public)
        kt_total += sum(_passed(kt_side.get(n)) for n in public)
        tw_total += sum(_passed(tw_side.get(n)) for n in public)
        both_total += sum(_passed(kt_side.get(n)) and _passed(tw_side.get(n)) for n in public)
    print(f"\nTOTAL public tests {public_total}: keras-tuner passes {kt_total}, tunewise passes "
          f"{tw_total}, both {both_total}; private tests left out {private_total}")
    for rel, entry in sorted(results.items()):
        if "excluded" in entry:
            print(f"  excluded {rel}: {entry['excluded']}")


if __name__ == "__main__":
    sys.exit(main())
