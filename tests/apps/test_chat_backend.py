"""The chat backend against a real MariaDB and a real inference server, all on loopback."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sse import sse_events

from .mariadb import start_mariadb
from .procs import APPS, Server, free_port, read_sse, start_inference, wait_http


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory):
    db = start_mariadb(tmp_path_factory.mktemp("mariadb"))
    yield db
    db.stop()


@pytest.fixture(scope="module")
def inference_url(tmp_path_factory):
    server, url = start_inference(tmp_path_factory.mktemp("inf"), token_delay_ms=2)
    wait_http(f"{url}/health", proc=server.proc)
    yield url
    server.stop()


def start_chat(tmp: Path, mariadb, inference_url: str, **env: str) -> tuple[Server, str]:
    secret = tmp / "db_password.secret"
    secret.write_text(mariadb.password + "\n")
    port = free_port()
    base = {
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(mariadb.port),
        "DB_PASSWORD_FILE": str(secret),
        "INFERENCE_URL": inference_url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "MAX_MESSAGE_CHARS": "300",
    }
    server = Server(APPS / "chat", "chat_backend", [], base | env, tmp / f"chat-{port}.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/healthz", proc=server.proc)
    return server, url


@pytest.fixture(scope="module")
def chat(tmp_path_factory, mariadb, inference_url):
    server, url = start_chat(tmp_path_factory.mktemp("chat"), mariadb, inference_url)
    yield url
    server.stop()


def send(url: str, message: str, conversation_id: int | None = None):
    body: dict = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    return httpx.post(f"{url}/api/chat", json=body, timeout=30)


def test_probes(chat):
    assert httpx.get(f"{chat}/healthz").json() == {"status": "ok"}
    r = httpx.get(f"{chat}/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "inference": "ok"}


def test_chat_streams_and_stores_both_messages(chat):
    r = send(chat, "What is a pod?")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = read_sse(r)
    kinds = [k for k, _ in events]
    assert kinds[0] == "meta" and kinds[-1] == "done" and kinds.count("token") >= 2
    meta, done = events[0][1], events[-1][1]
    streamed = "".join(d["text"] for k, d in events if k == "token")
    assert done["content"] == streamed.strip() and done["content"]
    import socket

    assert meta["replica"] == done["replica"] == socket.gethostname()
    conv_id = meta["conversation_id"]
    conv = httpx.get(f"{chat}/api/conversations/{conv_id}").json()
    assert [m["role"] for m in conv["messages"]] == ["user", "assistant"]
    assert conv["messages"][0]["content"] == "What is a pod?"
    assert conv["messages"][1]["content"] == done["content"]
    assert conv["messages"][1]["replica"] == meta["replica"]
    assert conv["title"] == "What is a pod?"
    # A follow-up lands in the same conversation, which moves to the top of the list.
    r2 = send(chat, "And a service?", conv_id)
    assert read_sse(r2)[-1][0] == "done"
    listing = httpx.get(f"{chat}/api/conversations").json()
    assert listing[0]["id"] == conv_id and listing[0]["message_count"] == 4


@pytest.mark.parametrize(
    ("message", "fragment"),
    [("", "empty"), ("   \n ", "empty"), ("x" * 301, "301 characters; the limit is 300")],
)
def test_bad_messages_are_422(chat, message, fragment):
    before = httpx.get(f"{chat}/api/conversations").json()
    r = send(chat, message)
    assert r.status_code == 422
    assert fragment in r.json()["detail"]
    assert httpx.get(f"{chat}/api/conversations").json() == before  # nothing stored


def test_wrong_types_are_422(chat):
    assert (
        httpx.post(f"{chat}/api/chat", json={"message": 5.5, "conversation_id": "x"}).status_code
        == 422
    )
    assert httpx.post(f"{chat}/api/chat", json={}).status_code == 422


def test_unknown_conversation_is_404(chat):
    r = httpx.get(f"{chat}/api/conversations/999999")
    assert r.status_code == 404 and "999999 does not exist" in r.json()["detail"]
    assert send(chat, "hello", 999999).status_code == 404


def test_inference_down_gives_503_and_keeps_the_message(tmp_path, mariadb):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server, url = start_chat(tmp_path, mariadb, dead)
    try:
        r = send(url, "Is anyone there?")
        assert r.status_code == 503
        body = r.json()
        assert "not reachable" in body["detail"] and "Your message was saved" in body["detail"]
        conv = httpx.get(f"{url}/api/conversations/{body['conversation_id']}").json()
        assert [(m["role"], m["content"]) for m in conv["messages"]] == [
            ("user", "Is anyone there?")
        ]
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "ok"
        assert "not reachable" in ready.json()["checks"]["inference"]
    finally:
        server.stop()


def test_database_down_is_503_not_a_crash(tmp_path, mariadb, inference_url):
    server, url = start_chat(
        tmp_path, mariadb, inference_url, DB_PORT=str(free_port())
    )  # no database there
    try:
        r = httpx.get(f"{url}/api/conversations")
        assert r.status_code == 503 and "database is not reachable" in r.json()["detail"]
        assert httpx.get(f"{url}/readyz").status_code == 503
        assert httpx.get(f"{url}/healthz").status_code == 200  # alive, just not ready
    finally:
        server.stop()


@pytest.fixture
def own_db(tmp_path):
    """A database of this test's own, to stop, restart and restrict."""
    db = start_mariadb(tmp_path / "mariadb")
    yield db
    db.stop()


def stream_events(url: str, message: str, conversation_id: int | None = None, on_token=None):
    """The (event, data) pairs of one chat request, read as they arrive; `on_token` is called
    once, at the first token."""
    body = {"message": message, "conversation_id": conversation_id}
    with httpx.stream("POST", f"{url}/api/chat", json=body, timeout=60) as response:
        assert response.status_code == 200, response.read()
        return sse_events(response.iter_lines(), on_token)


