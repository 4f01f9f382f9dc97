"""The Ray executor on a real two-node Ray cluster (two ``ray start`` nodes on this machine).

Each study runs in a driver subprocess (``RayExecutor(address=...)`` calls ``ray.init`` there),
so this test process's own Ray state, which the ``local_ray`` tests use, is left alone. The
driver stores the study in SQLite under ``tmp_path``; the test reads it back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install 'tunewise[ray]')")

from _ray_cluster import RAY, RayCluster

import tunewise as tw
from tunewise.trial import TrialState

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="multi-node Ray runs on Linux only"),
    pytest.mark.skipif(not RAY.exists(), reason=f"no `ray` executable at {RAY}"),
]

DRIVER = textwrap.dedent(
    """
    import json, sys, time

    import tunewise as tw

    args = json.loads(sys.argv[1])


    def node_id():
        import ray

        return ray.get_runtime_context().get_node_id()


    def spread(hp, trial):
        kind = hp.Choice("kind", ["a", "b"])
        x = hp.Float("x", 0.0, 1.0)
        trial.set_attr("node", node_id())
        time.sleep(0.5)  # both tasks in flight at once: one per node (1 CPU each)
        return (x - 0.3) ** 2 + (kind == "b")


    def fails_on_three(hp, trial):
        n = hp.Int("n", 0, 5)
        trial.set_attr("node", node_id())
        time.sleep(0.3)
        if n == 3:
            raise ValueError(f"objective refuses n={n}")
        return float(n * n)


    sampler = declared = None
    if args["objective"] == "fails_on_three":  # the grid n = 0..5, known before any trial runs
        sampler, declared = tw.GridSampler(), tw.HyperParameters()
        declared.Int("n", 0, 5)
    study = tw.Study("loss", sampler, storage=args["storage"], project_name=args["project"],
                     seed=0, verbose=0, hyperparameters=declared)
    executor = tw.engine.RayExecutor(address=args["address"], num_cpus=1,
                                     max_concurrent=args["max_concurrent"],
                                     init_kwargs={"log_to_driver": False})
    study.optimize(globals()[args["objective"]], max_trials=args["max_trials"],
                   executor=executor)
    print("driver done", len(study.trials), flush=True)
    """
)


@pytest.fixture(scope="module")
def ray_cluster():
    """Two Ray nodes of 1 CPU each (head + one more), stopped (only they) after the module."""
    cluster = RayCluster(num_nodes=2, cpus_per_node=1).start()
    try:
        yield cluster
    finally:
        left = cluster.stop()
    assert not left, f"processes of the Ray cluster still alive after stopping it: {left}"


def run_driver(tmp_path, cluster, **args):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    args = {"address": cluster.address, "max_concurrent": 2, **args}
    proc = subprocess.Popen(
        [sys.executable, str(script), json.dumps(args)], cwd=tmp_path, env=cluster.env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"the driver ran past 120 s:\n{out[-4000:]}\n{cluster.tails()}")
    assert proc.returncode == 0, f"driver exited {proc.returncode}:\n{out[-4000:]}"
    assert "driver done" in out
    return out


def reopen(url, project, sampler=None):
    return tw.Study("loss", sampler, storage=url, project_name=project, seed=0, verbose=0)


def test_the_cluster_has_two_alive_nodes_of_one_cpu(ray_cluster):
    assert len(ray_cluster.nodes) == 2 and len(ray_cluster.node_ids) == 2
    assert [n["cpus"] for n in ray_cluster.nodes] == [1, 1]
    assert len(ray_cluster.leftovers()) > 2  # GCS, raylets, agents... in the nodes' sessions


def test_a_study_runs_on_both_nodes_of_a_ray_cluster(ray_cluster, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    run_driver(tmp_path, ray_cluster, storage=url, project="spread", objective="spread",
               max_trials=8)

    study = reopen(url, "spread")
    trials = study.trials
    assert len(trials) == 8 and study.n_slots == 8
    assert all(t.state is TrialState.COMPLETED for t in trials), [t.reason for t in trials]
    assert sorted(t.number for t in trials) == list(range(8))
    for t in trials:
        expected = (t.values["x"] - 0.3) ** 2 + (t.values["kind"] == "b")
        assert t.score == pytest.approx(expected)
    assert {t.attrs["node"] for t in trials} == ray_cluster.node_ids  # ran on both nodes


def test_a_failing_configuration_is_recorded_and_the_search_goes_on(ray_cluster, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    run_driver(tmp_path, ray_cluster, storage=url, project="fails", objective="fails_on_three",
               max_trials=6)

    study = reopen(url, "fails", tw.GridSampler())
    trials = {t.values["n"]: t for t in study.trials}
    assert sorted(trials) == [0, 1, 2, 3, 4, 5] and len(study.trials) == 6  # the whole grid
    failed = trials[3]
    assert failed.state is TrialState.FAILED
    assert "Traceback (most recent call last)" in failed.reason
    assert "ValueError: objective refuses n=3" in failed.reason
    assert "in fails_on_three" in failed.reason  # the task's own frames, sent back by Ray
    for n, t in trials.items():
        if n != 3:
            assert t.state is TrialState.COMPLETED and t.score == pytest.approx(n * n)
    assert any(t.number > failed.number for t in trials.values())  # trials after the failure
    assert {t.attrs["node"] for t in trials.values()} <= ray_cluster.node_ids
