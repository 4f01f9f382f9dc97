"""Projects on disk: resume, a killed run, finished studies, changed studies, changed spaces."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import tunewise as tw
from tunewise.trial import TrialState


def quadratic(hp):
    x = hp.Float("x", -2.0, 2.0)
    return (x - 0.5) ** 2


def project(tmp_path, objective="loss", **kwargs):
    kwargs.setdefault("seed", 0)
    return tw.Study(objective, directory=str(tmp_path), project_name="proj", **kwargs)


def test_rerunning_the_script_resumes_to_max_trials(tmp_path, capsys):
    first = project(tmp_path)
    first.optimize(quadratic, max_trials=3)
    stored = [(t.values, t.score) for t in first.trials]
    capsys.readouterr()

    again = project(tmp_path)
    assert "Resuming study 'proj'" in capsys.readouterr().out
    again.optimize(quadratic, max_trials=5)
    assert len(again.trials) == 5
    assert [(t.values, t.score) for t in again.trials[:3]] == stored
    assert again.best_value == min(t.score for t in again.trials)


def test_a_finished_study_says_no_new_trial_will_run(tmp_path, capsys):
    project(tmp_path).optimize(quadratic, max_trials=4)
    capsys.readouterr()
    again = project(tmp_path)
    best = again.best_value
    again.optimize(quadratic, max_trials=4)
    out = capsys.readouterr().out
    assert "already has 4 trials (max_trials=4): no new trial will run" in out
    assert "raise max_trials" in out
    assert len(again.trials) == 4 and again.results_summary(print_summary=False).best_objective == best


def test_the_seed_examples_one_after_another_each_report_their_own_best(tmp_path, capsys):
    """The seed's three scripts share my_dir/my_project with different tuners and objectives."""

    def model(hp):
        units = hp.Int("units", 32, 512, step=32)
        lr = hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])
        val_loss = abs(units - 256) / 512 + lr
        return {"val_loss": val_loss, "val_accuracy": 1.0 - val_loss / 2}

    where = dict(directory=str(tmp_path / "my_dir"), project_name="my_project", verbose=1)
    one = tw.Study("val_loss", algorithm="hyperband", seed=1, **where)
    one.optimize(model, max_trials=4)
    capsys.readouterr()

    two = tw.Study("val_accuracy", algorithm="bayesian", seed=2, **where)
    out = capsys.readouterr().out
    assert "already holds study 'my_project'" in out
    assert "runs as a new study 'my_project-2' beside it; the stored study is kept" in out
    assert "objective val_loss (min) -> val_accuracy (max)" in out
    two.optimize(model, max_trials=3)
    assert len(two.trials) == 3
    assert two.best_value == max(t.score for t in two.trials)

    three = tw.Study("val_loss", algorithm="random", seed=3, **where)
    three.optimize(model, max_trials=2)
    assert three.name == "my_project-3" and len(three.trials) == 2
    assert three.best_value == min(t.score for t in three.trials)

    # Nothing was lost, and re-running example 1 resumes its own study.
    names = {s.name: len(three.storage.get_trials(s.id)) for s in three.storage.list_studies()}
    assert names == {"my_project": 4, "my_project-2": 3, "my_project-3": 2}
    again = tw.Study("val_loss", algorithm="hyperband", seed=1, **where)
    assert again.name == "my_project" and again.best_value == one.best_value


def test_overwrite_deletes_only_the_study_it_would_resume(tmp_path, capsys):
    project(tmp_path).optimize(quadratic, max_trials=3)
    project(tmp_path, objective="val_accuracy").optimize(lambda hp: hp.Float("a", 0, 1), 2)
    capsys.readouterr()
    fresh = project(tmp_path, overwrite=True)
    assert "overwrite=True: deleted the stored study 'proj' (3 trials)" in capsys.readouterr().out
    assert fresh.trials == []
    names = sorted(s.name for s in fresh.storage.list_studies())
    assert names == ["proj", "proj-2"]


