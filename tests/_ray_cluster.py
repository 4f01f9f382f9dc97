"""A real multi-node Ray cluster on this machine, started with ``ray start``, for tests.

Each node is one ``ray start --block`` process started in a new session, with its own short
``--temp-dir`` (Ray's unix sockets live there and a socket path is limited to ~107 bytes, so
pytest's long ``tmp_path`` will not do) and its own ports, picked free on 127.0.0.1. Nothing
is written to Ray's default ``/tmp/ray``, so an in-process ``ray.init()`` elsewhere in the
test session (the ``local_ray`` fixture) neither finds nor joins this cluster.

Stopping it never uses ``ray stop`` (which stops every Ray on the machine): each ``ray start
--block`` process is sent SIGTERM, on which Ray kills the processes of that node (GCS, raylet,
agents, workers; their parent-death signal is set too), then whatever is still alive in the
node's session is SIGKILLed. ``leftovers()`` lists the live processes of those sessions.

The cluster uses token authentication with a token of its own, in ``cluster.env``: run its
drivers with that environment.

Note: on Linux, Ray 2.x replaces a loopback ``--node-ip-address``/``--address`` with the
machine's primary IP (``services.resolve_ip_for_localhost``) and its gRPC servers listen on all
interfaces; the nodes, the driver and their traffic still stay on this machine.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = Path(sys.executable).parent / "ray"

#: Object store of each node: Ray's minimum is 75 MB; the tests pass small objects only.
OBJECT_STORE_BYTES = 100 * 1024 * 1024

_WAIT_FOR_NODES = r"""
import json, sys, time
import ray
address, want, deadline = sys.argv[1], int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
ray.init(address=address, log_to_driver=False, configure_logging=False)
while True:
    alive = [n for n in ray.nodes() if n["Alive"]]
    if len(alive) >= want or time.monotonic() > deadline:
        break
    time.sleep(0.2)
print(json.dumps([{"id": n["NodeID"], "ip": n["NodeManagerAddress"],
                   "cpus": n["Resources"].get("CPU", 0)} for n in alive]))
