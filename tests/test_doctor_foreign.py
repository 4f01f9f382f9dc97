"""The doctor and ``tunewise import`` on other tuners' searches: real Keras Tuner projects and
Optuna studies (SQLite and PostgreSQL), read without changing a byte.

Each test runs the real tool (keras-tuner 1.4.8, Optuna; both in the ``dev`` extra) and skips
when it is not installed. Every verb's run is bracketed by a digest of the source: each file's
bytes and modification time (for PostgreSQL, every row of Optuna's tables).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import numpy as np
import pytest

from tunewise.cli import main

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# keras-tuner 1.4.8 calls threading.currentThread(), deprecated since Python 3.10
pytestmark = pytest.mark.filterwarnings("ignore:currentThread:DeprecationWarning",
                                        "ignore:getName:DeprecationWarning")


# ---------------------------------------------------------------------- helpers
def digest(root: Path) -> dict[str, tuple[str, int]]:
    """``{relative path: (sha256, mtime in ns)}`` of every file under ``root`` (or ``root``)."""
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    return {
        str(p.relative_to(root.parent if root.is_file() else root)):
            (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in files
    }


def run(args: list[object], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def severe(report: dict[str, object]) -> list[str]:
    return [f["code"] for f in report["findings"]  # type: ignore[index, union-attr]
            if f["severity"] in ("problem", "warning")]  # type: ignore[index]


# ---------------------------------------------------------------------- Keras Tuner
@pytest.fixture(scope="module")
def kt_search(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real Keras Tuner search: RandomSearch over 3 activations, 3 trials of 2 epochs on
    generated data, TensorBoard logs written outside the project."""
    kt = pytest.importorskip("keras_tuner", reason="keras-tuner is not installed (dev extra)")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("Keras Tuner's TensorBoard logs need the TensorFlow backend")
    root = tmp_path_factory.mktemp("kt")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")

    def build(hp):
        model = keras.Sequential([
            keras.Input((4,)),
            keras.layers.Dense(8, activation=hp.Choice("activation", ["relu", "tanh", "sigmoid"])),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
        return model

    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=3, seed=3,
                            directory=str(root / "runs"), project_name="digits")
    logs = root / "tb"
    tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0,
                 callbacks=[keras.callbacks.TensorBoard(str(logs))])
    return {"root": root, "project": root / "runs" / "digits", "logs": logs, "x": x, "y": y,
            "build": build}  # type: ignore[dict-item]


def test_keras_tuner_project_is_diagnosed_without_a_byte_changed(kt_search, capsys):
    project, logs = kt_search["project"], kt_search["logs"]
    before, before_logs = digest(project), digest(logs)
    assert {"oracle.json", "tuner0.json", "trial_0/trial.json"} <= set(before)

    code, out, err = run(["doctor", project, "--json"], capsys)
    assert code == 0, err
    (report,) = json.loads(out)
    assert report["objective"] == "val_accuracy (max)"
    assert report["trials"] == 3
    assert report["source"]["kind"] == "keras_tuner"
    assert not severe(report), report["findings"]  # a healthy search: nothing to fix
    assert any("no per-epoch curves" in line and "--logs" in line for line in report["not_run"])

    code, out, err = run(["doctor", project, "--logs", logs], capsys)  # with the curves
    assert code == 0, err
    assert "Diagnosis of study 'digits'" in out
    assert "Read from a Keras Tuner project (read-only)" in out
    assert "no per-epoch curves" not in out
    assert "Checks that could not run:" in out and "no run log" in out

    code, out, err = run(["doctor", project.parent, "--fail-on", "warning"], capsys)
    assert code == 0, err  # the directory of projects: each one; no warning, so exit 0
    assert digest(project) == before and digest(logs) == before_logs


def test_keras_tuner_curves_come_from_tensorboard(kt_search):
    from tunewise.foreign import read_keras_tuner

    history = read_keras_tuner(str(kt_search["project"]), logs=[str(kt_search["logs"])])
    assert [t.number for t in history.trials] == [0, 1, 2]
    for t in history.trials:
        assert [s.step for s in t.steps] == [0, 1]  # both epochs, not only the best one
        assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(t.steps[-1].metrics)
        best = next(s for s in t.steps if s.step == t.best_step)
        assert best.metrics["val_accuracy"] == pytest.approx(t.score, rel=1e-6)
    assert [hp.name for hp in history.space] == ["activation"]