def test_a_changed_search_space_is_reported_with_old_and_new_definitions(tmp_path, capsys):
    project(tmp_path).optimize(lambda hp: hp.Int("units", 32, 512, step=32) / 512, max_trials=3)
    capsys.readouterr()
    again = project(tmp_path)
    again.optimize(lambda hp: hp.Int("units", 16, 256, step=16) / 512, max_trials=5)
    out = capsys.readouterr().out
    assert "Search space changed since the stored study: 'units' was Int(32..512, step=32" in out
    assert "now Int(16..256, step=16" in out
    assert out.count("Search space changed") == 1
    new_values = [t.values["units"] for t in again.trials[3:]]
    assert all(16 <= u <= 256 and u % 16 == 0 for u in new_values)
    reopened = project(tmp_path)
    assert reopened.space[0].max_value == 256  # the stored space follows the code


KILLED_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import tunewise as tw

    def fn(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        for epoch in range(3):
            trial.report(epoch, {"loss": x + epoch})
            if trial.number == 3 and epoch == 1:
                print("HANGING", flush=True)
                time.sleep(120)

    study = tw.Study("loss", directory=sys.argv[1], project_name="p", seed=0, verbose=0)
    study.optimize(fn, max_trials=6)
    """
)


def test_resume_after_sigkill_in_the_middle_of_a_trial_loses_no_completed_trial(tmp_path, capsys):
    script = tmp_path / "killed.py"
    script.write_text(KILLED_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "HANGING"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    db = tmp_path / "p" / "tunewise.db"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()

    def fn(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        for epoch in range(3):
            trial.report(epoch, {"loss": x + epoch})

    study = tw.Study("loss", directory=str(tmp_path), project_name="p", seed=0, verbose=1)
    out = capsys.readouterr().out
    # Opening only reads: the cut trial is named, and failed and re-run by the next search.
    assert "Trial 3 was left RUNNING by a worker that is gone" in out
    assert [t.state for t in study.trials] == [TrialState.COMPLETED] * 3 + [TrialState.RUNNING]

    study.optimize(fn, max_trials=6)
    out = capsys.readouterr().out
    assert "Trial 3 was left RUNNING by a worker that died; marked FAILED" in out
    before = study.trials[:4]
    assert before[3].state is TrialState.FAILED and before[3].attrs["cut_by_crash"] is True
    assert [s.step for s in before[3].steps] == [0, 1]  # the steps it reported are kept
    assert "died" in before[3].reason
    trials = study.trials
    assert [(t.values, t.score) for t in trials[:3]] == [(t.values, t.score) for t in before[:3]]
    rerun = trials[4]
    assert rerun.retry_of == 3 and rerun.values == before[3].values
    assert rerun.state is TrialState.COMPLETED
    assert study.n_slots == 6
    assert sum(t.state is TrialState.COMPLETED for t in trials) == 6


def test_a_hyperparameter_removed_from_the_code_is_not_recorded_in_new_trials(tmp_path):
    def two(hp):
        return hp.Float("x", 0, 1) + hp.Float("dropout", 0, 0.5)

    project(tmp_path).optimize(two, max_trials=2)
    again = project(tmp_path)
    again.optimize(lambda hp: hp.Float("x", 0, 1), max_trials=4)
    assert all("dropout" in t.values for t in again.trials[:2])
    assert all(set(t.values) == {"x"} for t in again.trials[2:])


def test_projects_sharing_one_storage_keep_their_own_studies(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"

    def study(project):
        return tw.Study("loss", storage=url, project_name=project, seed=0, verbose=0)

    first = study("alpha").optimize(lambda hp: hp.Float("x", 0, 1), max_trials=3)
    other = study("beta")  # the same search, another project: a study of its own
    assert not other.resumed and other.name == "beta" and other.trials == []
    other.optimize(lambda hp: hp.Float("x", 0, 1), max_trials=2)
    again = study("alpha")
    assert again.resumed and again.name == "alpha" and len(again.trials) == 3
    assert [t.values for t in again.trials] == [t.values for t in first.trials]
    assert len(study("beta").trials) == 2
