"""What Keras Tuner's keras-io guides rely on (see benchmarks/kt_guides.py), rebuilt offline.

* A ``HyperModel.fit`` that trains with ``model.fit`` (logging only ``loss``) and returns the
  objective itself, a number (no ``objective=``: minimised) or a dict of metrics naming the
  objective, scores its trials from what it returns (getting_started, "Custom metric as the
  objective"); the model of such a trial is kept (the latest epoch's weights: its logs hold
  no objective) for ``get_best_models``.
* A ``HyperModel.fit`` that returns the ``History`` of a fit that never logs the objective
  still stops the search at its first trial with ``ObjectiveNotLoggedError``.
* The harness's own splitting of a guide into code sections and its rewrites.

No guide text and no keras-tuner are needed: generated data, tiny models, one or two epochs.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import tunewise as kt
from tunewise.trial import TrialState

HARNESS = Path(__file__).resolve().parent.parent / "benchmarks" / "kt_guides.py"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((48, 5)).astype("float32")
    y = rng.random((48, 1)).astype("float32")
    return x[:32], y[:32], x[32:], y[32:]


class _Regressor(kt.HyperModel):
    """The guide's HyperRegressor: compiled with a loss only, so fit logs only ``loss``."""

    def build(self, hp):
        model = keras.Sequential([
            keras.Input(shape=(5,)),
            keras.layers.Dense(hp.Int("units", 2, 6, step=2), activation="relu"),
            keras.layers.Dense(1),
        ])
        model.compile(optimizer="adam", loss="mean_squared_error")
        return model


class ReturnsNumber(_Regressor):
    def fit(self, hp, model, x, y, validation_data, **kwargs):
        model.fit(x, y, **kwargs)
        x_val, y_val = validation_data
        return float(np.mean(np.abs(model.predict(x_val, verbose=0) - y_val)))


class ReturnsDict(_Regressor):
    def fit(self, hp, model, x, y, validation_data, **kwargs):
        model.fit(x, y, **kwargs)
        x_val, y_val = validation_data
        error = model.predict(x_val, verbose=0) - y_val
        return {"metric_a": -float(np.mean(np.abs(error))),
                "metric_b": float(np.mean(np.square(error)))}


class ReturnsHistory(_Regressor):
    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, **kwargs)


def _search(tuner, data):
    x, y, xv, yv = data
    tuner.search(x=x, y=y, validation_data=(xv, yv), epochs=2, verbose=0)
    return tuner


def test_a_fit_returning_a_number_without_an_objective_is_minimised(tmp_path, data):
    tuner = _search(kt.RandomSearch(hypermodel=ReturnsNumber(), max_trials=2, seed=0,
                                    directory=tmp_path, project_name="p", verbose=0), data)
    trials = tuner.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETED] * 2
    assert all(t.score is not None and t.score >= 0 for t in trials)
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score == min(t.score for t in trials)
    assert tuner.get_best_hyperparameters()[0].values == best.hyperparameters.values
    model = tuner.get_best_models(1)[0]  # the model was kept although no epoch scored
    assert model.predict(data[2], verbose=0).shape == (16, 1)


def test_a_fit_returning_a_dict_is_scored_by_its_objective_key(tmp_path, data):
    tuner = _search(kt.RandomSearch(hypermodel=ReturnsDict(),
                                    objective=kt.Objective("metric_a", "max"), max_trials=2,
                                    seed=0, directory=tmp_path, project_name="p", verbose=0),
                    data)
    trials = tuner.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETED] * 2
    for t in trials:
        assert t.score < 0 and t.score == t.steps[-1].metrics["metric_a"]
        assert "metric_b" in t.steps[-1].metrics
    assert tuner.oracle.get_best_trials(1)[0].score == max(t.score for t in trials)


