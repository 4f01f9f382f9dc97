"""Schedulers: Hyperband and ASHA arithmetic, promotions, composition with samplers, budgets."""

from __future__ import annotations

import pytest

import tunewise as tw
from tunewise.schedulers import (
    WAIT,
    ASHAScheduler,
    HyperbandScheduler,
    Job,
    hyperband_brackets,
    job_of,
)
from tunewise.schedulers._planning import model_budget
from tunewise.trial import FrozenTrial, TrialState

# Hand-computed (Li et al.: n0 = ceil((s_max+1) eta^s / (s+1)), n_i = max(1, floor(n0 / eta^i)),
# budgets ceil(R / eta^(s-i))): (halvings, rung sizes, rung budgets) for each bracket.
TABLES = {
    (81, 3): [
        (4, (81, 27, 9, 3, 1), (1, 3, 9, 27, 81)),
        (3, (34, 11, 3, 1), (3, 9, 27, 81)),
        (2, (15, 5, 1), (9, 27, 81)),
        (1, (8, 2), (27, 81)),
        (0, (5,), (81,)),
    ],
    (27, 3): [
        (3, (27, 9, 3, 1), (1, 3, 9, 27)),
        (2, (12, 4, 1), (3, 9, 27)),
        (1, (6, 2), (9, 27)),
        (0, (4,), (27,)),
    ],
    (9, 3): [(2, (9, 3, 1), (1, 3, 9)), (1, (5, 1), (3, 9)), (0, (3,), (9,))],
    (10, 2): [
        (3, (8, 4, 2, 1), (2, 3, 5, 10)),
        (2, (6, 3, 1), (3, 5, 10)),
        (1, (4, 2), (5, 10)),
        (0, (4,), (10,)),
    ],
    (100, 4): [
        (3, (64, 16, 4, 1), (2, 7, 25, 100)),
        (2, (22, 5, 1), (7, 25, 100)),
        (1, (8, 2), (25, 100)),
        (0, (4,), (100,)),
    ],
    (10, 3): [(2, (9, 3, 1), (2, 4, 10)), (1, (5, 1), (4, 10)), (0, (3,), (10,))],
    (1, 3): [(0, (1,), (1,))],
}
# Trials and epochs of one iteration, by hand from the tables (promotions add budget - parent's).
TOTALS = {(81, 3): (206, 1581), (27, 3): (69, 357), (9, 3): (22, 69), (10, 2): (35, 128)}


@pytest.mark.parametrize("max_epochs, factor", sorted(TABLES))
def test_bracket_arithmetic_matches_hand_computed_tables(max_epochs, factor):
    got = [(b.halvings, b.sizes, b.budgets) for b in hyperband_brackets(max_epochs, factor)]
    assert got == TABLES[(max_epochs, factor)]


@pytest.mark.parametrize("max_epochs, factor", sorted(TOTALS))
def test_iteration_totals(max_epochs, factor):
    hb = HyperbandScheduler(max_epochs, factor)
    assert (hb.trials_per_iteration, hb.units_per_iteration) == TOTALS[(max_epochs, factor)]


