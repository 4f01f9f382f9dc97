"""The dashboard answers only requests addressed to it (DNS rebinding), only reads, and listens
on the loopback interface only.

A page on ``attacker.example`` whose name the attacker then points at 127.0.0.1 can make the
browser send requests to the dashboard's port; they carry ``Host: attacker.example:<port>``.
Every route refuses them (421, one plain-text line) before it reads any storage. Raw
``http.client`` requests against a real server thread set each header by hand.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import socket

import pytest
from _see_project import N_TRIALS, make_project

from tunewise.report import start_dashboard
from tunewise.report._dashboard import allowed_names, host_allowed, split_host
from tunewise.storage import SQLStorage

ROUTES = ("/", "/api/studies", "/api/study/{key}", "/plot/{key}/history.png", "/nope",
          "/favicon.ico")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("host")
    make_project(root)
    db = root / "demo" / "tunewise.db"
    storage = SQLStorage(f"sqlite:///{db}")
    server = start_dashboard(storage, port=0)
    try:
        (study,) = storage.list_studies()
        yield server, f"0-{study.id}", db
    finally:
        server.stop()


def _request(server, path, host, method="GET", body=None, headers=()):
    """Send one request with exactly the ``Host`` header given (None: no Host header)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _routes(key):
    return [r.format(key=key) for r in ROUTES]


@pytest.mark.parametrize("host", [
    "attacker.example",
    "attacker.example:{port}",
    "127.0.0.1.attacker.example:{port}",
    "localhost.attacker.example:{port}",
    "127.0.0.1:{other}",  # the right name, another port
    "localhost",  # no port (the dashboard is not on port 80)
    "127.0.0.1:{port}@attacker.example",
    "[::1]x:{port}",
    "",
    None,  # no Host header at all
])
def test_a_request_for_another_host_is_refused_on_every_route(served, host):
    server, key, _ = served
    if host is not None:
        host = host.format(port=server.port, other=server.port + 1)
    for path in _routes(key):
        status, headers, body = _request(server, path, host)
        assert status == 421, (host, path, status)
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        text = body.decode()
        assert text.count("\n") == 1 and text.startswith("Refused: the Host header")
        assert f"open http://127.0.0.1:{server.port}/ instead" in text
        assert b"demo" not in body and b"{" not in body  # nothing of the study leaks


def test_the_loopback_names_with_the_port_are_served(served):
    server, key, _ = served
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}",
                 f"LOCALHOST:{server.port}", f"[::1]:{server.port}"):
        status, headers, body = _request(server, "/api/studies", host)
        assert status == 200, host
        assert [s["study"] for s in json.loads(body)] == ["demo"]
        status, _, body = _request(server, f"/api/study/{key}", host)
        assert status == 200 and len(json.loads(body)["table"]["rows"]) == N_TRIALS
        status, headers, body = _request(server, "/", host)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert b'id="trials"' in body
    # two Host headers, one of them right, are refused: which one a proxy reads is unknown
    status, _, _ = _request(server, "/api/studies", f"127.0.0.1:{server.port}",
                            headers=[("Host", "attacker.example")])
    assert status == 421


def test_the_page_runs_only_its_own_script_and_cannot_be_framed(served):
    server, _, _ = served
    status, headers, body = _request(server, "/", f"127.0.0.1:{server.port}")
    assert status == 200
    policy = dict(p.strip().split(" ", 1) for p in headers["Content-Security-Policy"].split(";"))
    script = body.decode().split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert policy["script-src"] == f"'sha256-{digest}' 'unsafe-eval'"  # no 'unsafe-inline'
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["connect-src"] == "'self'"
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
                                    "TRACE", "CONNECT", "PROPFIND"])
def test_every_method_but_get_is_refused_and_nothing_is_written(served, method):
    server, key, db = served
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for path in ("/", "/api/studies", f"/api/study/{key}"):
        status, headers, body = _request(server, path, f"127.0.0.1:{server.port}", method,
                                         body=b'{"state": "FAILED"}')
        assert status == 405, (method, path, status)
        assert headers["Allow"] == "GET"
        if method != "HEAD":
            assert body == f"Refused: the dashboard is read-only; {method} is not allowed, " \
                           "only GET.\n".encode()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    # and the wrong host is refused before the method is looked at
    status, _, _ = _request(server, "/api/studies", "attacker.example", method)
    assert status == 421


def test_it_listens_on_127_0_0_1_only(served):
    server, _, _ = served
    assert server.socket.family == socket.AF_INET
    assert server.socket.getsockname()[0] == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.port}/"


def test_the_host_rules():
    names = allowed_names("127.0.0.1")
    assert names == {"127.0.0.1", "localhost", "[::1]"}
    assert host_allowed("127.0.0.1:8050", names, "127.0.0.1", 8050)
    assert host_allowed(" Localhost:8050 ", names, "127.0.0.1", 8050)
    assert not host_allowed("localhost", names, "127.0.0.1", 8050)
    assert host_allowed("localhost", names, "127.0.0.1", 80)  # port 80 may go unsaid
    assert host_allowed("localhost:80", names, "127.0.0.1", 80)
    assert not host_allowed("localhost:8050", names, "127.0.0.1", 80)
    assert not host_allowed("localhost:", names, "127.0.0.1", 80)
    assert not host_allowed("localhost:+80", names, "127.0.0.1", 80)
    assert not host_allowed(None, names, "127.0.0.1", 80)
    assert split_host("[::1]:8050") == ("[::1]", "8050")
    assert split_host("[::1]") == ("[::1]", None)
    assert split_host("::1:8050") is None and split_host("[::1") is None
    # bound to an address of another interface: that address and the machine's extra names
    lan = allowed_names("192.168.1.5", extra=["My-Box"])
    assert host_allowed("192.168.1.5:8050", lan, "192.168.1.5", 8050)
    assert host_allowed("my-box:8050", lan, "192.168.1.5", 8050)
    assert not host_allowed("192.168.1.6:8050", lan, "192.168.1.5", 8050)
    # bound to every interface: any IP address (a rebinding page sends its own name, never
    # an address), still no other name
    anywhere = allowed_names("0.0.0.0")
    assert host_allowed("10.1.2.3:8050", anywhere, "0.0.0.0", 8050)
    assert host_allowed("[fe80::1]:8050", anywhere, "0.0.0.0", 8050)
    assert not host_allowed("10.1.2.3:8051", anywhere, "0.0.0.0", 8050)
    assert not host_allowed("attacker.example:8050", anywhere, "0.0.0.0", 8050)
    assert not host_allowed("10.1.2.3.attacker.example:8050", anywhere, "0.0.0.0", 8050)


def test_extra_hosts_are_served_and_other_names_still_refused(tmp_path):
    make_project(tmp_path)
    server = start_dashboard(SQLStorage(f"sqlite:///{tmp_path / 'demo' / 'tunewise.db'}"),
                             port=0, extra_hosts=["dashboard.internal"])
    try:
        status, _, _ = _request(server, "/api/studies", f"dashboard.internal:{server.port}")
        assert status == 200
        status, _, _ = _request(server, "/api/studies", f"attacker.example:{server.port}")
        assert status == 421
    finally:
        server.stop()
