"""TensorBoard as Keras Tuner does it: ``<log_dir>/<trial_id>/execution<k>`` runs with the
HParams plugin's data (each trial's hyperparameters, grouped by trial), read back through
TensorBoard's own event loading and HParams backend; without ``tensorboard``, one note per
search and the runs still written."""

from __future__ import annotations

import glob
import logging
import os
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorboard.plugins.hparams.api")

from tensorboard.plugins.hparams import api as hparams_api
from tensorboard.plugins.hparams import api_pb2

import tunewise as tw
from tunewise.integrations.keras import _tensorboard as tb
from tunewise.space import HyperParameters


def build(hp):
    model = keras.Sequential(
        [
            keras.Input(shape=(3,)),
            keras.layers.Dense(
                hp.Int("units", 2, 6, step=2), activation=hp.Choice("act", ["relu", "tanh"])
            ),
            keras.layers.Dense(1),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")), loss="mse"
    )
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def search(tmp_path, data, log_dir, max_trials=2, project="p", **kwargs):
    tuner = tw.RandomSearch(
        build, objective="val_loss", max_trials=max_trials, executions_per_trial=2,
        directory=str(tmp_path), project_name=project, seed=3, verbose=0,
    )
    x, y = data
    callback = keras.callbacks.TensorBoard(log_dir)
    tuner.search(x, y, epochs=1, validation_data=(x, y), callbacks=[callback], verbose=0,
                 **kwargs)
    return tuner, callback


def event_files(directory):
    return glob.glob(os.path.join(directory, "events.out.tfevents.*"))


def hparams_plugin_view(log_dir):
    """What TensorBoard's HParams dashboard gets: the experiment (hparams, metrics) it infers
    and its session groups, from TensorBoard's own loader and HParams backend."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import backend_context, list_session_groups

    mux = pem.EventMultiplexer()
    mux.AddRunsFromDirectory(str(log_dir))
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, str(log_dir))
    backend = backend_context.Context(
        base_plugin.TBContext(logdir=str(log_dir), multiplexer=mux, data_provider=provider)
    )
    request = context.RequestContext()
    metadata = backend.hparams_metadata(request, "")
    experiment = backend.experiment_from_metadata(
        request, "", True, metadata, backend.hparams_from_data_provider(request, "", None)
    )
    statuses = [api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE]
    groups = list_session_groups.Handler(
        request, backend, "", api_pb2.ListSessionGroupsRequest(
            allowed_statuses=statuses, start_index=0, slice_size=100
        ),
    ).run()
    return experiment, groups.session_groups


def proto_value(value):
    kind = value.WhichOneof("kind")
    return getattr(value, kind)


@pytest.mark.parametrize("n_jobs", [1, 2], ids=["in-process", "n_jobs=2"])
def test_each_execution_is_a_run_with_the_trials_hparams(tmp_path, data, n_jobs):
    log_dir = tmp_path / "logs"
    tuner, callback = search(tmp_path, data, log_dir, n_jobs=n_jobs)

    assert callback.log_dir == str(log_dir)  # the user's callback is copied, never changed
    trials = tuner.oracle.trials
    assert sorted(trials) == ["00", "01"]
    assert sorted(os.listdir(log_dir)) == ["00", "01"]
    for trial_id in trials:
        assert sorted(os.listdir(log_dir / trial_id)) == ["execution0", "execution1"]
        for k in (0, 1):
            run = log_dir / trial_id / f"execution{k}"
            assert event_files(run), run  # the HParams session
            assert event_files(run / "train") and event_files(run / "validation")

    experiment, groups = hparams_plugin_view(log_dir)
    assert {info.name for info in experiment.hparam_infos} == {"units", "act", "lr"}
    metrics = {(m.name.group, m.name.tag) for m in experiment.metric_infos}
    assert ("validation", "epoch_loss") in metrics  # the objective val_loss
    assert sorted(g.name for g in groups) == ["00", "01"]  # a trial's executions: one group
    for group in groups:
        trial = trials[group.name]
        assert {k: proto_value(v) for k, v in group.hparams.items()} == dict(
            trial.hyperparameters.values
        )
        assert sorted(s.name for s in group.sessions) == [
            f"{group.name}/execution0", f"{group.name}/execution1"
        ]
        assert all(s.status == api_pb2.STATUS_SUCCESS for s in group.sessions)
        objective = {
            (m.name.group, m.name.tag): m.value for m in group.metric_values
        }[("validation", "epoch_loss")]
        # The group's metric is the mean of its executions, as the trial's score is.
        assert objective == pytest.approx(trial.score, rel=1e-5)


def test_without_tensorboard_one_note_per_search_and_runs_still_written(
    tmp_path, data, monkeypatch, caplog
):
    monkeypatch.setitem(sys.modules, "tensorboard.plugins.hparams", None)  # import fails
    log_dir = tmp_path / "logs"
    with caplog.at_level(logging.INFO, logger="tunewise"):
        tuner, _ = search(tmp_path, data, log_dir, max_trials=1)
    notes = [r.getMessage() for r in caplog.records if "HParams" in r.getMessage()]
    assert len(notes) == 1, notes  # two executions, one note
    assert "pip install tensorboard" in notes[0] and "still written" in notes[0]
    run = log_dir / "00" / "execution1"
    assert event_files(run / "train") and event_files(run / "validation")
    assert not event_files(run)  # no HParams session without tensorboard

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tunewise"):
        x, y = data
        tuner.max_trials = 2
        tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0,
                     callbacks=[keras.callbacks.TensorBoard(log_dir)])
    assert len([r for r in caplog.records if "HParams" in r.getMessage()]) == 1  # a new search
    assert event_files(log_dir / "01" / "execution0" / "validation")


def test_run_dir_is_trial_then_execution():
    assert tb.run_dir("logs", "07", 2) == os.path.join("logs", "07", "execution2")
    with pytest.raises(ValueError, match=r"execution=-1 must be an int >= 0"):
        tb.run_dir("logs", "07", -1)


def converted(define):
    hps = HyperParameters()
    define(hps)
    ((key, value),) = tb.convert_hyperparams_to_hparams(hps, hparams_api).items()
    return key, value


@pytest.mark.parametrize(
    ("define", "domain", "value"),
    [
        (lambda hp: hp.Choice("lr", [1e-4, 1e-3, 1e-2]),
         hparams_api.Discrete([1e-4, 1e-3, 1e-2]), 1e-4),
        (lambda hp: hp.Int("units", 2, 16), hparams_api.IntInterval(2, 16), 2),
        (lambda hp: hp.Int("units", 32, 128, step=32),
         hparams_api.Discrete([32, 64, 96, 128]), 32),
        (lambda hp: hp.Int("units", 4, 64, step=2, sampling="log"),
         hparams_api.Discrete([4, 8, 16, 32, 64]), 4),
        (lambda hp: hp.Int("units", 1, 10**6, step=2),  # too many values to list
         hparams_api.IntInterval(1, 10**6), 1),
        (lambda hp: hp.Float("lr", 0.5, 1.25, step=0.25),
         hparams_api.Discrete([0.5, 0.75, 1.0, 1.25]), 0.5),
        (lambda hp: hp.Float("lr", 1e-4, 1e-1, sampling="log"),
         hparams_api.RealInterval(1e-4, 1e-1), 1e-4),
        (lambda hp: hp.Boolean("beta"), hparams_api.Discrete([True, False]), False),
        (lambda hp: hp.Fixed("kind", "wide"), hparams_api.Discrete(["wide"]), "wide"),
    ],
)
def test_domains_come_from_the_definition(define, domain, value):
    key, got = converted(define)
    assert got == value and type(got) is type(value)
    assert repr(key.domain) == repr(domain)


def test_only_active_hyperparameters_are_written():
    hps = HyperParameters()
    hps.Choice("model", ["a", "b"])
    with hps.conditional_scope("model", ["b"]):
        hps.Int("depth", 1, 3)
    hparams = tb.convert_hyperparams_to_hparams(hps, hparams_api)
    assert {k.name: v for k, v in hparams.items()} == {"model": "a"}
