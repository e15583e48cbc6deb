"""Small request dependencies every service uses."""

from __future__ import annotations

from fastapi import Request

from parley.config import Settings


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def client_ip(request: Request) -> str:
    """The caller's address (behind the gateway, uvicorn takes it from X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"