def test_import_then_resume_with_tunewise_keeps_every_trial(kt_search, tmp_path, capsys):
    import keras_tuner as kt

    import tunewise as tw

    keras = pytest.importorskip("keras")

    def build(hp):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, "sigmoid")])
        model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                      "binary_crossentropy", metrics=["accuracy"])
        return model

    data = dict(x=kt_search["x"], y=kt_search["y"], epochs=1, validation_split=0.25, verbose=0)
    kt.RandomSearch(build, objective="val_accuracy", max_trials=3, seed=1,
                    directory=str(tmp_path), project_name="lr").search(**data)
    project = tmp_path / "lr"
    crashed = project / "trial_2" / "trial.json"  # as if the search was killed in trial 2
    state = json.loads(crashed.read_text())
    crashed.write_text(json.dumps({**state, "status": "RUNNING", "score": None,
                                   "metrics": {"metrics": {}}}))
    before = digest(project)
    old = [json.loads((project / f"trial_{i}" / "trial.json").read_text()) for i in range(3)]

    code, out, err = run(["import", project], capsys)
    assert code == 0, err
    assert f"Imported 3 trials of {project} into study 'lr'" in out and "1 re-run waiting" in out
    assert (project / "tunewise.db").is_file()
    code, _, err = run(["import", project], capsys)  # twice: refused, nothing duplicated
    assert code == 2 and "already holds study 'lr'" in err, err

    tuner = tw.RandomSearch(build, objective="val_accuracy", max_trials=4,
                            directory=str(tmp_path), project_name="lr", verbose=0)
    assert tuner.study.resumed
    tuner.search(**data)
    trials = tuner.study.trials
    # the 3 imported trials count toward max_trials=4, as Keras Tuner's reload counts them;
    # the crashed one is re-run first (a re-run takes no slot), then one new trial
    assert [t.state.value for t in trials] == ["COMPLETED", "COMPLETED", "FAILED",
                                               "COMPLETED", "COMPLETED"]
    assert trials[3].retry_of == 2 and trials[3].values == old[2]["hyperparameters"]["values"]
    assert tuner.study.n_slots == 4
    for t, kt_trial in zip(trials[:2], old):
        assert t.values == kt_trial["hyperparameters"]["values"]
        assert t.score == pytest.approx(kt_trial["score"])
    after = digest(project)
    assert {k: v for k, v in after.items() if k in before} == before  # Keras Tuner's files

    code, out, err = run(["doctor", project], capsys)  # now tunewise's study, all 5 trials
    assert code == 0, err
    assert "Objective val_accuracy (max); 5 trials" in out


def test_keras_tuner_misspelt_objective_is_named_with_the_logged_one(kt_search, tmp_path,
                                                                      capsys):
    import keras_tuner as kt

    keras = pytest.importorskip("keras")

    def build(hp):
        model = keras.Sequential([keras.Input((4,)),
                                  keras.layers.Dense(hp.Int("units", 2, 8), activation="relu"),
                                  keras.layers.Dense(1, "sigmoid")])
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
        return model

    tuner = kt.RandomSearch(build, objective=kt.Objective("val_acc", "max"), max_trials=2,
                            directory=str(tmp_path), project_name="typo")
    tuner.search(kt_search["x"], kt_search["y"], epochs=1, validation_split=0.25, verbose=0,
                 callbacks=[keras.callbacks.TensorBoard(str(tmp_path / "typo" / "logs"))])
    capsys.readouterr()  # Keras Tuner printed each failure's traceback
    before = digest(tmp_path)
    code, out, err = run(["doctor", tmp_path / "typo", "--json"], capsys)
    assert code == 0, err
    (report,) = json.loads(out)
    assert report["objective"] == "val_acc (max)"  # from the failures' KeyError
    found = {f["code"]: f for f in report["findings"]}
    assert found["objective-not-logged"]["severity"] == "problem"
    assert found["objective-not-logged"]["evidence"]["closest"] == "val_accuracy"
    assert digest(tmp_path) == before


