"""Pruning: the median and successive-halving rules on hand-computed tables (pure calls on plain
data), the engine's PRUNED trials (step, evidence, never best, never retried, ask/tell,
resume), and the Keras tuners stopping a pruned fit."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import tunewise as tw
from tunewise.schedulers import (
    MedianPruner,
    NopPruner,
    SuccessiveHalvingPruner,
    best_so_far,
    is_promoted,
    n_promoted,
    rung_step,
    value_at_rung,
)
from tunewise.trial import FrozenTrial, Step, TrialState

C, P, F, R = TrialState.COMPLETED, TrialState.PRUNED, TrialState.FAILED, TrialState.RUNNING


def quiet(**kwargs):
    kwargs.setdefault("storage", "memory")
    kwargs.setdefault("verbose", 0)
    return kwargs


def frozen(number, state, values, steps=None, sign=1):
    """A FrozenTrial whose objective ``loss`` (times ``sign``) was ``values`` at ``steps``."""
    steps = range(len(values)) if steps is None else steps
    return FrozenTrial(
        number=number,
        state=state,
        values={},
        steps=tuple(Step(s, {"loss": sign * v}) for s, v in zip(steps, values)),
    )


def bound(pruner, direction="min"):
    pruner.bind(tw.Objective("loss", direction))
    return pruner


def signed(values, sign):
    return {s: sign * v for s, v in values.items()}


# ====================================================================== arithmetic helpers


def test_rung_steps_for_several_factors_and_min_resources():
    assert [rung_step(k, 1, 3, 0) for k in range(4)] == [1, 3, 9, 27]
    assert [rung_step(k, 1, 2, 0) for k in range(4)] == [1, 2, 4, 8]
    assert [rung_step(k, 2, 2, 1) for k in range(3)] == [4, 8, 16]
    assert [rung_step(k, 5, 4, 0) for k in range(3)] == [5, 20, 80]
    sh = SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=1)
    assert (
        sh.rungs_reached(2) == [] and sh.rungs_reached(3) == [0] and sh.rungs_reached(9) == [0, 1]
    )


@pytest.mark.parametrize(
    "n, rf, kept",
    [(1, 3, 1), (2, 3, 1), (3, 3, 1), (5, 3, 1), (6, 3, 2), (9, 3, 3), (4, 2, 2), (7, 2, 3)],
)
def test_top_one_over_rf_goes_on_and_at_least_one(n, rf, kept):
    assert n_promoted(n, rf) == kept


@pytest.mark.parametrize(
    "value, competing, rf, promoted",
    [
        (2.0, [], 3, True),  # alone at the rung: the best of one
        (2.0, [1.0], 3, False),  # 2 at the rung keep 1
        (1.0, [1.0], 3, True),  # a tie goes on
        (2.5, [1, 2, 3, 4, 5], 3, False),  # 6 keep 2: {1, 2}
        (1.5, [1, 2, 3, 4, 5], 3, True),
        (2.5, [1, 2, 3], 2, False),  # 4 keep 2: {1, 2}
        (2.0, [1, 2, 3], 2, True),
    ],
)
@pytest.mark.parametrize("sign", [1, -1])
def test_is_promoted_both_directions(value, competing, rf, promoted, sign):
    assert is_promoted(sign * value, [sign * v for v in competing], rf, sign) is promoted


def test_best_so_far_and_value_at_rung():
    values = {0: 5.0, 2: 3.0, 3: 4.0, 6: 1.0}
    assert best_so_far(values, 0, 1) == 5.0
    assert best_so_far(values, 3, 1) == 3.0 and best_so_far(values, 3, -1) == 5.0
    assert best_so_far(values, -1, 1) is None
    assert best_so_far({0: math.nan, 1: 2.0}, 1, 1) == 2.0
    assert value_at_rung(values, 1) == 3.0  # first report at or after the rung
    assert value_at_rung(values, 3) == 4.0 and value_at_rung(values, 7) is None


# ====================================================================== MedianPruner table
#
# Other trials (loss, lower is better), by step 0..3:
#   #0 COMPLETED  5 4 3 2     best-so-far: 5 4 3 2
#   #1 COMPLETED  6 7 5 1     best-so-far: 6 6 5 1
#   #2 PRUNED     9 8         best-so-far: 9 8        (stopped at step 1)
#   #3 FAILED     0 0 0 0     never evidence
#   #4 RUNNING    0 0         never evidence
# Median of the others' best-so-far: step 0: median(5, 6, 9) = 6; step 1: median(4, 6, 8) = 6;
# step 2: median(3, 5) = 4 (#2 did not reach it); step 3: median(2, 1) = 1.5.
MEDIAN_TABLE = [
    ([5, 4, 3, 2], C),
    ([6, 7, 5, 1], C),
    ([9, 8], P),
    ([0, 0, 0, 0], F),
    ([0, 0], R),
]


def median_others(sign):
    return [frozen(i, state, values, sign=sign) for i, (values, state) in enumerate(MEDIAN_TABLE)]


@pytest.mark.parametrize(
    "mine, step, kwargs, prune",
    [
        ({0: 7, 1: 6.5}, 1, {}, True),  # 6.5 > median 6
        ({0: 7, 1: 6.0}, 1, {}, False),  # a tie goes on
        ({0: 7, 1: 5.9}, 1, {}, False),
        ({0: 3, 1: 7}, 1, {}, False),  # best-so-far 3, not the current 7
        ({0: 7, 1: 6.5, 2: 4.5}, 2, {}, True),  # 4.5 > median(3, 5) = 4
        ({0: 7, 1: 6.5, 2: 3.9}, 2, {}, False),
        ({0: 7, 1: 6.5, 2: 4.5, 3: 1.6}, 3, {}, True),  # 1.6 > median(2, 1) = 1.5
        ({0: 7, 1: 6.5, 2: 4.5, 3: 1.5}, 3, {}, False),
        ({0: 7}, 0, {}, True),  # 7 > median(5, 6, 9) = 6
        ({0: 7}, 0, {"n_warmup_steps": 1}, False),  # warm-up
        ({0: 7, 1: 6.5}, 1, {"n_warmup_steps": 1}, True),
        ({0: 7, 1: 6.5}, 1, {"n_startup_trials": 3}, True),  # 3 finished: #0, #1, #2
        ({0: 7, 1: 6.5}, 1, {"n_startup_trials": 4}, False),  # FAILED/RUNNING do not count
        ({0: 7, 1: 6.5, 2: 4.5}, 2, {"n_min_trials": 2}, True),
        ({0: 7, 1: 6.5, 2: 4.5}, 2, {"n_min_trials": 3}, False),  # only #0, #1 reached step 2
        ({0: 7, 1: 6.5}, 1, {"interval_steps": 2}, False),  # checks at steps 0, 2, 4 ...
        ({0: 7, 1: 6.5, 2: 4.5}, 2, {"interval_steps": 2}, True),
        ({0: 7, 3: 1.6}, 3, {"interval_steps": 2}, True),  # skipped step 2: judged at 3
        ({0: 7, 1: 6.5, 2: 4.5, 3: 1.6}, 3, {"interval_steps": 2}, False),  # step 2 was judged
        ({0: 7, 1: math.nan}, 1, {}, True),  # NaN ignored: best-so-far 7 > 6
        ({0: math.nan}, 0, {}, False),  # no finite value: no verdict
    ],
)
@pytest.mark.parametrize("direction", ["min", "max"])
def test_median_pruner_table(mine, step, kwargs, prune, direction):
    sign = 1 if direction == "min" else -1
    kwargs = {"n_startup_trials": 0, **kwargs}
    pruner = bound(MedianPruner(**kwargs), direction)
    assert pruner.should_prune(signed(mine, sign), step, median_others(sign)) is prune


def test_median_pruner_defaults_wait_for_five_finished_trials():
    pruner = bound(MedianPruner())
    others = median_others(1)  # 3 finished
    assert pruner.should_prune({0: 100.0}, 0, others) is False
    more = others + [frozen(5, C, [1.0]), frozen(6, P, [1.0])]
    assert pruner.should_prune({0: 100.0}, 0, more) is True
    assert pruner.median_at(0, more) == 5.0  # median(5, 6, 9, 1, 1)


# ====================================================================== SuccessiveHalving table
#
# Other trials (loss), values by step:
#   #0 COMPLETED  steps 0..4: 10 8 6 4 2        at step 1: 8, step 2: 6, step 3: 4
#   #1 COMPLETED  steps 0..4: 10 5 4 3 1        at step 1: 5, step 2: 4, step 3: 3
#   #2 PRUNED     steps 0..1:  9 7              at step 1: 7 (never reached 2 or 3)
#   #3 FAILED     steps 0..4:  0 0 0 0 0        never evidence
#   #4 COMPLETED  steps 0,2,4: 9 6 2            first report at/after 1: 6, after 3: 2
SH_TABLE = [
    ([10, 8, 6, 4, 2], None, C),
    ([10, 5, 4, 3, 1], None, C),
    ([9, 7], None, P),
    ([0, 0, 0, 0, 0], None, F),
    ([9, 6, 2], [0, 2, 4], C),
]


def sh_others(sign):
    return [
        frozen(i, state, values, steps, sign=sign)
        for i, (values, steps, state) in enumerate(SH_TABLE)
    ]


@pytest.mark.parametrize(
    "mine, step, kwargs, prune",
    [
        # rf=3, rungs at 1, 3, 9. Rung 1 values: 8, 5, 7, 6 plus mine: 5 at the rung keep 1.
        ({0: 9}, 0, {}, False),  # before the first rung
        ({0: 9, 1: 6.5}, 1, {}, True),
        ({0: 9, 1: 5.0}, 1, {}, False),  # a tie with the best goes on
        ({0: 9, 1: 4.0}, 1, {}, False),
        ({0: 9, 1: 4.0, 2: 100.0}, 2, {}, False),  # between rungs: rung 1 judged at its value
        # Rung 3 values: 4, 3, 2 plus mine: 4 keep 1.
        ({0: 9, 1: 4.0, 2: 3.9, 3: 3.5}, 3, {}, True),
        ({0: 9, 1: 4.0, 2: 3.9, 3: 2.0}, 3, {}, False),
        ({0: 9, 1: 6.5, 2: 3.9, 3: 2.0}, 3, {}, True),  # failed rung 1 earlier: still pruned
        ({0: 9, 2: 4.0}, 2, {}, False),  # skipped step 1: rung 1 judged at step 2's value
        ({0: 9, 2: 6.5}, 2, {}, True),  # (rung-1 values of the others: 8, 5, 7, 6)
        # rf=2, rungs at 1, 2, 4. Rung 1: 5 keep 2 -> {5, 6}.
        ({0: 9, 1: 6.5}, 1, {"reduction_factor": 2}, True),
        ({0: 9, 1: 6.0}, 1, {"reduction_factor": 2}, False),
        # Rung 2 values: 6 (#0), 4 (#1), 6 (#4) plus mine: 4 keep 2, so mine goes on if <= 6.
        ({0: 9, 1: 5.0, 2: 6.0}, 2, {"reduction_factor": 2}, False),
        ({0: 9, 1: 5.0, 2: 6.1}, 2, {"reduction_factor": 2}, True),
        # min_early_stopping_rate=1: first rung at 3, so nothing is judged at 1.
        ({0: 9, 1: 100.0}, 1, {"min_early_stopping_rate": 1}, False),
        ({0: 9, 1: 100.0, 2: 9, 3: 3.5}, 3, {"min_early_stopping_rate": 1}, True),
        ({0: 9, 1: 100.0, 2: 9, 3: 2.0}, 3, {"min_early_stopping_rate": 1}, False),
        # min_resource=2, rf=2: rungs at 2, 4. Rung 2 values: 6, 4, 6 plus mine: 4 keep 2.
        ({0: 9, 1: 100.0, 2: 5.0}, 2, {"min_resource": 2, "reduction_factor": 2}, False),
        ({0: 9, 1: 100.0, 2: 6.0}, 2, {"min_resource": 2, "reduction_factor": 2}, False),
        ({0: 9, 1: 100.0, 2: 6.1}, 2, {"min_resource": 2, "reduction_factor": 2}, True),
        # No finite value at the current step: no verdict.
        ({0: 9, 1: math.nan}, 1, {}, False),
    ],
)
@pytest.mark.parametrize("direction", ["min", "max"])
def test_successive_halving_table(mine, step, kwargs, prune, direction):
    sign = 1 if direction == "min" else -1
    pruner = bound(SuccessiveHalvingPruner(**kwargs), direction)
    assert pruner.should_prune(signed(mine, sign), step, sh_others(sign)) is prune


def test_successive_halving_first_trial_at_a_rung_goes_on():
    pruner = bound(SuccessiveHalvingPruner())
    assert pruner.should_prune({0: 100.0, 1: 100.0, 3: 100.0}, 3, []) is False


def test_nop_pruner_and_config_and_bad_settings():
    assert bound(NopPruner()).should_prune({0: 1e9}, 0, median_others(1)) is False
    assert MedianPruner(1, 2, 3, 4).get_config() == {
        "name": "median",
        "n_startup_trials": 1,
        "n_warmup_steps": 2,
        "interval_steps": 3,
        "n_min_trials": 4,
    }
    assert SuccessiveHalvingPruner(2, 4, 1).get_config() == {
        "name": "successive_halving",
        "min_resource": 2,
        "reduction_factor": 4,
        "min_early_stopping_rate": 1,
    }
    for bad in (
        lambda: MedianPruner(n_startup_trials=-1),
        lambda: MedianPruner(interval_steps=0),
        lambda: MedianPruner(n_min_trials=0),
        lambda: SuccessiveHalvingPruner(min_resource=0),
        lambda: SuccessiveHalvingPruner(reduction_factor=1),
        lambda: SuccessiveHalvingPruner(min_early_stopping_rate=-1),
    ):
        with pytest.raises(ValueError, match="must be >="):
            bad()
    with pytest.raises(TypeError, match="integer"):
        MedianPruner(n_warmup_steps=1.5)
    with pytest.raises(RuntimeError, match="not bound"):
        MedianPruner(n_startup_trials=0).should_prune({0: 1.0}, 0, [])
    with pytest.raises(TypeError, match="Pruner"):
        tw.Study("loss", pruner="median", **quiet())


# ====================================================================== a study of learning curves

N_TRIALS, N_STEPS = 20, 20


def learning_curve(x: float, step: int) -> float:
    """A loss curve: x < 0.5 plateaus above 1 (plainly bad from the first step); x >= 0.5
    goes to 0.1 * (1 - x). Curves never cross, so early ranks are final ranks."""
    floor = 1.0 + x if x < 0.5 else 0.1 * (1.0 - x)
    return floor + math.exp(-step / 4.0)


def curves_objective(sign):
    def fn(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        for step in range(N_STEPS):
            trial.report(step, {"m": sign * learning_curve(x, step)})
            if trial.should_prune():
                raise tw.TrialPruned()

    return fn


#: Share of the steps (of N_TRIALS * N_STEPS) each pruner must save on the curves study.
#: (Measured with seed 0: 58% and 71.5%.)
MIN_SAVED_SHARE = {"median": 0.5, "successive_halving": 0.6}
#: Trials that run before every plainly bad configuration must be pruned (the median's startup).
STARTUP = 5


@pytest.mark.parametrize("direction", ["min", "max"])
@pytest.mark.parametrize(
    "pruner",
    [
        lambda: MedianPruner(n_startup_trials=STARTUP, n_warmup_steps=2),
        lambda: SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
    ],
    ids=["median", "successive_halving"],
)
def test_pruner_stops_the_bad_curves_never_the_best_and_saves_steps(pruner, direction):
    sign = 1 if direction == "min" else -1
    pruner = pruner()
    study = tw.Study(tw.Objective("m", direction), pruner=pruner, **quiet(seed=0))
    study.optimize(curves_objective(sign), max_trials=N_TRIALS)

    trials = study.trials
    assert len(trials) == N_TRIALS and all(t.retry_of is None for t in trials)
    assert {t.state for t in trials} == {C, P}
    pruned = [t for t in trials if t.state is P]
    bad = [t for t in trials if t.values["x"] < 0.5]
    assert bad and all(t.state is P for t in bad if t.number >= STARTUP)
    best_config = min(trials, key=lambda t: learning_curve(t.values["x"], N_STEPS))
    assert best_config.state is C and study.best_trial.number == best_config.number
    steps_run = sum(len(t.steps) for t in trials)
    saved = 1 - steps_run / (N_TRIALS * N_STEPS)
    assert saved >= MIN_SAVED_SHARE[pruner.name], saved
    for t in pruned:
        last = t.steps[-1].step
        assert len(t.steps) < N_STEPS and t.attrs["pruned_at_step"] == last
        assert f"at step {last} by {type(pruner).__name__}" in t.reason
        assert t.score == min((s.metrics["m"] for s in t.steps), key=lambda v: sign * v)
    assert study.settings["pruner"] == pruner.get_config()
    assert study.runs[-1]["trials_by_state"] == {
        "completed": N_TRIALS - len(pruned),
        "pruned": len(pruned),
        "failed": 0,
    }


# ====================================================================== the engine's PRUNED trials


def test_trial_pruned_without_a_pruner_is_pruned_evidence_never_best_never_retried(capsys):
    """Every trial after the first raises TrialPruned at step 2 with a *better* score than the
    completed one; none is failed, re-run or counted as a failure, and none is the best."""

    def fn(hp, trial):
        hp.Float("x", 0, 1)
        assert trial.should_prune() is False  # no pruner: never
        if trial.number == 0:
            return 5.0
        for step, loss in enumerate([3.0, 1.0, 2.0]):
            trial.report(step, {"loss": loss})
        raise tw.TrialPruned("too slow")

    study = tw.Study(
        "loss",
        **quiet(seed=0, verbose=1, max_retries_per_trial=2, max_consecutive_failed_trials=1),
    )
    study.optimize(fn, max_trials=4)

    assert [t.state for t in study.trials] == [C, P, P, P]
    assert all(t.retry_of is None for t in study.trials)
    for t in study.trials[1:]:
        assert t.attrs["pruned_at_step"] == 2 and [s.step for s in t.steps] == [0, 1, 2]
        assert t.score == 1.0 and t.best_step == 1  # the score rule over its steps
        assert "Pruned at step 2 by the objective (TrialPruned)" in t.reason
        assert t.reason.endswith(": too slow") and "\n" not in t.reason
    assert study.best_trial.number == 0 and study.best_value == 5.0
    summary = study.results_summary(print_summary=False)
    assert [t.number for t in summary.ranked] == [0]
    assert "1 completed, 3 pruned" in str(summary)
    out = capsys.readouterr().out
    assert "(#1) PRUNED: Pruned at step 2" in out
    assert "4 trials run (1 completed, 3 pruned)" in out


def test_pruned_before_any_step_has_no_score_and_is_not_failed():
    def fn(hp):
        hp.Float("x", 0, 1)
        raise tw.TrialPruned()

    study = tw.Study("loss", **quiet(max_consecutive_failed_trials=1))
    study.optimize(fn, max_trials=2)
    for t in study.trials:
        assert t.state is P and t.score is None and t.attrs["pruned_at_step"] is None
        assert "before its first step" in t.reason
    assert study.best_trial is None


def test_ask_tell_with_state_pruned():
    study = tw.Study("loss", pruner=MedianPruner(n_startup_trials=1), **quiet(seed=0))
    first = study.ask()
    first.hyperparameters.Float("x", 0, 1)
    for step, loss in enumerate([1.0, 0.5, 0.2]):
        first.report(step, {"loss": loss})
        assert first.should_prune() is False  # no other trial yet
    study.tell(first)

    second = study.ask()
    second.report(0, {"loss": 0.9})
    assert second.should_prune() is False  # 0.9 < 1.0
    second.report(1, {"loss": 0.8})
    assert second.should_prune() is True  # 0.8 > 0.5
    assert second.should_prune() is True  # same step, same answer
    done = study.tell(second, state=TrialState.PRUNED)
    assert done.state is P and done.attrs["pruned_at_step"] == 1 and done.score == 0.8
    assert "at step 1 by MedianPruner" in done.reason

    third = study.ask()
    done = study.tell(third, {"loss": 0.1}, state="PRUNED")  # the result is one more step
    assert done.state is P and done.attrs["pruned_at_step"] == 0 and done.score == 0.1
    assert study.best_trial.number == 0  # a pruned trial is never the best, however good

    fourth = study.ask()
    with pytest.raises(ValueError, match="RUNNING"):
        study.tell(fourth, state=TrialState.RUNNING)
    assert study.tell(fourth, state=TrialState.FAILED).state is F


def test_pruned_trials_survive_a_resume(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"

    def fn(hp, trial):
        hp.Float("x", 0, 1)
        trial.report(0, {"loss": 2.0 - trial.number})
        if trial.number % 2:
            raise tw.TrialPruned()

    study = tw.Study("loss", pruner=MedianPruner(), **quiet(storage=url, seed=0))
    study.optimize(fn, max_trials=4)
    again = tw.Study("loss", **quiet(storage=url, seed=0))
    assert again.trials == study.trials
    assert [t.state for t in again.trials] == [C, P, C, P]
    assert again.trials[3].attrs["pruned_at_step"] == 0 and again.trials[3].score == -1.0
    assert again.best_trial.number == 2
    assert "pruner" not in again.settings  # resumed without one


# ====================================================================== Keras

KERAS_EPOCHS = 6


def test_keras_random_search_prunes_too_small_learning_rates(tmp_path):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(192, 6)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("float32")

    def build(hp):
        model = keras.Sequential(
            [
                keras.Input(shape=(6,)),
                keras.layers.Dense(hp.Choice("units", [4, 8]), activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        lr = hp.Choice("lr", [1e-1, 3e-2, 1e-6, 1e-7])  # the last two barely move
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="binary_crossentropy")
        return model

    tuner = tw.RandomSearch(
        build,
        objective="val_loss",
        max_trials=5,
        seed=2,
        directory=str(tmp_path),
        project_name="p",
        verbose=0,
        pruner=MedianPruner(n_startup_trials=2, n_warmup_steps=2),
    )
    tuner.search(
        x[:128], y[:128], epochs=KERAS_EPOCHS, validation_data=(x[128:], y[128:]), verbose=0
    )

    trials = tuner.study.trials
    pruned = [t for t in trials if t.state is P]
    assert pruned, [(t.values, t.state) for t in trials]
    assert {t.state for t in trials} == {C, P}
    for t in pruned:
        stopped = t.attrs["pruned_at_step"]
        assert len(t.steps) == stopped + 1 < KERAS_EPOCHS
        assert t.attrs["epochs_run"] == [stopped + 1] and t.attrs["epochs_asked"] == KERAS_EPOCHS
        assert t.score is not None and "by MedianPruner" in t.reason
        assert not os.path.exists(tuner._weights_path(t.number))  # no weights kept
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.state is C and best.values["lr"] >= 3e-2
    assert all(len(t.steps) == KERAS_EPOCHS for t in trials if t.state is C)


def test_keras_pruner_is_not_applied_with_several_executions(tmp_path, capsys):
    pytest.importorskip("keras")

    class Custom(tw.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            return {"loss": 1.0}

    tuner = Custom(
        objective="loss",
        executions_per_trial=2,
        pruner=MedianPruner(),
        directory=str(tmp_path),
        project_name="p",
    )
    assert "is not applied: executions_per_trial=2" in capsys.readouterr().out
    assert tuner.study.pruner is not None
