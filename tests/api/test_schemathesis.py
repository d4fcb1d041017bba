"""Property-based requests generated from our own /openapi.json: no input makes the server fail."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis

from iocfeed.api.app import create_app
from iocfeed.config import Settings
from tests.api.conftest import populate
from tests.conftest import make_key, new_database


@pytest.fixture(scope="module")
def api_app(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("schemathesis")
    database = new_database("sqlite", tmp_path, request)
    tiers = tmp_path / "tiers.toml"
    tiers.write_text("[pro]\nrequests_per_minute = 0\nrequests_per_day = 0\n")
    settings = Settings(home=tmp_path / "home", database_url=database.url, tiers=tiers)
    engine = database.engine()
    populate(engine, settings)
    key, _ = make_key(settings, engine, "pro")
    app = create_app(settings)
    app.state["test_key"] = key
    yield app
    engine.dispose()


@pytest.fixture(scope="module")
def api_schema(api_app):
    return schemathesis.openapi.from_asgi("/openapi.json", api_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis.settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture, hypothesis.HealthCheck.too_slow],
)
def test_no_input_causes_a_server_error(case, api_app):
    for headers in ({"X-API-Key": api_app.state["test_key"]}, {}):
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.path, case.query, response.text[:500])
        if response.status_code >= 400:
            assert response.json()["error"]["code"]
