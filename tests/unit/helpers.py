"""Small builders shared by the unit tests."""

from __future__ import annotations

from typing import Any

from model.scenario.parse import parse_scenario
from model.scenario.types import Scenario


def scenario(actors: dict[str, list[dict[str, Any]]], semaphores: dict[str, int],
             queues: list[str] | None = None, name: str = "t", **settings: Any) -> Scenario:
    doc: dict[str, Any] = {
        "format": "hipsem/scenario-1", "name": name, "semaphores": semaphores,
        "queues": queues or ["q0"], "actors": actors,
    }
    if settings:
        doc["settings"] = settings
    return parse_scenario(doc)


def execute(ident: str, queue: str = "q0", wait: dict[str, int] | None = None,
            signal: dict[str, int] | None = None, duration_us: float = 10) -> dict[str, Any]:
    return {"op": "execute", "id": ident, "queue": queue, "wait": wait or {},
            "signal": signal or {}, "duration_us": duration_us}