def test_survivors_are_floored_not_rounded_up_as_in_keras_tuner():
    # Keras Tuner 1.4 runs 34 -> 12 -> 4 -> 2 in this bracket (two models trained to 81).
    (bracket,) = [b for b in hyperband_brackets(81, 3) if b.halvings == 3]
    assert bracket.sizes == (34, 11, 3, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"max_budget": 0}, "max_budget"), ({"factor": 1}, "factor"), ({"iterations": 0}, "iterations"),
     ({"factor": 2.5}, "factor")],
)
def test_bad_settings_name_the_value(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        HyperbandScheduler(**kwargs)


def test_a_study_rejects_a_non_scheduler():
    with pytest.raises(TypeError, match="scheduler must be"):
        tw.Study("loss", storage="memory", scheduler="hyperband")


# ---------------------------------------------------------------------- a synthetic curve
def curve(x: float, epoch: int) -> float:
    """Loss after ``epoch + 1`` epochs: lower for x near 0.3, improving with epochs."""
    return (x - 0.3) ** 2 + 1.0 / (epoch + 1)


def budgeted_objective(seen: list | None = None):
    def objective(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        if seen is not None:
            seen.append({k: hp.values[k] for k in hp.values if k.startswith("tuner/")})
        start, budget = trial.attrs["initial_budget"], trial.attrs["budget"]
        assert hp["tuner/epochs"] == budget and hp["tuner/initial_epoch"] == start
        for epoch in range(start, budget):
            trial.report(epoch, {"loss": curve(x, epoch)})

    return objective


def hyperband_study(max_epochs=9, factor=3, **kwargs):
    return tw.Study(
        "loss", storage="memory", seed=0, verbose=0,
        scheduler=HyperbandScheduler(max_epochs, factor, kwargs.pop("iterations", 1)), **kwargs,
    )


def test_hyperband_runs_the_planned_trials_and_promotes_the_best_of_each_rung():
    seen: list = []
    study = hyperband_study()
    study.optimize(budgeted_objective(seen), max_trials=None)
    trials = study.trials
    assert len(trials) == 22 and all(t.state is TrialState.COMPLETED for t in trials)
    by_number = {t.number: t for t in trials}
    for t in trials:
        job = job_of(t)
        if job.parent is None:
            assert job.initial_budget == 0 and job.rung == 0
            continue
        parent = by_number[job.parent]
        assert t.values == parent.values  # the same configuration continues
        assert job.initial_budget == job_of(parent).budget and job.rung == job_of(parent).rung + 1
        assert job.bracket_index == job_of(parent).bracket_index
        assert t.steps[0].step == job.initial_budget  # the child's epochs follow the parent's
        # the parent was among the best of its rung
        rung = [u for u in trials if job_of(u).bracket_index == job.bracket_index
                and job_of(u).rung == job_of(parent).rung]
        survivors = [u for u in trials if job_of(u).bracket_index == job.bracket_index
                     and job_of(u).rung == job.rung]
        best = sorted(rung, key=lambda u: u.score)[: len(survivors)]
        assert parent in best
    # rung sizes per bracket are the plan's
    sizes = {}
    for t in trials:
        job = job_of(t)
        sizes.setdefault(job.bracket_index, []).append(job.rung)
    assert [tuple(rungs.count(i) for i in range(max(rungs) + 1)) for _, rungs in sorted(sizes.items())] == [
        (9, 3, 1), (5, 1), (3,)]
    # Keras Tuner's values are visible to the objective, never stored nor in the space
    assert seen[0] == {"tuner/epochs": 1, "tuner/initial_epoch": 0, "tuner/bracket": 2, "tuner/round": 0}
    promoted = [s for s in seen if "tuner/trial_id" in s]
    assert promoted[0]["tuner/round"] == 1 and promoted[0]["tuner/initial_epoch"] == 1
    assert all("tuner/epochs" not in t.values for t in trials)
    assert [hp.name for hp in study.space] == ["x"]
    # the budget spent is reported: 9*1 + 3*2 + 1*6 + 5*3 + 1*6 + 3*9
    summary = study.results_summary(print_summary=False)
    assert summary.epochs_trained == 69 == study.runs[-1]["epochs_trained"]
    assert "Epochs trained (budget units, all trials): 69" in str(summary)


def test_hyperband_iterations_repeat_the_brackets_and_max_trials_cuts_the_schedule():
    study = hyperband_study(iterations=2)
    study.optimize(budgeted_objective(), max_trials=None)
    assert len(study.trials) == 44
    assert sorted({job_of(t).bracket_index for t in study.trials}) == [0, 1, 2, 3, 4, 5]
    cut = hyperband_study()
    cut.optimize(budgeted_objective(), max_trials=10)
    assert len(cut.trials) == 10 and job_of(cut.trials[-1]).rung == 1


def test_a_small_finite_space_does_not_collapse_the_bracket():
    # 4 configurations, bracket 0 wants 9: the 4 are halved (4 -> 1 -> 1) and the best
    # reaches 9 epochs; Keras Tuner would stop after the first rung.
    def objective(hp, trial):
        x = hp.Choice("x", [0.0, 0.25, 0.5, 1.0])
        for epoch in range(trial.attrs["initial_budget"], trial.attrs["budget"]):
            trial.report(epoch, {"loss": curve(x, epoch)})

    study = hyperband_study()
    study.optimize(objective, max_trials=None)
    jobs = [job_of(t) for t in study.trials]
    assert [(j.rung, j.budget) for j in jobs] == [(0, 1)] * 4 + [(1, 3), (2, 9)]
    assert study.trials[-1].values == {"x": 0.25} and study.best_trial.number == 5
    assert study.runs[-1]["stopped_because"] == "exhausted"


def test_running_trials_let_the_next_bracket_start_and_promotions_wait_for_certainty():
    hb = HyperbandScheduler(9, 3)
    hb.bind(tw.make_objective("loss"))
    # Bracket 0's first rung: 9 trials, 7 finished, 2 running.
    trials = [
        trial(i, Job(1, rung=0, bracket=2, bracket_index=0), score=float(i),
              state=TrialState.COMPLETED if i < 7 else TrialState.RUNNING)
        for i in range(9)
    ]
    # 3 go on: trial 0 (rank 0) is safe even if both running ones beat it; trial 1 is not.
    job = hb.next_job(trials)
    assert job.parent == 0 and job.rung == 1 and job.budget == 3 and job.initial_budget == 1
    trials.append(trial(9, job, score=0.5, state=TrialState.RUNNING))
    job = hb.next_job(trials)
    assert job.is_new and job.bracket_index == 1  # bracket 0 waits, bracket 1 starts
    # Every bracket started and waiting: WAIT.
    waiting = trials[:]
    for k, b in ((1, 1), (2, 0)):
        bracket = hb.bracket(k)
        for _ in range(bracket.sizes[0]):
            waiting.append(trial(len(waiting), Job(bracket.budgets[0], bracket=b, bracket_index=k),
                                 state=TrialState.RUNNING))
    assert hb.next_job(waiting) is WAIT
    # All finished and promoted to the end: done.
    assert hb.next_job([]).bracket_index == 0


def trial(number, job, score=None, state=TrialState.COMPLETED, values=None):
    return FrozenTrial(
        number=number, state=state, values=values or {"x": number}, score=score,
        attrs=job.attrs(),
    )


# ---------------------------------------------------------------------- ASHA
def test_asha_never_blocks_with_pending_trials():
    study = tw.Study("loss", storage="memory", seed=0, verbose=0,
                     scheduler=ASHAScheduler(9, 3))
    pending = [study.ask() for _ in range(12)]
    assert all(t is not None for t in pending)  # nothing waits for a rung to fill
    assert {t.attrs["budget"] for t in pending} == {1}
    for t in pending[:3]:
        x = t.hyperparameters.Float("x", 0.0, 1.0)
        study.tell(t, {"loss": curve(x, 0)})
    # 3 results at rung 0: the best is in the top 1/3 and is promoted while 9 still run.
    nxt = study.ask()
    best = min(study.trials[:3], key=lambda u: u.score)
    assert nxt.attrs["parent"] == best.number and nxt.attrs["budget"] == 3
    assert nxt.attrs["initial_budget"] == 1 and nxt.hyperparameters["tuner/trial_id"] == f"{best.number:02d}"
    assert study.ask().attrs["rung"] == 0  # the next best is not in the top 1/3 of 3: new config


def test_asha_promotes_only_the_top_third_so_far():
    asha = ASHAScheduler(9, 3)
    asha.bind(tw.make_objective("loss"))
    assert asha.budgets == (1, 3, 9)
    rung0 = [trial(i, Job(1), score=s) for i, s in enumerate([5.0, 1.0])]
    assert asha.next_job(rung0).is_new  # 2 results: floor(2/3) = 0 go on
    rung0.append(trial(2, Job(1), score=3.0))
    assert asha.next_job(rung0).parent == 1
    rung0.append(trial(3, Job(3, 1, rung=1, parent=1), score=0.5))
    assert asha.next_job(rung0).is_new  # trial 1 promoted already, trial 2 not in the top third
    # The sampler has no configuration left: the best unpromoted go on, up to the top rung.
    relaxed = asha.next_job(rung0, new_configs=False)
    assert relaxed.parent == 3 and relaxed.budget == 9
    assert asha.may_continue(rung0[0], rung0) and not asha.may_continue(rung0[1], rung0)


def test_asha_stops_at_its_total_budget():
    study = tw.Study("loss", storage="memory", seed=0, verbose=0,
                     scheduler=ASHAScheduler(9, 3, max_total_budget=40))
    study.optimize(budgeted_objective(), max_trials=None)
    spent = study.results_summary(print_summary=False).epochs_trained
    assert 40 <= spent < 40 + 9
    assert any(job_of(t).budget == 9 for t in study.trials)


# ---------------------------------------------------------------------- samplers x schedulers
class RecordingTPE(tw.TPESampler):
    def __init__(self):
        super().__init__(n_startup_trials=2)
        self.views = []

    def suggest(self, space, trials, rng):
        self.views.append([job_of(t).budget for t in trials])
        return super().suggest(space, trials, rng)


def test_bohb_the_model_sees_only_the_trials_of_the_top_budget_with_enough_results():
    sampler = RecordingTPE()
    study = tw.Study("loss", storage="memory", seed=0, verbose=0, sampler=sampler,
                     scheduler=HyperbandScheduler(9, 3))
    study.optimize(budgeted_objective(), max_trials=None)
    assert sampler.views, "the model was never asked"
    for view in sampler.views:
        assert len(set(view)) == 1  # one budget at a time
    # 1 hyperparameter: a budget needs 1 + 3 completed results. Trials 0-3 are random; 4-8 and
    # 13 are modelled on budget 1 (budget 3 has 3 results: the promoted 9, 10, 11), 14-17, 19
    # and 20 on budget 3, and 21 on budget 9 (trials 12, 18, 19, 20 completed there).
    budgets = [view[0] for view in sampler.views]
    assert budgets == [1] * 6 + [3] * 6 + [9], budgets
    assert len(study.trials) == 22
    trials = list(study.trials)
    assert model_budget(trials, 5) == 9 and model_budget(trials, 6) == 3 and model_budget(trials, 99) is None


modelled: list[str] = []


class ModelGP(tw.GPSampler):
    def _model_point(self, *args, **kwargs):
        modelled.append("gp")
        return super()._model_point(*args, **kwargs)


class ModelTPE(tw.TPESampler):
    def _encode(self, *args, **kwargs):  # only on TPE's model path, after its random start
        modelled.append("tpe")
        return super()._encode(*args, **kwargs)


@pytest.mark.parametrize("kind", ["gp", "tpe", "auto"])
def test_bohb_models_from_the_end_of_the_random_phase_not_after_the_samplers_own_start(kind):
    """The GP's own design (10 points) and TPE's random start (10 trials) are longer than
    any budget's results here (at most 9): unless they are cut to the scheduler's random
    phase (1 + 3 results at a budget), the model never picks a configuration."""
    modelled.clear()
    if kind == "auto":
        sampler = tw.AutoSampler()
        sampler.gp, sampler.tpe = ModelGP(), ModelTPE()
    else:
        sampler = ModelGP() if kind == "gp" else ModelTPE()
    study = tw.Study("loss", storage="memory", seed=0, verbose=0, sampler=sampler,
                     scheduler=HyperbandScheduler(9, 3))
    study.optimize(budgeted_objective(), max_trials=None)
    # 17 new configurations: 4 random, then 13 from the model (as in the test above)
    assert modelled == ["tpe" if kind == "tpe" else "gp"] * 13
    # only the views were cut: the samplers the study holds keep their settings
    gp = sampler.gp if kind == "auto" else sampler
    if kind != "tpe":
        assert gp.num_initial_points is None and gp.initial_points(study.space) == 10
    else:
        assert sampler.n_startup_trials == 10
    if kind == "auto":
        assert sampler.current == "gp"  # the view reported its choice to the study's sampler


@pytest.mark.parametrize("sampler", [tw.GPSampler, tw.TPESampler, tw.RandomSampler])
@pytest.mark.parametrize("scheduler", [lambda: HyperbandScheduler(9, 3), lambda: ASHAScheduler(9, 3)])
def test_any_sampler_composes_with_any_scheduler(sampler, scheduler):
    study = tw.Study("loss", storage="memory", seed=1, verbose=0, sampler=sampler(),
                     scheduler=scheduler())
    study.optimize(budgeted_objective(), max_trials=22)
    assert len(study.trials) == 22 and study.best_trial is not None
    assert abs(study.best_trial.values["x"] - 0.3) < 0.2


def test_a_resumed_study_carries_on_with_its_schedule(tmp_path):
    where = {"directory": str(tmp_path), "project_name": "p", "seed": 0, "verbose": 0}
    first = tw.Study("loss", scheduler=HyperbandScheduler(9, 3), **where)
    first.optimize(budgeted_objective(), max_trials=11)
    again = tw.Study("loss", scheduler=HyperbandScheduler(9, 3), **where)
    assert again.resumed
    again.optimize(budgeted_objective(), max_trials=None)
    jobs = [job_of(t) for t in again.trials]
    assert len(jobs) == 22 and sum(j.units for j in jobs) == 69
    assert again.settings["scheduler"]["name"] == "hyperband"


def test_asha_with_brackets_spreads_new_configurations_by_budget_used():
    asha = ASHAScheduler(9, 3, brackets=3)
    asha.bind(tw.make_objective("loss"))
    trials = []
    starts = []
    for n in range(5):
        job = asha.next_job(trials)
        starts.append((job.bracket, job.budget, job.is_new))
        trials.append(trial(n, job, score=float(n)))
    # Budget used before each draw: [0,0,0] -> bracket 0; [1,0,0] -> 1; [1,3,0] -> 2;
    # [1,3,9] -> 0; [2,3,9] -> 0.
    assert starts == [(0, 1, True), (1, 3, True), (2, 9, True), (0, 1, True), (0, 1, True)]
    # 3 results in bracket 0's first rung: its best goes on from 1 to 3 epochs, in bracket 0
    job = asha.next_job(trials)
    assert job.parent == 0 and job.bracket == 0 and (job.initial_budget, job.budget) == (1, 3)
    trials.append(trial(5, job, score=0.0))
    # used [5, 3, 9]: bracket 1 takes the next configuration
    job = asha.next_job(trials)
    assert job.is_new and (job.bracket, job.budget) == (1, 3)
    with pytest.raises(ValueError, match="brackets=4"):
        ASHAScheduler(9, 3, brackets=4)


def test_a_finished_schedule_says_so_and_runs_nothing_when_resumed(tmp_path):
    where = {"directory": str(tmp_path), "project_name": "p", "seed": 0}
    messages = []

    class Reporter(tw.ConsoleReporter):
        def note(self, text):
            messages.append(text)

    study = tw.Study("loss", scheduler=HyperbandScheduler(9, 3), reporter=Reporter(0), **where)
    study.optimize(budgeted_objective(), max_trials=None)
    assert study.runs[-1]["stopped_because"] == "schedule_complete"
    assert any("is complete: 22 trials, 69 epochs" in m for m in messages)
    again = tw.Study("loss", scheduler=HyperbandScheduler(9, 3), reporter=Reporter(0), **where)
    again.optimize(budgeted_objective(), max_trials=None)
    assert len(again.trials) == 22 and again.runs[-1]["stopped_because"] == "already_finished"
    assert any("already ran the whole schedule" in m and "no new trial will run" in m
               for m in messages)


def slow_budgeted(hp, trial):
    import time

    x = hp.Float("x", 0.0, 1.0)
    for epoch in range(trial.attrs["initial_budget"], trial.attrs["budget"]):
        time.sleep(0.005)
        trial.report(epoch, {"loss": curve(x, epoch)})


def test_two_worker_processes_share_one_hyperband_schedule(tmp_path):
    # Each worker sees the other's running trials in their brackets (their job is stored with
    # them from the start), so the schedule is run once: the plan's trials and epochs exactly.
    where = {"directory": str(tmp_path), "project_name": "p", "seed": 0, "verbose": 0}
    study = tw.Study("loss", scheduler=HyperbandScheduler(9, 3), **where)
    study.optimize(slow_budgeted, max_trials=40, n_jobs=2)
    again = tw.Study("loss", scheduler=HyperbandScheduler(9, 3), **where)
    jobs = [job_of(t) for t in again.trials]
    assert len(jobs) == 22 and sum(j.units for j in jobs) == 69
    rungs = sorted((j.bracket_index, j.rung) for j in jobs)
    assert [rungs.count((k, i)) for k, i in sorted(set(rungs))] == [9, 3, 1, 5, 1, 3]
    assert all(t.state is TrialState.COMPLETED for t in again.trials)
    assert all(not k.startswith(("tuner/", "tunewise/")) for t in again.trials for k in t.values)


def test_two_worker_processes_keep_asha_within_its_total_budget(tmp_path):
    # The workers share one budget: every job handed out counts as soon as it is stored, so
    # together they stop as one worker does, past the limit by less than one top-rung job.
    where = {"directory": str(tmp_path), "project_name": "p", "seed": 0, "verbose": 0}
    asha = lambda: ASHAScheduler(9, 3, max_total_budget=40, brackets=3)
    study = tw.Study("loss", scheduler=asha(), **where)
    study.optimize(slow_budgeted, max_trials=None, n_jobs=2)
    again = tw.Study("loss", scheduler=asha(), **where)
    spent = sum(job_of(t).units for t in again.trials)
    assert 40 <= spent < 40 + 9
    assert all(t.state is TrialState.COMPLETED for t in again.trials)


def three_hyperparameters(hp, trial):
    x, y, z = hp.Float("x", 0.0, 1.0), hp.Float("y", 0.0, 1.0), hp.Int("z", 1, 9)
    for epoch in range(trial.attrs["initial_budget"], trial.attrs["budget"]):
        trial.report(epoch, {"loss": curve(x, epoch) + (y - 0.5) ** 2 + 0.01 * z})


def model_findings(study):
    return [f for f in study.diagnose().findings if "model_min_results" in f.evidence]


def test_the_doctor_says_when_bohb_never_had_enough_results_for_its_model():
    # 3 hyperparameters: the model waits for 6 results at one budget. Hyperband(3, 3) has 3
    # configurations at 1 epoch and 2 at 3 (plus the promoted one): all drawn at random.
    study = tw.Study("loss", sampler=tw.TPESampler(), scheduler=HyperbandScheduler(3, 3),
                     storage="memory", seed=0, verbose=0)
    study.optimize(three_hyperparameters, max_trials=None)
    (finding,) = model_findings(study)
    assert finding.severity == "warning" and finding.code == "budget-too-small"
    assert finding.evidence["model_min_results"] == 6
    assert finding.evidence["results_per_budget"] == {1: 3, 3: 3}
    assert "hyperband_iterations=2" in finding.fix
    # Hyperband(9, 3) on one hyperparameter: 9 results at 1 epoch, the model picks from there
    healthy = hyperband_study(sampler=tw.TPESampler())
    healthy.optimize(budgeted_objective(), max_trials=None)
    assert model_findings(healthy) == []
    # a random sampler never waits for a model: nothing to say
    plain = tw.Study("loss", scheduler=HyperbandScheduler(3, 3), storage="memory", seed=0,
                     verbose=0)
    plain.optimize(three_hyperparameters, max_trials=None)
    assert model_findings(plain) == []


def test_the_doctor_does_not_read_promotions_as_noise():
    # A promoted trial repeats its parent's configuration at a larger budget: its better score
    # is progress, not the objective's noise between identical configurations.
    study = hyperband_study()
    study.optimize(budgeted_objective(), max_trials=None)
    codes = [f.code for f in study.diagnose().findings]
    assert "noisy-objective" not in codes