ray.shutdown()
"""


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free on 127.0.0.1 now (held together while picked)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def ray_env(token: str) -> dict[str, str]:
    """The environment of a cluster's nodes and drivers: token authentication with the
    cluster's own ``token`` (not ``~/.ray/auth_token``, which a local ``ray.init()`` creates and
    a ``ray start --head`` would otherwise pick up), no RAY_ADDRESS, no usage stats."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN_PATH")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_USAGE_STATS_ENABLED="0")
    import tunewise  # the drivers and Ray's workers import the tunewise this process tests

    root = str(Path(tunewise.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def _session_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    if fields[0] == "Z":  # a zombie is dead already (its parent has not reaped it)
        return None
    return int(fields[3])  # state, ppid, pgrp, session


def _pids_in_sessions(sessions: set[int]) -> list[int]:
    if not Path("/proc").is_dir():  # no /proc: only the process groups are known
        alive = []
        for sid in sessions:
            try:
                os.killpg(sid, 0)
                alive.append(sid)
            except OSError:
                pass
        return alive
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _session_of(int(entry)) in sessions:
            pids.append(int(entry))
    return pids


class NodeExited(RuntimeError):
    """A node's ``ray start`` process ended while the cluster started."""


class RayCluster:
    """``num_nodes`` Ray nodes of ``cpus_per_node`` CPUs each, the first the head."""

    def __init__(self, num_nodes: int = 2, cpus_per_node: int = 1, timeout: float = 60.0):
        if not RAY.exists():
            raise FileNotFoundError(f"no `ray` executable next to {sys.executable}")
        self.num_nodes, self.cpus_per_node, self.timeout = num_nodes, cpus_per_node, timeout
        self.base = Path(tempfile.mkdtemp(prefix="twray", dir="/tmp"))  # short: socket paths
        self.env = ray_env(secrets.token_hex(32))  # for its nodes and its drivers
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.nodes: list[dict] = []
        self.port = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def node_ids(self) -> set[str]:
        return {n["id"] for n in self.nodes}

    # -- starting -------------------------------------------------------------------------

    def start(self, attempts: int = 2) -> RayCluster:
        """Starts the nodes and waits until all are alive. A ``ray start`` that exits early
        (a port picked free was taken meanwhile...) is tried again with new ports."""
        for attempt in range(1, attempts + 1):
            try:
                self._start()
                return self
            except BaseException as exc:
                left = self.stop()
                if attempt == attempts or left or not isinstance(exc, NodeExited):
                    raise
                self.procs, self.logs, self.nodes = [], [], []
                self.base = Path(tempfile.mkdtemp(prefix="twray", dir="/tmp"))
        raise AssertionError("unreachable")

    def _start(self) -> None:
        self.port, client_port, dashboard_port, *agent_ports = free_ports(3 + self.num_nodes)
        common = ["--num-cpus", str(self.cpus_per_node), "--disable-usage-stats",
                  "--object-store-memory", str(OBJECT_STORE_BYTES), "--block",
                  "--log-style", "record", "--log-color", "false"]
        deadline = time.monotonic() + self.timeout
        self._start_node(0, [
            "--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
            "--include-dashboard", "false", "--dashboard-host", "127.0.0.1",
            "--dashboard-port", str(dashboard_port), "--ray-client-server-port", str(client_port),
            "--dashboard-agent-listen-port", str(agent_ports[0]), *common,
        ])
        self._wait_started(0, deadline)  # its GCS is up: the other nodes can join
        for i in range(1, self.num_nodes):
            self._start_node(i, [
                "--address", self.address, "--node-ip-address", "127.0.0.1",
                "--dashboard-agent-listen-port", str(agent_ports[i]), *common,
            ])
        self._wait_for_nodes(deadline)

    def _start_node(self, i: int, args: list[str]) -> None:
        log = self.base / f"node{i}.log"
        temp_dir = self.base / f"n{i}"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [str(RAY), "start", "--temp-dir", str(temp_dir), *args],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=self.env, start_new_session=True,  # its own session: found and killed as one
            )
        self.procs.append(proc)
        self.logs.append(log)

    def _wait_started(self, i: int, deadline: float) -> None:
        """Until node ``i``'s ``ray start`` says it started. (A port taken meanwhile makes it
        wait for a GCS that never comes, rather than exit: that ends here at ``deadline``.)"""
        while b"Ray runtime started." not in self.logs[i].read_bytes():
            self._check_alive()
            if time.monotonic() > deadline:
                raise NodeExited(f"node {i} did not start in {self.timeout:g}s\n{self.tails()}")
            time.sleep(0.2)

    def _check_alive(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:
                raise NodeExited(f"`ray start` of node {i} exited ({proc.returncode})\n"
                                 f"{self.tails()}")

    def _wait_for_nodes(self, deadline: float) -> None:
        """Until the cluster reports all its nodes alive (asked by a short driver process,
        watched together with the nodes' ``ray start`` processes)."""
        left = max(5.0, deadline - time.monotonic())
        err_path = self.base / "wait_for_nodes.err"
        with open(err_path, "wb") as err:
            helper = subprocess.Popen(
                [sys.executable, "-c", _WAIT_FOR_NODES, self.address, str(self.num_nodes),
                 str(left)],
                env=self.env, stdout=subprocess.PIPE, stderr=err, start_new_session=True,
            )
        try:
            while helper.poll() is None:
                self._check_alive()
                if time.monotonic() > deadline + 30:
                    raise TimeoutError(f"the cluster did not answer in {self.timeout + 30:g}s\n"
                                       f"{err_path.read_text(errors='replace')[-3000:]}\n"
                                       f"{self.tails()}")
                time.sleep(0.2)
        finally:
            if helper.poll() is None:
                os.killpg(helper.pid, signal.SIGKILL)
                helper.wait()
        out = helper.stdout.read().decode()
        helper.stdout.close()
        if helper.returncode != 0:
            raise RuntimeError("could not list the cluster's nodes:\n"
                               f"{err_path.read_text(errors='replace')[-3000:]}")
        self.nodes = json.loads(out.strip().splitlines()[-1])
        if len(self.nodes) != self.num_nodes:
            raise TimeoutError(f"{len(self.nodes)} of {self.num_nodes} nodes alive after "
                               f"{self.timeout:g}s: {self.nodes}\n{self.tails()}")

    def tails(self, chars: int = 2000) -> str:
        parts = []
        for log in self.logs:
            text = log.read_text(errors="replace") if log.exists() else ""
            parts.append(f"--- {log.name}\n{text[-chars:]}")
        return "\n".join(parts)

    # -- stopping -------------------------------------------------------------------------

    def sessions(self) -> set[int]:
        return {p.pid for p in self.procs}  # start_new_session: session id == pid

    def leftovers(self) -> list[int]:
        """Live processes of this cluster's nodes."""
        return _pids_in_sessions(self.sessions())

    def stop(self, grace: float = 20.0) -> list[int]:
        """Stops the nodes (workers first, head last); returns the pids still alive (none)."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # Ray's handler kills the node's processes
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
        deadline = time.monotonic() + grace
        while True:
            left = self.leftovers()
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for pid in left:  # what did not go on SIGTERM
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for sid in self.sessions() if left else ():
            try:
                os.killpg(sid, signal.SIGKILL)
            except OSError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 5
        while (left := self.leftovers()) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not left:
            shutil.rmtree(self.base, ignore_errors=True)
        return left
