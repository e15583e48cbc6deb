"""Fixtures of the media-plane tests: one real Janus for the whole session.

Tests that kill, restart or reconfigure Janus start their own with
:func:`tests.support.janus.janus_server` instead of disturbing the shared one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parley.rtc.process import JanusProcess
from tests.support.janus import janus_server, require_janus


@pytest.fixture(scope="session")
def janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusProcess]:
    """The session's Janus: ``janus.url``, ``janus.cfg.api_secret``, ``janus.cfg.admin_key``,
    ICE candidates on 127.0.0.2 (veth ``v0``). Not supervised: kill only your own."""
    require_janus()
    with janus_server(tmp_path_factory.mktemp("janus")) as proc:
        yield proc
