"""The ask/tell engine and its loop: scores, best-so-far, seeds, failures, messages."""

from __future__ import annotations

import math

import pytest

import tunewise as tw
from tunewise.trial import TrialState


def quiet(**kwargs):
    kwargs.setdefault("storage", "memory")
    kwargs.setdefault("verbose", 0)
    return kwargs


# ---------------------------------------------------------------------- best so far


@pytest.mark.parametrize("direction", ["min", "max"])
def test_nan_and_inf_fail_the_trial_and_never_become_best(direction):
    returns = iter([2.0, math.nan, math.inf, -math.inf, 1.0, 3.0])

    study = tw.Study(tw.Objective("m", direction), **quiet(seed=0, max_consecutive_failed_trials=4))
    study.optimize(lambda hp: (hp.Float("x", 0, 1), next(returns))[1], max_trials=6)

    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETED] + [TrialState.FAILED] * 3 + [TrialState.COMPLETED] * 2
    assert "nan" in study.trials[1].reason and "inf" in study.trials[2].reason
    assert study.best_value == (1.0 if direction == "min" else 3.0)
    assert all(t.score is None for t in study.trials if t.state is TrialState.FAILED)


def test_nan_at_a_later_step_fails_the_trial_even_after_good_steps():
    def fn(hp, trial):
        hp.Float("x", 0, 1)
        for epoch, loss in enumerate([0.5, 0.3, math.nan]):
            trial.report(epoch, {"val_loss": loss})

    study = tw.Study("val_loss", **quiet())
    study.optimize(fn, max_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.FAILED
    assert "step 2" in trial.reason
    assert [s.metrics["val_loss"] for s in trial.steps][:2] == [0.5, 0.3]
    assert math.isnan(trial.steps[2].metrics["val_loss"])  # recorded as such
    assert study.best_trial is None


def test_ties_keep_the_earliest_trial():
    study = tw.Study("loss", **quiet(seed=1))
    study.optimize(lambda hp: hp.Float("x", 0, 1) * 0 + 1.0, max_trials=5)
    assert study.best_trial.number == 0
    assert [t.number for t in study.results_summary(print_summary=False).ranked] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("rule, expected, step", [("best", 1.0, 1), ("last", 2.0, 2)])
def test_score_rule_best_step_or_last_step(rule, expected, step):
    def fn(hp, trial):
        hp.Int("units", 1, 4)
        for epoch, loss in enumerate([3.0, 1.0, 2.0]):
            trial.report(epoch, {"val_loss": loss, "loss": 9.0})

    study = tw.Study("val_loss", score=rule, **quiet())
    study.optimize(fn, max_trials=1)
    assert study.best_value == expected
    assert study.best_trial.best_step == step


def test_best_step_is_the_earliest_among_equal_epochs():
    def fn(hp, trial):
        for epoch, acc in enumerate([0.5, 0.9, 0.9, 0.7]):
            trial.report(epoch, {"val_accuracy": acc})

    study = tw.Study("val_accuracy", **quiet())
    study.optimize(fn, max_trials=1)
    assert (study.best_value, study.best_trial.best_step) == (0.9, 1)


def test_an_objective_never_reported_fails_and_names_what_was_reported():
    study = tw.Study("val_loss", **quiet(max_consecutive_failed_trials=0))
    study.optimize(lambda hp: {"loss": 0.1, "accuracy": 0.9}, max_trials=2)
    assert all(t.state is TrialState.FAILED for t in study.trials)
    reason = study.trials[0].reason
    assert "val_loss was never reported" in reason and "accuracy, loss" in reason


def test_multi_objective_is_a_signed_sum_and_the_summary_says_so():
    study = tw.Study(["val_loss", "val_accuracy"], **quiet(seed=0))
    study.optimize(
        lambda hp: {"val_loss": hp.Float("l", 0, 1), "val_accuracy": 0.5}, max_trials=4
    )
    best = study.best_trial
    assert study.best_value == pytest.approx(best.values["l"] - 0.5)
    text = str(study.results_summary(print_summary=False))
    assert "sum of val_loss (min) - val_accuracy (max)" in text


# ---------------------------------------------------------------------- seeds


def _run(seed, n=8):
    study = tw.Study("loss", **quiet(seed=seed))

    def fn(hp):
        x = hp.Float("x", -3, 3)
        hp.Choice("k", ["a", "b", "c"])
        with hp.conditional_scope("k", "b"):
            hp.Int("depth", 1, 9)
        return x * x

    study.optimize(fn, max_trials=n)
    return [t.values for t in study.trials]


def test_a_seed_reproduces_the_same_sequence_of_trials():
    first, again, other = _run(7), _run(7), _run(8)
    assert first == again
    assert first != other
    assert len({round(v["x"], 9) for v in first}) == 8  # actually random, not constant


def test_an_unseeded_study_stores_its_drawn_seed(tmp_path):
    study = tw.Study("loss", directory=str(tmp_path), project_name="p", verbose=0)
    study.optimize(lambda hp: hp.Float("x", 0, 1), max_trials=3)
    replay = tw.Study("loss", storage="memory", seed=study.seed, verbose=0)
    replay.optimize(lambda hp: hp.Float("x", 0, 1), max_trials=3)
    assert [t.values for t in replay.trials] == [t.values for t in study.trials]


# ---------------------------------------------------------------------- failures


def test_an_exception_fails_the_trial_stores_its_traceback_and_the_search_goes_on():
    calls = []

    def fn(hp):
        x = hp.Int("x", 0, 100)
        calls.append(x)
        if len(calls) == 2:
            raise ZeroDivisionError("boom in trial two")
        return x

    study = tw.Study("loss", **quiet(seed=0))
    study.optimize(fn, max_trials=4)
    assert [t.state for t in study.trials].count(TrialState.FAILED) == 1
    failed = study.trials[1]
    assert "Traceback" in failed.reason and "ZeroDivisionError: boom in trial two" in failed.reason
    assert len(study.trials) == 4


def test_retries_re_run_the_same_configuration_and_count_once():
    seen = []

    def fn(hp):
        x = hp.Float("x", 0, 1)
        seen.append(x)
        if len(seen) == 1:
            raise RuntimeError("flaky")
        return x

    study = tw.Study("loss", **quiet(seed=0, max_retries_per_trial=2))
    study.optimize(fn, max_trials=2)
    assert seen[0] == seen[1]
    assert [t.retry_of for t in study.trials] == [None, 0, None]
    assert study.n_slots == 2
    assert [t.state for t in study.trials] == [
        TrialState.FAILED,
        TrialState.COMPLETED,
        TrialState.COMPLETED,
    ]


def test_failed_trial_error_fails_without_retry():
    study = tw.Study("loss", **quiet(max_retries_per_trial=3, max_consecutive_failed_trials=0))

    def fn(hp):
        hp.Float("x", 0, 1)
        raise tw.FailedTrialError("diverged")

    study.optimize(fn, max_trials=2)
    assert len(study.trials) == 2
    assert all(t.retry_of is None for t in study.trials)
    assert study.trials[0].reason == "FailedTrialError: diverged"


def test_fatal_error_stops_the_search_after_storing_the_trial():
    study = tw.Study("loss", **quiet())

    def fn(hp):
        hp.Float("x", 0, 1)
        raise tw.FatalValueError("bad data")

    with pytest.raises(tw.FatalValueError, match="bad data"):
        study.optimize(fn, max_trials=5)
    assert len(study.trials) == 1 and study.trials[0].state is TrialState.FAILED


def test_too_many_consecutive_failures_stop_with_the_last_traceback():
    study = tw.Study("loss", **quiet(max_consecutive_failed_trials=3))

    def fn(hp):
        return hp.Float("x", 0, 1) / 0

    with pytest.raises(tw.TooManyFailedTrialsError) as info:
        study.optimize(fn, max_trials=10)
    assert len(study.trials) == 3
    assert "ZeroDivisionError" in str(info.value) and "Traceback" in str(info.value)


def test_timeout_stops_starting_trials():
    import time

    study = tw.Study("loss", **quiet())

    def fn(hp):
        time.sleep(0.05)
        return hp.Float("x", 0, 1)

    study.optimize(fn, max_trials=1000, timeout=0.3)
    assert 2 <= len(study.trials) <= 12


# ---------------------------------------------------------------------- samplers in the loop


def test_grid_search_visits_every_combination_once_then_says_exhausted(capsys):
    study = tw.Study("loss", tw.GridSampler(float_points=3), storage="memory", verbose=1)
    study.optimize(
        lambda hp: hp.Int("a", 1, 2) + hp.Float("lr", 1e-3, 1e-1, sampling="log"), max_trials=50
    )
    combos = {(t.values["a"], round(t.values["lr"], 9)) for t in study.trials}
    # lr: the default 1e-3, then 3 bin centres evenly spaced in the exponent (Keras Tuner's grid)
    lrs = (0.001, round(10 ** (-3 + 1 / 3), 9), 0.01, round(10 ** (-1 - 1 / 3), 9))
    assert combos == {(a, lr) for a in (1, 2) for lr in lrs}
    assert len(study.trials) == 8
    assert "Search space exhausted after 8 unique configurations" in capsys.readouterr().out


def test_random_search_never_repeats_in_a_finite_space_and_stops_when_exhausted(capsys):
    study = tw.Study("loss", storage="memory", seed=3, verbose=1)

    def fn(hp):
        hp.Boolean("b")
        with hp.conditional_scope("b", True):
            hp.Choice("c", ["x", "y"])
        return 0.0

    study.optimize(fn, max_trials=10)
    keys = [tuple(sorted(t.values.items())) for t in study.trials]
    assert len(keys) == len(set(keys)) == 3  # {b=F}, {b=T,c=x}, {b=T,c=y}
    assert "exhausted after 3 unique configurations" in capsys.readouterr().out


def test_inactive_conditional_hyperparameters_are_absent_from_stored_values():
    def fn(hp):
        model = hp.Choice("model", ["linear", "tree"])
        with hp.conditional_scope("model", "tree"):
            depth = hp.Int("depth", 1, 5)
        assert (depth is None) == (model == "linear")
        return 1.0

    study = tw.Study("loss", **quiet(seed=2))
    study.optimize(fn, max_trials=6)
    for t in study.trials:
        assert ("depth" in t.values) == (t.values["model"] == "tree")


# ---------------------------------------------------------------------- ask / tell


def test_ask_tell_by_hand():
    study = tw.Study("val_accuracy", **quiet(seed=0))
    for _ in range(3):
        trial = study.ask()
        x = trial.hyperparameters.Float("x", 0, 1)
        trial.report(0, {"val_accuracy": x / 2})
        study.tell(trial, {"val_accuracy": x})
    best = study.best_trial
    assert best.score == max(t.values["x"] for t in study.trials)
    assert best.best_step == 1 and len(best.steps) == 2


def test_reported_steps_must_increase():
    study = tw.Study("loss", **quiet())
    trial = study.ask()
    trial.report(3, 1.0)
    with pytest.raises(ValueError, match="steps must increase"):
        trial.report(3, 0.5)


def test_declared_space_with_new_entries_untuned_or_forbidden():
    declared = tw.HyperParameters()
    declared.Float("lr", 1e-4, 1e-1, sampling="log")

    def fn(hp):
        hp.Float("lr", 1e-4, 1e-1, sampling="log")
        return hp.Int("units", 8, 64, default=16)

    study = tw.Study("loss", **quiet(seed=0, hyperparameters=declared, tune_new_entries=False))
    study.optimize(fn, max_trials=4)
    assert {t.values["units"] for t in study.trials} == {16}
    assert len({t.values["lr"] for t in study.trials}) == 4

    strict = tw.Study(
        "loss",
        **quiet(hyperparameters=declared, allow_new_entries=False, max_consecutive_failed_trials=1),
    )
    # Keras Tuner raises a RuntimeError: the search stops at the first undeclared name.
    with pytest.raises(tw.errors.FatalRuntimeError, match="allow_new_entries=False"):
        strict.optimize(fn, max_trials=2)
    assert [t.state for t in strict.trials] == [tw.TrialState.FAILED]


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="score='median'"):
        tw.Study("loss", score="median", storage="memory")
    with pytest.raises(ValueError, match="max_trials=0"):
        tw.Study("loss", **quiet()).optimize(lambda hp: 1.0, max_trials=0)
    with pytest.raises(ValueError, match='Objective\\("my_metric", "max"\\)'):
        tw.Study("my_metric", storage="memory")
    with pytest.raises(ValueError, match="not a database URL"):
        tw.Study("loss", storage="nowhere.db")
