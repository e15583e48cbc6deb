"""axe-core (the npm package, dev only) run inside a page: the accessibility violations it
finds, in words a failing test can show.

The script is added to the person's browser context as an init script, so it is in every page
they open and the page's Content-Security-Policy (``script-src 'self'``) does not apply to it;
nothing of it is served by Parley."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

from tests.support.browser import Person

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
RUN = """async () => {
  const result = await window.axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) =>
      n.target.join(" ") + " :: " + (n.failureSummary || "").replace(/\\s+/g, " ")),
  }));
}"""


async def with_axe(person: Person) -> Person:
    """Let this person's pages be checked (call before they open the pages)."""
    assert AXE.exists(), "axe-core is missing: run scripts/bootstrap.sh --test (npm ci)"
    await person.context.add_init_script(path=str(AXE))
    return person


async def violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds wrong with the page as it is now."""
    found: list[dict[str, Any]] = await page.evaluate(RUN)
    return found


def described(found: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in found
    )
