"""Every problem type the API can answer has plain words in the web client, or a reason not to.

The types are read from the source, not from a hand-kept list: every ``type="..."`` given to
``ProblemError`` (or to a helper that takes a ``type``, like media's tus problems), the default
type of each status a ``ProblemError`` is raised with without one, and the defaults the
framework's own errors get (an unknown route's 404, a 405, a 422). A new problem type therefore
fails this test until ``api.js``'s ``PLAIN_WORDS`` gets words for it, or :data:`SERVER_WORDS`
says why the server's ``detail`` is what a person should read.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from parley.core.errors import _DEFAULT_TYPES

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "parley"
API_JS = SRC / "web" / "static" / "js" / "api.js"
MAKERS = {"ProblemError", "problem_response", "problem_body"}

SERVER_WORDS = {
    # What a person types or picks, told back by the server more precisely than a fixed phrase.
    "validation": "the client shows each field's own message (`errors`)",
    "malformed-json": "the client always sends JSON; a bug, best reported as the server says",
    "bad-request": "framework default; the detail says what was wrong",
    "weak-password": "the detail says what the password lacks",
    "time-out-of-range": "the detail names the dates allowed",
    "start-in-the-past": "the server's words are plain already (shown next to the time field)",
    "rejoin-refused": "rejoin.js words it itself (the join page: join again)",
    "sfu-unavailable": "the internal rtc API, and the connection check, which tells it by type",
    "not-recordable": "the internal rtc API: meeting-service reads it and records in the browser",
    "too-large": "the detail names the size limit",
    "file-too-large": "the detail names the size limit",
    "too-many-uploads": "the detail says how many uploads may run at once",
    "unsupported-image": "the detail names the image types accepted",
    "unsupported-media-type": "the detail names the types accepted",
    "account-taken": "the server's words are plain already",
    "email-taken": "the server's words are plain already",
    "last-admin": "the server's words are plain already",
    "user-not-found": "the server's words are plain already",
    "moderator-required": "the server's words are plain already",
    "host-required": "the server's words are plain already",
    "participant-not-found": "the server's words are plain already",
    "not-waiting": "the server's words are plain already",
    "host-immovable": "the server's words are plain already",
    "guest-role": "the server's words are plain already",
    "meeting-not-live": "the server's words are plain already",
    "recording-active": "the server's words are plain already",
    "recording-not-found": "the server's words are plain already",
    "recording-starter-only": "the server's words are plain already",
    "not-recording-starter": "the server's words are plain already",
    "recording-transition": "the detail names both states",
    "media-not-found": "the server's words are plain already",
    "no-breakouts": "the room asks only when told there are rooms; the words are plain already",
    "breakout-room-not-found": "the server's words are plain already",
    "breakouts-active": "the server's words are plain already",
    "breakouts-state": "the detail names the rooms' state and what it cannot do",
    "invalid-breakout": "the detail names the room index or the person that does not exist",
    "breakout-room": "the server's words are plain already",
    "breakout-not-assigned": "the server's words are plain already",
    "breakout-return-refused": "the server's words are plain already",
    "not-in-breakout-room": "the server's words are plain already",
    "help-rate-limited": "the server's words are plain already",
    "not-a-participant": "the server's words are plain already",
    "forbidden": "the detail says who may do it",
    "not-found": "framework default (an unknown path); the client asks only for paths it knows",
    "method-not-allowed": "framework default; the client uses only the methods routes declare",
    "conflict": "framework default; the detail says what clashed",
    "gone": "framework default; the detail says what is gone",
    "unauthorized": "framework default; the client renews its token on any 401 first",
    "error": "fallback for a status with no type of its own; the detail is all there is",
    # Reached through <img>/<video> elements or the tus uploader, whose failures never pass
    # through api.js's ApiError wording (tus.js reports its own).
    "avatar-not-found": "an <img> request; a missing avatar is simply not shown",
    "thumbnail-unavailable": "an <img> request; the list shows no picture",
    "bad-link": "a content link (<video src>); the page asks for a new link",
    "range-not-satisfiable": "a <video> byte-range request; the browser retries",
    "content-missing": "a <video> request; the recordings page shows the status instead",
    "bad-form": "multipart form uploads are for API clients, not the web client",
    "bad-metadata": "tus protocol: the client always sends valid metadata",
    "tus-checksum": "tus protocol (the client sends no checksums)",
    "tus-checksum-algorithm": "tus protocol (the client sends no checksums)",
    "tus-checksum-mismatch": "tus protocol (the client sends no checksums)",
    "tus-content-type": "tus protocol: the client always sends the right content type",
    "tus-header": "tus protocol: the client always sends the headers",
    "tus-metadata": "tus protocol: the client always sends valid metadata",
    "tus-version": "tus protocol: the client speaks the version the server speaks",
    "upload-expired": "tus protocol: a recording upload runs while the meeting does",
    "upload-length-exceeded": "tus protocol: the client declares the length once at the end",
    "upload-length-fixed": "tus protocol: the client declares the length once at the end",
    "upload-locked": "tus protocol: one recorder per upload",
    "upload-not-found": "tus protocol: the recorder reports a lost upload itself",
    "upload-offset-mismatch": "tus protocol: the recorder resumes from the server's offset",
    # ai-service's API: called by programs and by media-service, not by the web client (it
    # reads finished results only).
    "audio-too-long": "ai-service API, not called by the web client",
    "callback-refused": "ai-service API, not called by the web client",
    "empty-audio": "ai-service API, not called by the web client",
    "engine-busy": "ai-service API, not called by the web client",
    "engine-unavailable": "ai-service API, not called by the web client",
    "invalid-audio": "ai-service API, not called by the web client",
    "invalid-base64": "ai-service API, not called by the web client",
    "job-not-found": "ai-service API, not called by the web client",
    "media-unreachable": "ai-service API, not called by the web client",
    "media-unreadable": "ai-service API, not called by the web client",
    "media-url-refused": "ai-service API, not called by the web client",
    "text-too-long": "ai-service API, not called by the web client",
    "triton-error": "ai-service API, not called by the web client",
    "unknown-engine": "ai-service API, not called by the web client",
    "unknown-model": "ai-service API, not called by the web client",
    "unknown-voice": "ai-service API, not called by the web client",
    "unsupported-language": "ai-service API, not called by the web client",
}


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _type_parameters(tree: ast.Module) -> dict[str, int | None]:
    """Functions of a module that take a ``type`` (position, or ``None`` if keyword-only):
    helpers such as media's ``_tus(status, detail, type)`` that pass it on."""
    found: dict[str, int | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name != "__init__":
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            if "type" in names:
                found[node.name] = names.index("type")
            elif any(a.arg == "type" for a in node.args.kwonlyargs):
                found[node.name] = None
    return found


def problem_types() -> dict[str, list[str]]:
    """Every problem type the source can answer with → where (``path:line``)."""
    # The framework's own errors (and any status without a default: "error") get these.
    defaults = [*_DEFAULT_TYPES.values(), "error"]
    found: dict[str, list[str]] = {t: ["core/errors.py (status default)"] for t in defaults}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        helpers = _type_parameters(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _callee(node)
            if name not in MAKERS and name not in helpers:
                continue
            value = next((k.value for k in node.keywords if k.arg == "type"), None)
            position = helpers.get(name or "")
            if value is None and position is not None and len(node.args) > position:
                value = node.args[position]
            where = f"{path.relative_to(SRC)}:{node.lineno}"
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.setdefault(value.value, []).append(where)
            elif value is None and name in MAKERS and node.args:
                status = node.args[0]
                if isinstance(status, ast.Constant) and isinstance(status.value, int):
                    default = _DEFAULT_TYPES.get(status.value, "error")
                    found.setdefault(default, []).append(where)
    return found


def plain_words() -> set[str]:
    """The keys of ``PLAIN_WORDS`` in ``api.js``."""
    source = API_JS.read_text()
    table = re.search(r"const PLAIN_WORDS = [^{]*\{(.*?)\n\}\);", source, re.S)
    assert table, "api.js has no PLAIN_WORDS table"
    return set(re.findall(r'^\s*"([a-z0-9-]+)":', table.group(1), re.M))


def test_the_collector_finds_problem_types_where_they_are_declared() -> None:
    types = problem_types()
    # One declared with ProblemError, one through a helper taking ``type``, framework defaults.
    assert "meeting-not-found" in types
    assert "validation" in types and "not-found" in types
    assert len(types) > 40


def test_every_problem_type_has_plain_words_or_a_reason() -> None:
    words = plain_words()
    missing = {
        t: where for t, where in problem_types().items() if t not in words and t not in SERVER_WORDS
    }
    assert not missing, (
        "problem types with neither plain words in api.js's PLAIN_WORDS nor a reason in "
        f"SERVER_WORDS: {missing}"
    )


def test_the_lists_name_no_type_the_api_cannot_answer() -> None:
    """A type that went from the source goes from the lists too (they would mislead)."""
    types = problem_types()
    words = plain_words()
    assert not words - types.keys(), sorted(words - types.keys())
    assert not SERVER_WORDS.keys() - types.keys(), sorted(SERVER_WORDS.keys() - types.keys())
    assert not words & SERVER_WORDS.keys(), sorted(words & SERVER_WORDS.keys())
