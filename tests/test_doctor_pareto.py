"""The doctor on Pareto studies and constraints (issue 19): per-objective findings, the
front-stalled stall, infeasible trials counted, and the checks that read one best skipped with
a reason. Plain-Python objectives returning dicts, through the public API."""

from __future__ import annotations

import itertools

import pytest

import tunewise as tw
from tunewise.diagnostics import diagnose
from tunewise.diagnostics._model import SearchHistory
from tunewise.diagnostics._pareto import hypervolume_history

ACC_LAT = [tw.Objective("acc", "max"), tw.Objective("latency", "min")]


def pareto_study(objectives=ACC_LAT, **kwargs):
    return tw.Study(objectives, pareto=True, storage="memory", seed=0, verbose=0, **kwargs)


def trade_off(hp):
    x = hp.Float("x", 0.0, 1.0)
    units = hp.Int("units", 1, 8)
    return {"acc": x + 0.01 * units, "latency": 1.0 - x + 0.1 * units}


def test_a_pareto_study_counts_its_completed_trials_and_skips_single_best_checks():
    study = pareto_study()
    study.optimize(trade_off, max_trials=6)
    report = diagnose(study)
    budget = report.get("budget-too-small")
    assert budget is not None and budget.evidence["completed_trials"] == 6
    assert "Only 0" not in str(report)
    assert "stagnation" not in report.codes
    assert {"stagnation", "convergence", "lucky-epoch"} <= set(report.skipped)
    assert report.to_dict()["skipped"] == report.skipped
    assert "Skipped checks: stagnation" in str(report)
    assert report.best is None and "front of" in str(report)
    assert report.objective.startswith("Pareto front of acc (max), latency (min)")


def test_boundary_optimum_is_found_per_objective():
    study = pareto_study()
    study.optimize(trade_off, max_trials=30)
    report = diagnose(study)
    edges = [f for f in report.findings if f.code == "boundary-optimum"]
    assert {f.evidence["objective"] for f in edges} == {"acc", "latency"}
    for f in edges:
        assert f.message.startswith(f"On objective {f.evidence['objective']} (")
        assert f.evidence["hyperparameter"] == "x" and f.evidence["edge"] == "max"


def test_objective_not_logged_names_the_missing_objective():
    study = pareto_study()
    with pytest.raises(tw.errors.TooManyFailedTrialsError):
        study.optimize(lambda hp: {"acc": hp.Float("x", 0.0, 1.0)}, max_trials=5)
    found = diagnose(study).get("objective-not-logged")
    assert found is not None and found.severity == "problem"
    assert found.evidence["objective"] == "latency" and found.evidence["logged"] == ["acc"]


def test_direction_suspect_per_objective_by_name_only():
    study = pareto_study([tw.Objective("val_loss", "max"), tw.Objective("latency", "min")])
    study.optimize(lambda hp: {"val_loss": hp.Float("x", 0.0, 1.0),
                               "latency": hp.Float("y", 0.0, 1.0)}, max_trials=20)
    report = diagnose(study)
    found = [f for f in report.findings if f.code == "direction-suspect"]
    assert len(found) == 1 and found[0].evidence["objective"] == "val_loss"
    assert found[0].evidence["expected_direction"] == "min"


def test_a_trade_off_against_the_loss_is_not_a_direction_suspect():
    # The best on accuracy have the worst latency... and the loss tracks latency here: a front
    # trades them off by design.
    def objective(hp):
        x = hp.Float("x", 0.0, 1.0)
        return {"acc": x, "latency": x, "loss": x}

    study = pareto_study()
    study.optimize(objective, max_trials=25)
    assert "direction-suspect" not in diagnose(study).codes


def test_failed_trials_and_scale_suspect_on_the_space():
    def objective(hp):
        x = hp.Float("x", 0.0, 1.0)
        width = hp.Float("width", 1.0, 1000.0)
        if hp.Float("dropout", 0.0, 0.5) > 0.4:
            raise MemoryError("out of memory")
        return {"acc": x, "latency": x + width / 1000}

    study = pareto_study()
    study.optimize(objective, max_trials=30)
    report = diagnose(study)
    failed = report.get("failed-trials")
    assert failed is not None and failed.evidence["kinds"] == {"MemoryError": failed.evidence["failed"]}
    assert report.get("scale-suspect").evidence["hyperparameter"] == "width"


def test_front_stalled_when_the_first_trial_dominates_the_rest():
    count = itertools.count()

    def objective(hp):
        x = hp.Float("x", 0.0, 1.0)
        i = next(count)
        return {"acc": 1.0 if i == 0 else 0.5 * x, "latency": 0.0 if i == 0 else 1.0 - 0.5 * x}

    study = pareto_study()
    study.optimize(objective, max_trials=30)
    report = diagnose(study)
    stall = report.get("front-stalled")
    assert stall is not None
    assert stall.evidence["trials_since_last_growth"] == 29
    assert stall.evidence["last_growth_trial"] == "00"
    assert stall.evidence["front_size"] == 1
    history = stall.evidence["hypervolume_history"]
    assert len(history) == 30 and len(set(history)) == 1
    assert "front-stalled" not in [c.code for c in report.causes]  # a symptom, never a cause


def test_no_front_stalled_while_the_front_grows():
    count = itertools.count()

    def objective(hp):
        hp.Float("x", 0.0, 1.0)
        i = next(count)  # each trial extends the front
        return {"acc": i / 30, "latency": -i / 30 + 0.001 * (i % 2)}

    study = pareto_study()
    study.optimize(objective, max_trials=30)
    assert "front-stalled" not in diagnose(study).codes
    hv = hypervolume_history(SearchHistory.from_study(study))["hypervolume"]
    assert len(hv) == 30 and all(b >= a for a, b in itertools.pairwise(hv)) and hv[-1] > hv[0]


def test_hypervolume_history_never_decreases_on_a_random_search():
    study = pareto_study()
    study.optimize(trade_off, max_trials=25)
    hv = hypervolume_history(SearchHistory.from_study(study))
    assert hv["trials"] == [t.number for t in study.trials]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(hv["hypervolume"]))
    assert 0 < hv["hypervolume"][-1] <= 1.1 ** 2


def test_infeasible_trials_are_counted_per_constraint():
    def objective(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        trial.set_constraint("x_small", x - 0.2)
        return {"acc": x, "latency": x ** 2}

    study = pareto_study()
    study.optimize(objective, max_trials=30)
    found = diagnose(study).get("infeasible-trials")
    bad = sum(t.values["x"] > 0.2 for t in study.trials)
    assert bad > 15
    assert found is not None and found.severity == "warning"
    assert found.evidence["per_constraint"] == {"x_small": bad}
    assert f"{bad} of 30 completed trials violate constraint x_small" in found.message


def test_a_few_infeasible_trials_are_info_and_all_infeasible_a_problem():
    study = tw.Study("loss", storage="memory", seed=0, verbose=0,
                     constraints=lambda t: {"cap": t.steps[-1].metrics["loss"] - 0.9})
    study.optimize(lambda hp: {"loss": hp.Float("x", 0.0, 1.0)}, max_trials=20)
    found = diagnose(study).get("infeasible-trials")
    assert found is not None and found.severity == "info"
    study = pareto_study(constraints=lambda t: [1.0])
    study.optimize(trade_off, max_trials=20)
    found = diagnose(study).get("infeasible-trials")
    assert found.severity == "problem" and found.evidence["infeasible"] == 20
    assert "no trial is feasible" in found.message
