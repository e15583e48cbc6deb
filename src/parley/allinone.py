"""The all-in-one app: every service's routes in one process on one port (``parley up``).

Routers are included rather than sub-apps mounted, so that each request passes the shared
middleware once and the services share one database pool and one key-value client.
The web client is served from here too.
"""

from __future__ import annotations

from fastapi import FastAPI

from parley.config import Settings
from parley.core.app import create_app
from parley.services import SERVICES
from parley.web import add_web_client


def create_allinone_app(settings: Settings) -> FastAPI:
    """Every service's routers, background tasks, sockets and body limits in one app.

    Its ``/health`` names it ``all-in-one``: "gateway" is nginx in front of the split services."""
    routers = [router for spec in SERVICES.values() for router in spec.routers()]
    background = [task for spec in SERVICES.values() for task in spec.background()]
    sockets = {path: fn for spec in SERVICES.values() for path, fn in spec.sockets().items()}
    limits = [limit for spec in SERVICES.values() for limit in spec.body_limits(settings)]
    app = create_app("all-in-one", settings, routers, background, sockets, limits)
    add_web_client(app)
    return app
