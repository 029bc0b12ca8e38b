"""Health, readiness, OpenAPI and metrics endpoints."""

from __future__ import annotations

from tests.helpers import event, metric_value, new_id


def test_health_and_readiness(api):
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


def test_openapi_schema_documents_the_collector(api):
    schema = api.get("/schema/openapi.json").json()
    assert "/v1/ingest" in schema["paths"]
    assert "post" in schema["paths"]["/v1/ingest"]


def test_unknown_route_is_a_problem_document(api):
    response = api.get("/v1/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_metrics_count_ingested_events(api):
    def accepted_total() -> float:
        text = api.get("/metrics").text
        return metric_value(text, "everreach_ingest_events_total", outcome="accepted")

    before = accepted_total()
    api.post("/v1/ingest", json=event("signup_started", {"method": "email"}, anonymous_id=new_id()))
    assert accepted_total() == before + 1