def test_a_database_restart_loses_no_message(tmp_path, own_db):
    slow, slow_url = start_inference(tmp_path / "inf", token_delay_ms=60)
    wait_http(f"{slow_url}/health", proc=slow.proc)
    server, url = start_chat(tmp_path, own_db, slow_url, MAX_NEW_TOKENS="30")
    try:
        # The database goes down while the answer streams and is back 2 s later: the reply is
        # saved once it is, and the stream ends as usual.
        def restart_soon():
            own_db.stop()
            threading.Timer(2, own_db.start).start()

        events = stream_events(url, "What is a pod?", on_token=restart_soon)
        assert [k for k, _ in events if k == "error"] == [], events
        done = events[-1]
        assert done[0] == "done" and done[1]["message_id"], events
        conv_id = done[1]["conversation_id"]
        # The database is down when the next message arrives and back 2 s later: the message
        # waits for it instead of failing.
        own_db.stop()
        threading.Timer(2, own_db.start).start()
        events = stream_events(url, "And a node?", conv_id)
        assert events[-1][0] == "done" and events[-1][1]["message_id"], events
        stored = httpx.get(f"{url}/api/conversations/{conv_id}").json()["messages"]
        assert [m["content"] for m in stored] == [
            "What is a pod?",
            done[1]["content"],
            "And a node?",
            events[-1][1]["content"],
        ]
    finally:
        server.stop()
        slow.stop()


def test_a_database_that_stays_down_is_reported_without_the_messages(
    tmp_path, own_db, inference_url
):
    server, url = start_chat(
        tmp_path, own_db, inference_url, DB_RETRY_SECONDS="1", REPLY_RETRY_SECONDS="1"
    )
    try:
        conv_id = read_sse(send(url, "first"))[-1][1]["conversation_id"]
        # A write the database refuses: its error is logged with the SQL, never the user's words.
        with own_db.root() as conn, conn.cursor() as cur:
            cur.execute(
                "CREATE TRIGGER chat.refuse BEFORE INSERT ON chat.messages FOR EACH ROW "
                "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'"
            )
        refused = send(url, "my secret words 42", conv_id)
        assert refused.status_code == 503, refused.text
        assert "user_message_id" not in refused.json()  # the page puts the text back
        logs = server.logs()
        assert "INSERT INTO messages" in logs and "my secret words" not in logs, logs[-3000:]
        with own_db.root() as conn, conn.cursor() as cur:
            cur.execute("DROP TRIGGER chat.refuse")
        # The database goes away while the reply streams: the stream says the reply was not
        # saved, and still ends with `done`.
        events = stream_events(url, "second", conv_id, on_token=own_db.stop)
        errors = [d["detail"] for k, d in events if k == "error"]
        assert errors and "could not be saved, the database is not reachable" in errors[0], events
        assert events[-1][0] == "done" and events[-1][1]["message_id"] is None
        assert events[-1][1]["content"], "the reply is still shown"
    finally:
        server.stop()


def test_openai_compatible_backend(tmp_path, mariadb, inference_url):
    server, url = start_chat(tmp_path, mariadb, inference_url, INFERENCE_API="openai")
    try:
        assert httpx.get(f"{url}/readyz").status_code == 200
        events = read_sse(send(url, "Tell me about GPUs"))
        assert events[-1][0] == "done" and events[-1][1]["content"]
        assert events[-1][1]["finish_reason"] in ("stop", "length")
    finally:
        server.stop()


def test_the_inference_key_is_sent_as_a_bearer_token(tmp_path, mariadb):
    """INFERENCE_KEY (a server started with vLLM's --api-key) goes with every request."""
    seen: list[str | None] = []

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("authorization"))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    inference = f"http://127.0.0.1:{httpd.server_port}"
    server, url = start_chat(tmp_path, mariadb, inference, INFERENCE_KEY="k-7f3a")
    try:
        assert httpx.get(f"{url}/readyz").status_code == 200
        assert seen and set(seen) == {"Bearer k-7f3a"}, seen
    finally:
        server.stop()
        httpd.shutdown()


def test_schema_is_migrated_at_start(tmp_path, mariadb, inference_url):
    conn = mariadb.root()
    with conn.cursor() as cur:  # an old release's table had no replica column
        cur.execute("CREATE DATABASE IF NOT EXISTS chat")
        cur.execute("SELECT COUNT(*) FROM chat.messages")
        (count,) = cur.fetchone()
        cur.execute("ALTER TABLE chat.messages DROP COLUMN replica")
    server, url = start_chat(tmp_path, mariadb, inference_url)
    try:
        assert httpx.get(f"{url}/readyz").status_code == 200
        with conn.cursor() as cur:
            cur.execute("SHOW COLUMNS FROM chat.messages LIKE 'replica'")
            assert cur.fetchone() is not None
            cur.execute("SELECT COUNT(*) FROM chat.messages")
            assert cur.fetchone()[0] == count  # history kept
    finally:
        server.stop()
        conn.close()


def test_missing_password_is_a_clear_error(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "chat_backend"],
        capture_output=True,
        text=True,
        env={
            "PYTHONPATH": str(APPS / "chat"),
            "PORT": str(free_port()),
            "DB_PASSWORD_FILE": str(tmp_path / "missing.secret"),
        },
        timeout=60,
    )
    assert r.returncode != 0
    assert "DB_PASSWORD_FILE" in r.stderr and "cannot be read" in r.stderr
    assert "Traceback" not in r.stderr
