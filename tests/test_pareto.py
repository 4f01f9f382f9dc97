"""Several objectives and constraints (issue 19): fronts against brute force, exact
hypervolume, feasibility in the best and the front, failed trials, resume, Keras Tuner's summed
ranking kept, and ParEGO (the interim Pareto default for model samplers) against random search."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tunewise as tw
from tunewise import trial_attrs as keys
from tunewise.cli import main as cli_main
from tunewise.objective import ParetoObjective, objective_from_config, pareto_objective
from tunewise.pareto import (
    dominates,
    feasibility,
    hypervolume,
    nondominated,
    nondominated_sort,
    objective_values,
    pareto_front,
    pareto_ranks,
    violation,
)
from tunewise.samplers import ParEGOSampler
from tunewise.samplers._parego import augmented_chebyshev, weight_vectors
from tunewise.trial import FrozenTrial, Step, TrialState, rank_trials

ACC_LAT = [tw.Objective("acc", "max"), tw.Objective("latency", "min")]


def brute_front(points):
    return [
        i for i, p in enumerate(points)
        if not any(dominates(q, p) for j, q in enumerate(points) if j != i)
    ]


def inclusion_exclusion_hv(points, ref):
    """The union of the boxes [p, ref] by inclusion-exclusion: exact, exponential."""
    boxes = [p for p in points if all(a < r for a, r in zip(p, ref))]
    total = 0.0
    for size in range(1, len(boxes) + 1):
        for subset in itertools.combinations(boxes, size):
            corner = np.max(np.array(subset), axis=0)
            total += (-1) ** (size + 1) * float(np.prod(np.array(ref) - corner))
    return total


points_strategy = st.integers(1, 4).flatmap(
    lambda k: st.lists(st.lists(st.integers(0, 4), min_size=k, max_size=k), max_size=40)
)


# ---------------------------------------------------------------------- fronts
@settings(max_examples=300, deadline=None)
@given(points_strategy)
def test_nondominated_equals_the_brute_force_set(points):
    """Small integer grids: many duplicates and ties; every copy of a front point is kept."""
    assert nondominated(points) == brute_front(points)


@settings(max_examples=100, deadline=None)
@given(points_strategy)
def test_nondominated_sort_peels_fronts(points):
    fronts = nondominated_sort(points)
    assert sorted(i for f in fronts for i in f) == list(range(len(points)))
    rest = list(range(len(points)))
    for front in fronts:
        assert front == [rest[i] for i in brute_front([points[j] for j in rest])]
        rest = [i for i in rest if i not in front]


def test_ties_and_duplicates_are_all_on_the_front():
    points = [(1, 2), (1, 2), (2, 1), (1, 3), (2, 2)]
    assert nondominated(points) == [0, 1, 2]
    assert nondominated([]) == []
    with pytest.raises(ValueError, match="NaN"):
        nondominated([(1.0, math.nan)])


# ---------------------------------------------------------------------- hypervolume
def test_hypervolume_two_dimensions_by_hand():
    # staircase (1,3), (2,2), (3,1) under (4,4): 3 + 2 + 1
    assert hypervolume([(1, 3), (2, 2), (3, 1)], (4, 4)) == pytest.approx(6.0)
    # a dominated point, a duplicate and a point beyond the reference add nothing
    assert hypervolume([(1, 3), (2, 2), (3, 1), (3, 3), (2, 2), (5, 0)], (4, 4)) == 6.0
    assert hypervolume([(0, 0)], (2, 3)) == 6.0
    assert hypervolume([(4, 1)], (4, 4)) == 0.0  # on the reference's edge: no volume
    assert hypervolume([], (1, 1)) == 0.0


def test_hypervolume_three_dimensions_by_hand():
    # three unit-offset boxes in [0,2]^3: 3 * 4 - 3 * 2 + 1 = 7
    assert hypervolume([(1, 0, 0), (0, 1, 0), (0, 0, 1)], (2, 2, 2)) == pytest.approx(7.0)
    assert hypervolume([(0, 0, 0)], (1, 2, 3)) == pytest.approx(6.0)
    # (0,0,1) and (1,1,0) under (2,2,2): 2*2*1 + 1*1*2 - 1*1*1 = 5
    assert hypervolume([(0, 0, 1), (1, 1, 0)], (2, 2, 2)) == pytest.approx(5.0)
    # 1-d: the distance to the reference from the best point
    assert hypervolume([(3,), (1,)], (4,)) == 3.0


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 4).flatmap(lambda k: st.lists(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=k, max_size=k), max_size=7)))
def test_hypervolume_equals_inclusion_exclusion(points):
    ref = [1.0] * (len(points[0]) if points else 2)
    assert hypervolume(points, ref) == pytest.approx(inclusion_exclusion_hv(points, ref), abs=1e-9)


# ---------------------------------------------------------------------- objectives
def test_pareto_objective_spellings_and_config():
    made = pareto_objective(ACC_LAT)
    assert made == pareto_objective(["acc", "latency"], ["maximize", "minimize"])
    assert made.names == ("acc", "latency") and made.directions == ("max", "min")
    assert made.describe() == "Pareto front of acc (max), latency (min)"
    assert objective_from_config(json.loads(json.dumps(made.get_config()))) == made
    assert made.value_from({"acc": 1, "latency": 2}) is None
    assert made.values_from({"acc": 1, "latency": 2}) == (1.0, 2.0)
    unnamed = pareto_objective(None, ["minimize", "maximize"])
    assert unnamed.names == ("objective_0", "objective_1")
    with pytest.raises(ValueError, match="one direction per objective"):
        pareto_objective(["a", "b"], ["min"])
    with pytest.raises(ValueError, match="disagrees"):
        pareto_objective([tw.Objective("a", "max"), "b"], ["min", "min"])
    with pytest.raises(ValueError, match="at least two"):
        ParetoObjective((tw.Objective("a", "max"),))
    with pytest.raises(ValueError, match="several objectives"):
        tw.Study("val_loss", pareto=True, storage="memory", verbose=0)


def test_a_list_stays_keras_tuners_sum_without_pareto():
    study = tw.Study(ACC_LAT, storage="memory", verbose=0)
    assert isinstance(study.objective, tw.MultiObjective) and not study.is_pareto
    single = tw.Study(directions=["maximize"], storage="memory", verbose=0)
    assert single.objective == tw.Objective("objective_0", "max")


def frozen(number, metrics, state=TrialState.COMPLETED, attrs=None, best_step=0):
    steps = (Step(0, dict(metrics)),) if metrics is not None else ()
    return FrozenTrial(number, state, {"x": number}, steps=steps, best_step=best_step,
                       attrs=dict(attrs or {}))


def test_objective_values_are_minimisation_signed_at_the_scored_step():
    t = FrozenTrial(0, TrialState.COMPLETED, {}, steps=(
        Step(0, {"acc": 0.5, "latency": 3.0}), Step(1, {"acc": 0.9, "latency": 4.0})),
        best_step=0)
    assert objective_values(t, ACC_LAT) == (-0.5, 3.0)
    assert objective_values(FrozenTrial(0, TrialState.COMPLETED, {}, steps=t.steps), ACC_LAT) \
        == (-0.9, 4.0)  # no best_step (an imported trial): the last complete step
    assert objective_values(frozen(1, {"acc": 1.0}), ACC_LAT) is None
    assert objective_values(frozen(2, {"acc": 1, "latency": 1}, TrialState.FAILED), ACC_LAT) \
        is None


def test_feasibility_and_violation():
    assert feasibility(frozen(0, {})) is None and violation(frozen(0, {})) is None
    ok = frozen(1, {}, attrs={keys.CONSTRAINTS: {"a": -1.0, "b": 0.0}})
    bad = frozen(2, {}, attrs={keys.CONSTRAINTS: {"a": -1.0, "b": 0.5}})
    assert feasibility(ok) is True and violation(ok) == 0.0
    assert feasibility(bad) is False and violation(bad) == 0.5
    failed = frozen(3, None, TrialState.FAILED, {keys.FAILED_INFEASIBLE: True})
    assert feasibility(failed) is False and violation(failed) == math.inf


def test_front_of_trials_skips_failed_pruned_running_and_infeasible():
    trials = [
        frozen(0, {"acc": 0.9, "latency": 5.0}),
        frozen(1, {"acc": 0.8, "latency": 2.0}),
        frozen(2, {"acc": 0.8, "latency": 2.0}),  # a tie: both on the front
        frozen(3, {"acc": 0.99, "latency": 1.0}, TrialState.FAILED),
        frozen(4, {"acc": 0.99, "latency": 1.0}, TrialState.PRUNED),
        frozen(5, {"acc": 0.99, "latency": 1.0}, TrialState.RUNNING),
        frozen(6, {"acc": 0.99, "latency": 1.0}, attrs={keys.CONSTRAINTS: {"mem": 1.0}}),
        frozen(7, {"acc": 0.5, "latency": 3.0}),  # dominated by 1
    ]
    assert [t.number for t in pareto_front(trials, ACC_LAT)] == [0, 1, 2]
    assert rank_trials(trials, pareto_objective(ACC_LAT)) == []  # no score, no ranking
    assert pareto_ranks(trials, ACC_LAT) == {0: 0, 1: 0, 2: 0, 7: 1}


# ---------------------------------------------------------------------- the study
def zdt1(hp):
    x1, x2 = hp.Float("x1", 0.0, 1.0), hp.Float("x2", 0.0, 1.0)
    g = 1.0 + 9.0 * x2
    return {"f1": x1, "f2": g * (1.0 - math.sqrt(x1 / g))}


def test_study_front_is_the_brute_force_front_and_best_trial_raises():
    study = tw.Study([tw.Objective("f1", "min"), tw.Objective("f2", "min")], pareto=True,
                     storage="memory", seed=3, verbose=0)
    study.optimize(zdt1, max_trials=25)
    points = [objective_values(t, study.objective) for t in study.trials]
    assert [t.number for t in study.best_trials] == brute_front(points)
    assert study.best_trials == study.pareto_front()
    assert all(t.score is None and t.best_step == 0 for t in study.trials)
    with pytest.raises(RuntimeError, match="best_trials"):
        _ = study.best_trial
    text = str(study.results_summary(print_summary=False))
    assert f"Showing the Pareto front: {len(study.best_trials)} trials" in text
    assert "Values: f1=" in text


def test_tuple_results_and_bad_results_of_a_pareto_study():
    study = tw.Study(["acc", "latency"], directions=["maximize", "minimize"], storage="memory",
                     verbose=0)
    t = study.ask()
    assert study.tell(t, (0.9, 3.0)).steps[-1].metrics == {"acc": 0.9, "latency": 3.0}
    t = study.ask()
    failed = study.tell(t, 0.5)
    assert failed.state is TrialState.FAILED and "needs a value for each" in failed.reason
    t = study.ask()
    failed = study.tell(t, {"acc": 0.5})
    assert failed.state is TrialState.FAILED and "latency never reported" in failed.reason
    t = study.ask()
    failed = study.tell(t, (0.5, math.nan))
    assert failed.state is TrialState.FAILED and "nan" in failed.reason
    assert [x.number for x in study.best_trials] == [0]


def test_pareto_refuses_pruners_and_schedulers():
    with pytest.raises(ValueError, match="do not serve a Pareto search"):
        tw.Study(ACC_LAT, pareto=True, storage="memory", verbose=0,
                 pruner=tw.schedulers.MedianPruner())


def test_model_samplers_are_wrapped_in_parego_random_and_grid_are_not():
    wrapped = tw.Study(ACC_LAT, pareto=True, sampler=tw.TPESampler(), storage="memory",
                       verbose=0)
    assert isinstance(wrapped.sampler, ParEGOSampler)
    assert isinstance(wrapped.sampler.base, tw.TPESampler)
    for plain in (tw.RandomSampler(), tw.GridSampler()):
        assert tw.Study(ACC_LAT, pareto=True, sampler=plain, storage="memory",
                        verbose=0).sampler is plain
    single = tw.Study("loss", sampler=tw.TPESampler(), storage="memory", verbose=0)
    assert isinstance(single.sampler, tw.TPESampler)


def test_constraints_keep_infeasible_trials_out_of_the_best_and_the_front():
    def objective(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        trial.set_constraint("x_at_least_0.3", 0.3 - x)
        return {"loss": x, "cost": 1.0 - x}

    def cost_cap(t):
        return {"cost_below_0.6": t.steps[-1].metrics["cost"] - 0.6}

    study = tw.Study("loss", storage="memory", seed=0, verbose=0, constraints=cost_cap)
    study.optimize(objective, max_trials=30)
    feasible = [t for t in study.trials if 0.4 <= t.values["x"]]
    infeasible = [t for t in study.trials if t.values["x"] < 0.4]
    assert feasible and infeasible
    assert all(t.feasible is False for t in infeasible)
    assert all(t.feasible is True for t in feasible)
    assert all(set(t.constraints) == {"x_at_least_0.3", "cost_below_0.6"}
               for t in study.trials)
    assert study.best_trial == min(feasible, key=lambda t: t.score)
    assert study.best_trial.score >= 0.4
    assert study.best_trials == [study.best_trial]
    assert all(t.feasible is not False for t in rank_trials(study.trials, study.objective))
    assert study.settings["constraints"]["failed_as_infeasible"] is False

    pareto = tw.Study([tw.Objective("loss", "min"), tw.Objective("cost", "min")], pareto=True,
                      storage="memory", seed=0, verbose=0,
                      constraints=lambda t: [t.steps[-1].metrics["cost"] - 0.6])
    pareto.optimize(objective, max_trials=30)
    assert pareto.best_trials and all(t.values["x"] >= 0.4 for t in pareto.best_trials)


def test_no_feasible_trial_is_said_plainly(capsys):
    study = tw.Study("loss", storage="memory", seed=0, verbose=1, constraints=lambda t: [1.0])
    study.optimize(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=3)
    assert study.best_trial is None and study.best_trials == []
    out = capsys.readouterr().out
    assert "no feasible trial: each of the 3 completed trials violates a constraint" in out
    assert "(infeasible: constraint_0=1)" in out
    text = str(study.results_summary(print_summary=False))
    assert "Infeasible: 3 completed trials violate a constraint" in text
    assert "no trial is feasible" in text


def test_bad_constraints_fail_the_trial():
    def raising(trial):
        raise RuntimeError("boom")

    study = tw.Study("loss", storage="memory", verbose=0, constraints=raising)
    t = study.ask()
    done = study.tell(t, 1.0)
    assert done.state is TrialState.FAILED and "constraints function raised" in done.reason
    study = tw.Study("loss", storage="memory", verbose=0, constraints=lambda t: [math.nan])
    done = study.tell(study.ask(), 1.0)
    assert done.state is TrialState.FAILED and "not a finite number" in done.reason
    trial = tw.Study("loss", storage="memory", verbose=0).ask()
    with pytest.raises(ValueError, match="finite"):
        trial.set_constraint("m", math.inf)
    with pytest.raises(TypeError):
        tw.Study("loss", storage="memory", verbose=0, constraints=[1.0])


def test_failed_trials_never_on_the_front_and_failed_as_infeasible_is_stored():
    def objective(hp):
        x = hp.Float("x", 0.0, 1.0)
        if x > 0.5:
            raise MemoryError("out of memory")
        return {"acc": x, "latency": x * x}

    study = tw.Study(ACC_LAT, pareto=True, storage="memory", seed=1, verbose=0,
                     failed_as_infeasible=True, max_consecutive_failed_trials=100)
    study.optimize(objective, max_trials=20)
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    assert failed and all(t.attrs[keys.FAILED_INFEASIBLE] and t.feasible is False
                          for t in failed)
    assert all(t.state is TrialState.COMPLETED for t in study.best_trials)
    assert all(t.values["x"] <= 0.5 for t in study.best_trials)
    assert study.settings["constraints"] == {"function": None, "failed_as_infeasible": True}
    plain = tw.Study("loss", storage="memory", verbose=0)
    assert keys.FAILED_INFEASIBLE not in plain.tell(plain.ask(), math.nan).attrs


def test_resume_keeps_the_front_and_the_constraints(tmp_path):
    def objective(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        trial.set_constraint("x_max", x - 0.8)
        return (x, x * x + 0.1 * hp.Float("y", 0.0, 1.0))

    def make(**kw):
        return tw.Study(ACC_LAT, pareto=True, directory=str(tmp_path), project_name="p",
                        seed=0, verbose=0, constraints=lambda t: [t.values["y"] - 0.9], **kw)

    first = make()
    first.optimize(objective, max_trials=15)
    front = [t.number for t in first.best_trials]
    constraints = {t.number: t.constraints for t in first.trials}
    again = make()
    assert again.resumed
    assert [t.number for t in again.best_trials] == front
    assert {t.number: t.constraints for t in again.trials} == constraints
    assert all(t.feasible for t in again.best_trials)
    again.optimize(objective, max_trials=20)
    assert len(again.trials) == 20
    loaded = tw.load_study(str(tmp_path / "p"))
    assert [t.number for t in loaded.best_trials] == [t.number for t in again.best_trials]
    # a summed study under the same name is a different search: never mixed
    summed = tw.Study(ACC_LAT, directory=str(tmp_path), project_name="p", verbose=0)
    assert not summed.resumed and summed.name != again.name and not summed.trials


def test_cli_trials_front_and_json_summary(tmp_path, capsys):
    study = tw.Study([tw.Objective("f1", "min"), tw.Objective("f2", "min")], pareto=True,
                     directory=str(tmp_path), project_name="z", seed=0, verbose=0)
    study.optimize(zdt1, max_trials=12)
    front = [t.number for t in study.best_trials]
    capsys.readouterr()
    assert cli_main(["trials", str(tmp_path / "z"), "--front", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["number"] for r in rows] == front
    assert all({"f1", "f2"} <= set(r) for r in rows)
    assert cli_main(["trials", str(tmp_path / "z"), "--front"]) == 0
    text = capsys.readouterr().out
    assert f"{len(front)} on the Pareto front of f1 (min), f2 (min) of 12 trials" in text
    assert cli_main(["summary", str(tmp_path / "z")]) == 0
    assert f"Showing the Pareto front: {len(front)} trials" in capsys.readouterr().out

    from tunewise.diagnostics import SearchHistory
    from tunewise.report._summary import study_summary

    summary = study_summary(SearchHistory.from_study(study))
    assert [f["trial"] for f in summary["front"]] == front
    assert summary["best_trial"] is None


# ---------------------------------------------------------------------- Keras Tuner's sum
def test_keras_tuner_list_objective_keeps_its_summed_ranking(tmp_path):
    pytest.importorskip("keras")
    import keras

    curves = {  # per configuration x: (val_loss, val_accuracy) per epoch
        0: [(0.9, 0.50), (0.5, 0.60), (0.7, 0.62)],
        1: [(0.4, 0.70), (0.6, 0.90)],
        2: [(0.3, 0.40), (0.2, 0.45)],
        3: [(0.8, 0.95), (0.9, 0.96)],
    }

    class Curves(tw.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            x = trial.hyperparameters.Int("x", 0, 3)
            history = keras.callbacks.History()
            history.history = {"val_loss": [a for a, _ in curves[x]],
                               "val_accuracy": [b for _, b in curves[x]]}
            return history

    tuner = Curves(objective=["val_loss", tw.Objective("val_accuracy", "max")], max_trials=4,
                   directory=str(tmp_path), project_name="kt", seed=0, verbose=0)
    tuner.search()
    assert isinstance(tuner.study.objective, tw.MultiObjective)
    # Keras Tuner's rule: each trial's best epoch of val_loss - val_accuracy, lowest first
    best_sum = {x: min(a - b for a, b in c) for x, c in curves.items()}
    by_x = {t.values["x"]: t for t in tuner.study.trials}
    assert {x: t.score for x, t in by_x.items()} == pytest.approx(best_sum)
    ranked = [hp.values["x"] for hp in tuner.get_best_hyperparameters(4)]
    assert ranked == sorted(best_sum, key=best_sum.get)
    assert tuner.oracle.get_best_trials(1)[0].score == pytest.approx(min(best_sum.values()))
    # the front: values at each trial's scored (summed-best) epoch, under the components
    at_step = {x: curves[x][by_x[x].best_step] for x in curves}
    points = {x: (a, -b) for x, (a, b) in at_step.items()}
    expected = sorted(by_x[x].number for x in curves
                      if not any(dominates(points[y], points[x]) for y in curves if y != x))
    assert [t.number for t in tuner.pareto_front()] == expected
    summary = str(tuner.study.results_summary(print_summary=False))
    assert "Pareto front of val_loss (min), val_accuracy (max)" in summary
    assert "ranked by the sum" in summary
    assert summary.index("Showing 4 best trials") < summary.index("Pareto front of")


# ---------------------------------------------------------------------- ParEGO
def test_weight_vectors_and_the_augmented_chebyshev():
    lam = weight_vectors(2)
    assert lam.shape == (11, 2) and np.allclose(lam.sum(axis=1), 1.0)
    assert weight_vectors(3).shape == (66, 3)
    f = np.array([[0.2, 0.8], [0.5, 0.5]])
    assert augmented_chebyshev(f, np.array([0.5, 0.5]), 0.05) == pytest.approx(
        [0.4 + 0.05 * 0.5, 0.25 + 0.05 * 0.5])


def test_parego_scalarisation_ranks_infeasible_last_by_violation():
    sampler = ParEGOSampler(tw.RandomSampler())
    sampler.bind(pareto_objective(ACC_LAT))
    trials = [
        frozen(0, {"acc": 0.9, "latency": 1.0}),
        frozen(1, {"acc": 0.1, "latency": 9.0}),
        frozen(2, {"acc": 1.0, "latency": 0.0}, attrs={keys.CONSTRAINTS: {"m": 0.5}}),
        frozen(3, {"acc": 1.0, "latency": 0.0}, attrs={keys.CONSTRAINTS: {"m": 2.0}}),
        frozen(4, None, TrialState.FAILED),
    ]
    scored = sampler.scalarised(trials, np.array([0.5, 0.5]))
    s = [t.score for t in scored]
    assert s[0] < s[1] < s[2] < s[3] and s[4] is None


def hv_of(study, reference=(1.1, 1.1)):
    return hypervolume([objective_values(t, study.objective) for t in study.best_trials],
                       reference)


def run_zdt1(sampler, seed, n=30):
    study = tw.Study([tw.Objective("f1", "min"), tw.Objective("f2", "min")], pareto=True,
                     storage="memory", seed=seed, sampler=sampler, verbose=0)
    study.optimize(zdt1, max_trials=n)
    return hv_of(study)


def test_parego_beats_random_search_on_zdt1():
    """ZDT1 with a 2-d input, 30 trials, hypervolume under (1.1, 1.1) (the true front's is
    0.8767). Measured: random search's mean over seeds 0-19 is 0.31 (0.36 over 100 seeds);
    ParEGO over the default model (a GP here) 0.78, 0.79, 0.80, 0.76, 0.75 on seeds 0-4."""
    random_mean = float(np.mean([run_zdt1(tw.RandomSampler(), seed) for seed in range(20)]))
    parego = [run_zdt1(tw.AutoSampler(), seed) for seed in range(3)]
    assert random_mean < 0.45
    assert min(parego) > random_mean + 0.25, (parego, random_mean)
