"""The doctor on whole searches: budget, exhaustion, reloads, failures, ranges, stagnation,
a healthy search without false alarms, the stall line, and the `tunewise doctor` command."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import tunewise as tw
from tunewise.cli import main as cli
from tunewise.diagnostics import diagnose


def memory(objective="loss", **kw):
    kw.setdefault("seed", 0)
    return tw.Study(objective, storage="memory", verbose=0, **kw)


def healthy_search():
    """A smooth objective with an interior optimum, enough trials, curves that flatten."""
    study = memory("val_loss", seed=3)

    def fn(hp, trial):
        lr = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        units = hp.Int("units", 16, 256, step=16)
        floor = 0.2 + 0.3 * (math.log10(lr) + 2.5) ** 2 + 0.5 * ((units - 128) / 128) ** 2
        for epoch in range(12):
            val = floor + 0.8 * math.exp(-0.6 * epoch)
            trial.report(epoch, {"loss": val * 0.9, "val_loss": val,
                                 "val_accuracy": 1 - val / 3})

    study.optimize(fn, max_trials=60)
    return study


def test_a_healthy_search_raises_no_warning_and_no_problem():
    report = diagnose(healthy_search())
    assert report.worst() == [], str(report)
    assert "stagnation" not in report.codes or report.get("stagnation").severity == "info"


def test_stagnation_of_a_converged_search_says_this_may_be_the_best_there_is():
    study = memory(seed=1)
    study.optimize(lambda hp: round(hp.Float("x", -1, 1) ** 2, 1), max_trials=40)
    finding = diagnose(study).get("stagnation")
    assert finding is not None and finding.severity == "info"
    assert "this may simply be the best there is" in finding.message
    assert finding.evidence["trials_without_improvement"] >= 20


def test_stagnation_names_the_findings_that_explain_it():
    study = memory(seed=2)
    study.optimize(lambda hp: hp.Float("lr", 1e-6, 1.0) * 0 + 1.0, max_trials=30)
    report = diagnose(study)
    finding = report.get("stagnation")
    assert finding.severity == "warning" and "scale-suspect" in finding.evidence["explained_by"]


def test_budget_too_small_for_the_number_of_dimensions():
    study = memory()
    study.optimize(
        lambda hp: hp.Float("a", 0, 1) + hp.Float("b", 0, 1) + hp.Float("c", 0, 1), max_trials=6
    )
    finding = diagnose(study).get("budget-too-small")
    assert finding.evidence == {"completed_trials": 6, "tuned_hyperparameters": 3,
                                "suggested_trials": 15}
    assert "max_trials to at least 15" in finding.fix


def test_budget_too_small_when_cut_while_still_improving():
    counter = iter(range(1000))
    study = memory()
    # Each trial is better than the last by the same step: cut by max_trials mid-descent.
    study.optimize(lambda hp: hp.Float("x", 0, 1) * 0.01 + 10.0 - 0.5 * next(counter),
                   max_trials=20)
    findings = [f for f in diagnose(study).findings if f.code == "budget-too-small"]
    assert any(f.evidence.get("stopped_by") == "max_trials" for f in findings)


def test_a_bayesian_search_that_never_left_its_initial_phase(tmp_path):
    class Tuner(tw.BayesianOptimization):
        def run_trial(self, trial, *args, **kwargs):
            return trial.hyperparameters.Float("x", 0, 1)

    tuner = Tuner(objective="loss", max_trials=4, num_initial_points=5, directory=str(tmp_path),
                  project_name="bo", verbose=0, seed=0)
    tuner.search()
    finding = [f for f in tuner.diagnose().findings if "num_initial_points" in f.evidence][0]
    assert finding.evidence == {"completed_trials": 4, "num_initial_points": 5}


def test_the_initial_phase_check_uses_the_gp_default_design_size(tmp_path):
    """Without num_initial_points, tunewise's GP starts with max(10, min(20, d + 2)) design
    points (not Keras Tuner's 3 per hyperparameter): 8 trials of 2 hyperparameters never
    left that phase, and the doctor says so with the size the sampler really used."""

    class Tuner(tw.BayesianOptimization):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            return hp.Float("x", 0, 1) + hp.Float("y", 0, 1)

    tuner = Tuner(objective="loss", max_trials=8, directory=str(tmp_path), project_name="bo",
                  verbose=0, seed=0)
    tuner.search()
    finding = [f for f in tuner.diagnose().findings if "num_initial_points" in f.evidence][0]
    assert finding.evidence == {"completed_trials": 8, "num_initial_points": 10}


def test_search_space_exhausted_is_found_from_the_run_log():
    study = memory()
    study.optimize(lambda hp: float(hp.Boolean("a")) + float(hp.Boolean("b")), max_trials=10)
    finding = diagnose(study).get("search-space-exhausted")
    assert finding.severity == "warning"
    assert finding.evidence["unique_configurations"] == 4 and finding.evidence["space_size"] == 4

    grid = tw.Study("loss", tw.GridSampler(), storage="memory", verbose=0)
    grid.optimize(lambda hp: float(hp.Boolean("a")), max_trials=10)
    assert diagnose(grid).get("search-space-exhausted").severity == "info"


def test_a_reloaded_finished_project_is_named_and_the_cli_reads_it_without_the_script(
    tmp_path, capsys
):
    def fn(hp):
        return hp.Float("x", 0, 1)

    where = dict(directory=str(tmp_path), project_name="proj", seed=0, verbose=0)
    tw.Study("loss", **where).optimize(fn, max_trials=3)
    again = tw.Study("loss", **where)
    again.optimize(fn, max_trials=3)
    finding = again.diagnose().get("resumed-finished-project")
    assert finding.severity == "warning" and finding.evidence["max_trials"] == 3
    assert "overwrite=True" in finding.fix

    assert cli(["doctor", str(tmp_path / "proj")]) == 0
    out = capsys.readouterr().out
    assert "[WARNING] resumed-finished-project" in out and "ran no new trial" in out
    assert cli(["doctor", str(tmp_path), "--json"]) == 0  # a directory of projects
    (report,) = json.loads(capsys.readouterr().out)
    assert "resumed-finished-project" in [f["code"] for f in report["findings"]]
    assert report["trials"] == 3


def test_the_doctor_command_runs_as_a_program_and_reports_user_errors_in_one_line(tmp_path):
    tw.Study("loss", directory=str(tmp_path), project_name="p", verbose=0).optimize(
        lambda hp: hp.Float("x", 0, 1), max_trials=2
    )
    ok = subprocess.run([sys.executable, "-m", "tunewise.cli", "doctor", str(tmp_path / "p")],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "Diagnosis of study 'p'" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "tunewise.cli", "doctor", str(tmp_path / "nope")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "does not exist" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert cli(["doctor", str(tmp_path / "p"), "--study", "other"]) == 2


def test_failed_trials_and_the_values_they_share():
    study = memory(max_consecutive_failed_trials=0)

    def fn(hp):
        lr = hp.Float("lr", 1e-4, 1.0, sampling="log")
        return math.nan if lr >= 0.1 else lr

    study.optimize(fn, max_trials=40)
    finding = diagnose(study).get("failed-trials")
    failed = [t for t in study.trials if t.state is tw.TrialState.FAILED]
    assert finding.evidence["failed"] == len(failed) >= 3
    assert finding.evidence["kinds"] == {"nan-or-inf": len(failed)}
    smallest = min(t.values["lr"] for t in failed)
    assert finding.evidence["shared_values"] == [
        f"every lr >= {smallest:g} failed ({len(failed)} of {len(failed)})"
    ]
    assert f"lr max_value below {smallest:g}" in finding.fix


def test_boundary_optimum_suggests_widening_the_range():
    study = memory(seed=4)
    study.optimize(lambda hp: -hp.Float("x", 0.0, 2.0) + 0 * hp.Float("y", 0, 1), max_trials=40)
    (finding,) = [f for f in diagnose(study).findings if f.code == "boundary-optimum"]
    assert finding.evidence["hyperparameter"] == "x" and finding.evidence["edge"] == "max"
    assert finding.severity == "warning" and "max_value=3" in finding.fix
    assert all(v >= 1.8 for v in finding.evidence["top_values"])

    ints = memory(seed=5)
    ints.optimize(lambda hp: float(hp.Int("k", 1, 9)), max_trials=30)
    (finding,) = [f for f in diagnose(ints).findings if f.code == "boundary-optimum"]
    assert finding.evidence["edge"] == "min" and finding.evidence["top_values"][0] == 1


def test_scale_suspect_on_a_linear_range_over_orders_of_magnitude():
    study = memory()
    study.optimize(lambda hp: hp.Float("learning_rate", 1e-5, 1e-1), max_trials=20)
    finding = diagnose(study).get("scale-suspect")
    assert finding.evidence["orders_of_magnitude"] == pytest.approx(4.0)
    assert finding.evidence["in_top_decade"] >= 15
    assert 'sampling="log"' in finding.fix


def test_the_search_prints_one_line_when_the_best_stalls(capsys):
    study = tw.Study("loss", storage="memory", seed=0, verbose=1)
    study.optimize(lambda hp: hp.Float("lr", 1e-6, 1.0) * 0 + 1.0, max_trials=25)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "has not improved" in ln]
    assert len(lines) == 1
    assert "[scale-suspect]" in lines[0] and "diagnose()" in lines[0]


def test_report_prints_and_serialises():
    report = diagnose(healthy_search())
    data = json.loads(report.to_json())
    assert data["trials"] == 60 and data["best"] == pytest.approx(report.best)
    assert str(report).startswith("Diagnosis of study")
    assert np.isfinite(report.best)


def test_reruns_left_waiting_are_named_with_what_cut_them(tmp_path, capsys):
    """Ctrl-C during a trial leaves its stored re-run: the doctor says the best does not count
    it yet, and what cut it; after the next search it is gone."""
    def fn(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        if trial.number == 3:
            raise KeyboardInterrupt  # what Ctrl-C raises in the objective
        return x

    study = tw.Study("loss", directory=str(tmp_path), project_name="p", seed=0, verbose=1)
    study.optimize(fn, max_trials=6)  # returns: Ctrl-C stops the search with one line
    out = capsys.readouterr().out
    assert "Interrupted (Ctrl-C): 3 trials finished in this run; 1 running trial(s)" in out
    assert study.runs[-1]["stopped_because"] == "interrupted"
    (finding,) = [f for f in diagnose(study).findings if f.code == "reruns-pending"]
    assert finding.severity == "warning" and finding.evidence["interrupted"] == 1
    assert finding.evidence["configurations"] == [3]
    assert "1 trials wait to be re-run (1 cut by Ctrl-C" in finding.message

    study.optimize(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=6)
    assert "reruns-pending" not in diagnose(study).codes
    assert not [t for t in study.trials if not t.state.is_finished]
    (rerun,) = [t for t in study.trials if t.retry_of == 3]
    assert rerun.state is tw.TrialState.COMPLETED and rerun.values == study.trials[3].values
