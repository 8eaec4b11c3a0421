"""``/_mock/scenarios/{name}``: playing a named story (a grace period that expires, a license
taken in time, ...) through the world, answered with the ids and events it produced."""

from __future__ import annotations

from werkzeug.wrappers import Request

from lmif_mock.http.errors import APIError
from lmif_mock.http.resource_json import timestamp_json
from lmif_mock.http.resource_routes import ResourceRoutes
from lmif_mock.http.routes import Handler, Result
from lmif_mock.world.scenarios import SCENARIOS


class ScenarioRoutes(ResourceRoutes):
    """The scenario route, over the world's named scenarios."""

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {"run_scenario": self.run_scenario}

    def run_scenario(self, request: Request, args: dict[str, str]) -> Result:
        scenario = SCENARIOS.get(args["name"])
        if scenario is None:
            raise APIError(
                "NOT_FOUND",
                f"No scenario {args['name']!r}; known: {', '.join(SCENARIOS)}",
                {"known": list(SCENARIOS)},
            )
        store = self.fake.store
        before = store.count_events()  # not every event of the session read twice
        summary = scenario.run(self.world)
        emitted = [
            {"id": event.id, "type": event.type, "createdAt": timestamp_json(event.created_at)}
            for event in store.events_between(before, store.count_events())
        ]
        return 201, {"data": {"scenario": args["name"], **summary, "events": emitted}}