def test_a_fit_returning_a_history_without_the_objective_still_stops_at_once(tmp_path, data):
    tuner = kt.RandomSearch(hypermodel=ReturnsHistory(), objective=kt.Objective("val_custom_metric", "min"),
                            max_trials=3, seed=0, directory=tmp_path, project_name="p",
                            verbose=0)
    with pytest.raises(kt.integrations.keras.ObjectiveNotLoggedError,
                       match="'val_custom_metric' is not in the metrics the model logs"):
        _search(tuner, data)
    assert len(tuner.study.trials) == 1  # one trial, not three failures


# --------------------------------------------------------------------------- the harness


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("kt_guides_harness", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


GUIDE = textwrap.dedent('''\
    """
    Title: A made-up guide
    """

    """shell
    pip install keras-tuner -q
    """

    import keras_tuner
    import keras_tuner as kt
    from keras_tuner.applications import HyperResNet
    import keras

    (x, y), _ = keras.datasets.mnist.load_data()
    x_train, x_val = x[:-10000], x[-10000:]


    def build(hp):
        """A docstring stays in its section."""
        return hp.Int("units", 1, 4)


    """
    Prose between two sections.
    """

    # Only a comment: not a section.

    """
    More prose.
    """

    %load_ext tensorboard
    tuner = kt.RandomSearch(build, max_trials=10, directory="/tmp/tb")
    tuner.search(epochs=2, steps_per_epoch=600, validation_steps=1, verbose=0)
    keras_code(saving_path="/tmp/best.keras", epochs=50)
''')


def test_the_harness_splits_a_guide_into_code_sections(harness):
    text = GUIDE.replace("%load_ext tensorboard\n", "")  # ast must parse the guide
    sections = harness.split_sections(text)
    assert [(s.number, s.line) for s in sections] == [(1, 8), (2, 32)]
    assert sections[0].code.lstrip().startswith("import keras_tuner\n")
    assert '"""A docstring stays in its section."""' in sections[0].code
    assert "pip install" not in "".join(s.code for s in sections)
    assert "Only a comment" not in "".join(s.code for s in sections)
    assert sections[1].code.strip().startswith("tuner = kt.RandomSearch(")


def test_the_harness_rewrites_make_a_section_offline_and_small(harness):
    tw, applied = harness.rewrite(GUIDE, "tunewise", "/RUN/tmp")
    lines = tw.splitlines()
    assert "import tunewise as keras_tuner" in lines
    assert "import tunewise as kt" in lines
    assert "from tunewise.applications import HyperResNet" in lines
    assert '(x, y), _ = _kt_guides_load_data("mnist")' in lines
    assert "x_train, x_val = x[:-100], x[-100:]" in lines
    assert not any(line.startswith("%") for line in lines)
    assert 'tuner = kt.RandomSearch(build, max_trials=3, directory="/RUN/tmp/tb")' in lines
    assert ("tuner.search(epochs=2, steps_per_epoch=5, validation_steps=1, verbose=0)"
            in lines)
    assert 'keras_code(saving_path="/RUN/tmp/best.keras", epochs=2)' in lines
    assert "keras_tuner -> tunewise" in applied and "max_trials <= 3" in applied
    assert "magic/shell/tensorboard line dropped" in applied
    kt_side, kt_applied = harness.rewrite(GUIDE, "keras-tuner", "/RUN/tmp")
    assert "import keras_tuner as kt" in kt_side.splitlines()
    assert "keras_tuner -> tunewise" not in kt_applied
    assert '_kt_guides_load_data("mnist")' in kt_side
    with pytest.raises(ValueError, match="No generated stand-in for dataset 'imdb'"):
        harness.rewrite("keras.datasets.imdb.load_data()\n", "tunewise", "/t")


def test_the_harness_stand_in_data_have_the_real_shapes_and_dtypes(harness):
    (x, y), (xt, yt) = harness.generated_load_data("cifar10")
    assert x.shape == (harness.N_TRAIN, 32, 32, 3) and y.shape == (harness.N_TRAIN, 1)
    assert xt.shape[0] == yt.shape[0] == harness.N_TEST
    assert x.dtype == y.dtype == np.uint8 and int(y.max()) < 10
