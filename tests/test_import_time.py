"""``import tunewise`` and ``tunewise --help`` import no heavy library; names load on use.

Each check runs a fresh interpreter (``sys.modules`` of this one already holds everything).
The time itself is measured against Optuna in ``benchmarks/import_time.py``.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

HEAVY = ("scipy", "sqlalchemy", "matplotlib", "keras", "tensorflow", "sklearn", "numpy",
         "torch", "jax", "pandas", "ray", "psycopg")

_REPORT = (
    "import json, sys\n"
    "heavy = sorted(m for m in {heavy!r} if m in sys.modules)\n"
    "third = sorted({{n.split('.')[0] for n in sys.modules}} - set(sys.stdlib_module_names)\n"
    "               - {{'tunewise', '_distutils_hack'}} - set(before))\n"
    "print(json.dumps({{'heavy': heavy, 'third_party': third}}))\n"
)


def _fresh(code: str) -> dict[str, list[str]]:
    """Run ``code`` in a new interpreter; the heavy and the non-stdlib top-level modules it
    left in ``sys.modules`` (those loaded by ``site`` at start-up excepted)."""
    script = (
        "import sys\n"
        "before = {n.split('.')[0] for n in sys.modules}\n"
        + code + "\n"
        + _REPORT.format(heavy=HEAVY)
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_import_tunewise_imports_only_the_standard_library():
    found = _fresh("import tunewise")
    assert found == {"heavy": [], "third_party": []}


def test_help_imports_only_the_standard_library():
    code = (
        "import contextlib, io, runpy\n"
        "sys.argv = ['tunewise', '--help']\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        runpy.run_module('tunewise', run_name='__main__', alter_sys=True)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
        "assert 'dashboard' in out.getvalue()\n"
    )
    assert _fresh(code) == {"heavy": [], "third_party": []}


def test_a_public_name_loads_its_module_on_first_use():
    found = _fresh("import tunewise as tw\nassert tw.HyperParameters().Int('n', 0, 3) == 0")
    assert not {"scipy", "sqlalchemy", "matplotlib"} & set(found["heavy"])  # the space alone
    found = _fresh("from tunewise import SQLStorage")
    assert "sqlalchemy" in found["heavy"]
    assert not {"scipy", "matplotlib", "sklearn", "keras"} & set(found["heavy"])


def test_python_m_tunewise_and_version():
    done = subprocess.run([sys.executable, "-m", "tunewise", "--version"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == importlib.metadata.version("tunewise") + "\n"
    done = subprocess.run([sys.executable, "-m", "tunewise", "--help"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.startswith("usage: tunewise ")
    assert "--debug" in done.stdout and "--version" in done.stdout


def test_every_public_name_resolves_and_is_listed():
    import tunewise as tw

    assert set(tw.__all__) <= set(dir(tw))
    for name in tw.__all__:
        assert getattr(tw, name) is not None, name
    assert tw.engine.hyperparameters.HyperParameters is tw.HyperParameters
    assert tw.engine.tuner.Tuner is tw.Tuner
    with pytest.raises(AttributeError, match="no attribute 'Hyperbnad'"):
        tw.Hyperbnad  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute '__wrapped__'"):
        tw.__wrapped__  # noqa: B018
