"""The web client's signaling library (``protocol.js``) as the server expects it to behave:
the ticket goes in the first frame, never in the URL (access logs keep URLs), a dropped
connection resumes with its resume token, and the server's reasons for closing reach the page.

The module runs under Node with a stand-in WebSocket that records what the page would send.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "src" / "parley" / "web" / "static" / "js" / "protocol.js"

HARNESS = r"""
import { readFileSync } from "node:fs";
const source = readFileSync(process.argv[2], "utf8");
const sockets = [];
class FakeWebSocket extends EventTarget {
  static OPEN = 1;
  constructor(url) {
    super(); this.url = url; this.readyState = 0; this.sent = []; sockets.push(this);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close() { this.readyState = 3; }
}
globalThis.WebSocket = FakeWebSocket;
globalThis.window = globalThis;
globalThis.location = { href: "http://parley.test/m/abc-defg-hij" };
const { SignalingConnection } = await import(
  "data:text/javascript;base64," + Buffer.from(source).toString("base64"));
const fire = (socket, type, fields = {}) => {
  const event = new Event(type);
  Object.assign(event, fields);
  socket.dispatchEvent(event);
};
const opened = (socket) => { socket.readyState = 1; fire(socket, "open"); };
const frame = (socket, value) => fire(socket, "message", { data: JSON.stringify(value) });
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

const result = { ended: [] };
const connection = new SignalingConnection("/ws/signaling", "TICKET-xyz");
connection.on("ended", (ended) => result.ended.push(ended));
connection.open();
opened(sockets[0]);
result.first = { url: sockets[0].url, sent: sockets[0].sent };
frame(sockets[0], { type: "welcome", resume_token: "RESUME-1", self: {}, peers: [], room: {} });
fire(sockets[0], "close", { code: 1006, reason: "" });
await sleep(400);
opened(sockets[1]);
result.resumed = { url: sockets[1].url, sent: sockets[1].sent };
frame(sockets[1], { type: "welcome", resume_token: "RESUME-1", self: {}, peers: [], room: {} });
fire(sockets[1], "close", { code: 4401, reason: "account disabled" });
connection.close();
console.log(JSON.stringify(result));
"""


def run_client() -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/bootstrap.sh --test installs it)")
    done = subprocess.run(
        [node, "--input-type=module", "-", str(PROTOCOL)],
        input=HARNESS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_ticket_goes_in_the_first_frame_not_in_the_url() -> None:
    first = run_client()["first"]
    assert first["url"] == "ws://parley.test/ws/signaling"
    assert "token" not in first["url"]
    assert first["sent"] == [{"type": "auth", "token": "TICKET-xyz"}]


def test_a_dropped_connection_resumes_with_its_resume_token_not_the_ticket() -> None:
    resumed = run_client()["resumed"]
    assert resumed["url"] == "ws://parley.test/ws/signaling"
    assert resumed["sent"] == [{"type": "resume", "resume_token": "RESUME-1"}]


def test_a_disabled_account_ends_the_connection_with_its_own_reason() -> None:
    assert run_client()["ended"] == [{"code": 4401, "reason": "account-gone"}]