# ---------------------------------------------------------------------- Optuna
@pytest.fixture(scope="module")
def optuna_mod():
    optuna = pytest.importorskip("optuna", reason="Optuna is not installed (dev extra)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _healthy(trial) -> float:
    x = trial.suggest_float("x", -2.0, 2.0)
    for step in range(3):
        trial.report(-((x - 0.3) ** 2) - 0.1 / (step + 1), step)
    return -((x - 0.3) ** 2)


def _edge(trial) -> float:
    width = trial.suggest_float("width", 0.0, 10.0)  # the best lies beyond 10
    return width


def _failing(trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    if x > 0.3:
        raise ValueError("diverged")
    return x


def make_studies(optuna, storage: str, prefix: str = "",
                 names: tuple[str, ...] = ("healthy", "edge", "failing")) -> None:
    sampler = optuna.samplers.RandomSampler(seed=0)
    for name, fn, n in (("healthy", _healthy, 20), ("edge", _edge, 20), ("failing", _failing, 12)):
        if name not in names:
            continue
        study = optuna.create_study(study_name=prefix + name, storage=storage,
                                    direction="maximize", sampler=sampler)
        study.optimize(fn, n_trials=n, catch=(ValueError,))


def test_optuna_sqlite_study_is_diagnosed_and_left_alone(optuna_mod, tmp_path, capsys):
    path = tmp_path / "optuna.db"
    make_studies(optuna_mod, f"sqlite:///{path}")
    before = digest(tmp_path)

    code, out, err = run(["doctor", path, "--json"], capsys)
    assert code == 0, err
    reports = {r["study"]: r for r in json.loads(out)}
    assert set(reports) == {"healthy", "edge", "failing"}
    assert not severe(reports["healthy"]), reports["healthy"]["findings"]
    assert "boundary-optimum" in severe(reports["edge"])
    failing = {f["code"]: f for f in reports["failing"]["findings"]}
    assert failing["failed-trials"]["severity"] == "problem"
    assert reports["healthy"]["objective"] == "value (max)"
    assert any("sampler unknown" in line for line in reports["edge"]["not_run"])

    for study, level, expected in (("healthy", "warning", 0), ("edge", "warning", 1),
                                   ("edge", "problem", 0), ("failing", "problem", 1)):
        code, out, err = run(["doctor", f"sqlite:///{path}", "--study", study,
                              "--fail-on", level], capsys)
        assert code == expected, (study, level, out, err)
        if expected:
            assert f"--fail-on {level}" in err
        assert "Read from an Optuna storage (read-only)" in out
    code, _, err = run(["doctor", path, "--study", "nope"], capsys)
    assert code == 2 and "'healthy'" in err, err
    assert digest(tmp_path) == before  # not one byte, no -journal or -wal file left


def test_optuna_study_imported_into_tunewise_resumes(optuna_mod, tmp_path, capsys):
    import tunewise as tw

    path = tmp_path / "optuna.db"
    make_studies(optuna_mod, f"sqlite:///{path}", names=("healthy", "edge"))
    before = digest(path)
    code, out, err = run(["import", path, "--study", "healthy"], capsys)
    assert code == 0, err
    target = tmp_path / "tunewise.db"
    assert f"into study 'healthy' in {target}" in out
    study = tw.Study(objective=tw.Objective("value", "max"), sampler=tw.samplers.TPESampler(),
                     storage=f"sqlite:///{target}", study_name="healthy", score="last", verbose=0)
    assert study.resumed and len(study.trials) == 20
    study.optimize(lambda hp: -((hp.Float("x", -2.0, 2.0) - 0.3) ** 2), max_trials=22)
    assert len(study.trials) == 22
    assert digest(path) == before


def test_optuna_distributions_states_and_objectives_map_to_tunewise(optuna_mod, tmp_path,
                                                                     capsys):
    from tunewise.foreign import not_run, read_optuna
    from tunewise.space import Boolean, Choice, Fixed, Float, Int
    from tunewise.trial import TrialState

    url = f"sqlite:///{tmp_path / 'o.db'}"

    def objective(trial):
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        trial.suggest_int("layers", 1, 4)
        trial.suggest_float("q", 0.0, 1.0, step=0.25)
        trial.suggest_categorical("act", ["relu", None])
        trial.suggest_categorical("flag", [True, False])
        trial.suggest_categorical("one", ["only"])
        trial.set_user_attr("seen", trial.number)
        trial.report(0.5, 0)
        if trial.number == 1:
            raise optuna_mod.TrialPruned()
        return 1.0 + trial.number

    study = optuna_mod.create_study(study_name="mapped", storage=url, direction="minimize")
    study.set_metric_names(["val_loss"])
    study.optimize(objective, n_trials=3)
    multi = optuna_mod.create_study(study_name="pareto", storage=url,
                                    directions=["minimize", "maximize"])
    multi.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)

    pareto, mapped = read_optuna(url)  # the most recent first
    space = {hp.name: hp for hp in mapped.space}
    assert isinstance(space["lr"], Float) and space["lr"].sampling == "log"
    assert isinstance(space["layers"], Int) and space["q"].step == 0.25
    assert isinstance(space["act"], Choice) and space["act"].values == ("relu", "null")
    assert isinstance(space["flag"], Boolean) and isinstance(space["one"], Fixed)
    assert mapped.objective.name == "val_loss" and mapped.objective.direction == "min"
    first, pruned, last = mapped.trials
    assert first.state is TrialState.COMPLETED and first.score == 1.0
    assert first.values["act"] in ("relu", "null") and isinstance(first.values["layers"], int)
    assert pruned.state is TrialState.PRUNED and pruned.attrs["pruned_at_step"] == 0
    assert [s.metrics for s in last.steps] == [{"val_loss": 0.5}]
    assert mapped.settings["foreign"]["trial_user_attrs"]["2"] == {"seen": 2}
    assert any("multi-objective" in line for line in not_run(pareto))
    assert pareto.objective.name == "value_0"
    code, _, err = run(["import", url, "--study", "pareto", "--to",
                        f"sqlite:///{tmp_path / 'tw.db'}"], capsys)
    assert code == 2 and "multi-objective" in err, err
    assert not (tmp_path / "tw.db").exists()


def test_optuna_postgresql_study_is_read_in_read_only_transactions(optuna_mod, postgres_url,
                                                                    capsys):
    import sqlalchemy as sa

    schema = f"optuna_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    try:
        make_studies(optuna_mod, url, prefix=f"{schema}-")

        def rows() -> dict[str, list[tuple]]:
            with admin.connect() as conn:
                names = sa.inspect(conn).get_table_names(schema=schema)
                return {n: sorted(map(tuple, conn.execute(sa.text(f"SELECT * FROM {schema}.{n}"))),
                                  key=repr) for n in names}

        before = rows()
        code, out, err = run(["doctor", url, "--json"], capsys)
        assert code == 0, err
        reports = {r["study"]: r for r in json.loads(out)}
        assert "boundary-optimum" in severe(reports[f"{schema}-edge"])
        assert "failed-trials" in severe(reports[f"{schema}-failing"])
        assert not severe(reports[f"{schema}-healthy"])
        code, _, err = run(["doctor", url, "--study", f"{schema}-edge", "--fail-on", "warning"],
                           capsys)
        assert code == 1, err
        assert rows() == before
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


# ---------------------------------------------------------------------- CLI edges
def test_doctor_options_and_refusals(tmp_path, capsys):
    code, _, err = run(["doctor", tmp_path, "--objective", "val_loss"], capsys)
    assert code == 2 and "Keras Tuner project" in err, err
    code, _, err = run(["import", tmp_path], capsys)
    assert code == 2 and "neither a Keras Tuner project" in err, err
    with pytest.raises(SystemExit) as exc:
        main(["doctor", str(tmp_path), "--fail-on", "info"])
    assert exc.value.code == 2
    capsys.readouterr()
    assert os.listdir(tmp_path) == []


def test_help_documents_fail_on_and_import(capsys):
    with pytest.raises(SystemExit):
        main(["doctor", "--help"])
    out = capsys.readouterr().out
    assert "--fail-on" in out and "exit 1" in out and "Keras Tuner" in out
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "tunewise import PATH" in out and "--fail-on" in out
