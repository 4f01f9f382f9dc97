"""The seed's three examples run unchanged but for the import, one after another in one directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("keras")

HERE = Path(__file__).parent / "seed_examples"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed"

DATA = """
import numpy as np
_rng = np.random.default_rng(0)
x_train = _rng.normal(size=(256, 10)).astype("float32")
y_train = (x_train[:, 0] + 0.5 * x_train[:, 1] > 0).astype("float32")
x_val = _rng.normal(size=(128, 10)).astype("float32")
y_val = (x_val[:, 0] + 0.5 * x_val[:, 1] > 0).astype("float32")
"""

BUILD_RE = re.compile(r"def build_model\(hp\):\n.*?return model\n", re.DOTALL)


def block(n: int) -> str:
    return (HERE / f"seed_block{n}.txt").read_text()


def compose(n: int) -> str:
    code = block(n).replace("import keras_tuner as kt", "import tunewise as kt")
    example1 = block(1).replace("import keras_tuner as kt", "import tunewise as kt")
    build = BUILD_RE.search(example1).group(0)
    if n == 2:  # "# ... (same build_model function as Example 1) ..."
        header = example1[: BUILD_RE.search(example1).end()]
        code = header + "\n" + code
    if n == 3:  # Sequential([...]) "#Same model as example 1"
        code = BUILD_RE.sub(lambda _m: build, code)
    return DATA + code


def test_the_copies_are_the_seed_code_blocks():
    if not SEED.exists():
        pytest.skip("../shared/seed is not beside this checkout")
    text = next(SEED.glob("*.md")).read_text()
    assert re.findall(r"```python\n(.*?)```", text, re.DOTALL) == [block(i) for i in (1, 2, 3)]


def run(tmp_path: Path, n: int) -> str:
    script = tmp_path / f"example{n}.py"
    script.write_text(compose(n))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def best_of(out: str) -> float:
    (value,) = re.findall(r"^Best objective value: (\S+)$", out, re.MULTILINE)
    return float(value)


def test_the_three_seed_examples_run_one_after_another_and_report_their_own_best(tmp_path):
    out1 = run(tmp_path, 1)
    assert "Hyperband with max_epochs=10, factor=3: 3 brackets, 17 configurations" in out1
    best1 = best_of(out1)
    assert 0 < best1 < 0.69  # val_loss of a binary classifier that learned something

    out2 = run(tmp_path, 2)
    assert "runs as a new study 'my_project-2' beside it" in out2
    best2 = best_of(out2)
    assert 0.5 < best2 <= 1.0  # a val_accuracy, maximised
    assert "Trial 10/10" in out2

    out3 = run(tmp_path, 3)
    assert "runs as a new study 'my_project-3' beside it" in out3
    best3 = best_of(out3)
    assert 0 < best3 < 0.69
    assert "Trial 10/10" in out3

    # Re-running example 1 resumes its own finished study and says why nothing runs.
    again = run(tmp_path, 1)
    assert "no new trial will run" in again
    assert best_of(again) == best1
