"""Steps per worker, as `everreach demo` and `everreach materialize` print them: Celery node
names (`<name>@<host>`) become the `everreach worker --name` they were started with."""

from __future__ import annotations

from everreach_dagster.step_workers import steps_per_worker, worker_name


def test_a_node_name_is_its_workers_name() -> None:
    assert worker_name("w1@vm") == "w1"
    assert worker_name("worker-2@host@domain") == "worker-2"


def test_steps_are_counted_per_worker_across_hosts_and_runs() -> None:
    steps = {
        "run1:ml_response_samples": "w2@host-b",
        "run1:label_metrics": "w1@host-a",
        "run2:ml_response_samples": "w1@host-a",
        "run2:label_metrics": "w1@host-c",
    }
    assert steps_per_worker(steps) == {"w1": 3, "w2": 1}
    assert list(steps_per_worker(steps)) == ["w1", "w2"]
    assert steps_per_worker({}) == {}
