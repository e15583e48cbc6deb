"""Steps the AI tests share outside their own folder's fixtures: waiting for a batch job."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.api import Api

AI = "/api/v1/ai"
WAIT_S = 120.0  # a worker process may take a while to start on a loaded machine


async def finished(api: Api, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """Poll the job until it leaves the queue (bounded)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            response = await api.http.get(f"{AI}/batch/{job_id}", headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] not in ("queued", "running"):
                return body
            await asyncio.sleep(0.1)
