"""The Celery app a worker runs (`celery --app everreach_dagster.celery_app worker`).

dagster-celery's three tasks (a step, a run, a resumed run) on the broker and result backend of
`EVERREACH_CELERY_*`, with the late acknowledgement and one-at-a-time prefetch of
`everreach_dagster.execution.celery_config`. `everreach worker` starts it; nothing else imports
this module, since building the app reads the settings.

A run's task waits for the results of its steps' tasks, which Celery refuses inside a task
unless told (it would deadlock a pool whose every slot waits): the run tasks are allowed to,
and take their slots from a worker of their own (the `-runs` node) so steps always find one.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.result import allow_join_result
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from everreach.platform import Settings
from everreach_dagster.execution import STEP_QUEUE, backend_url, celery_config

_settings = Settings()
app = make_app(
    {
        "broker": _settings.celery_broker_url,
        "backend": backend_url(_settings),
        "include": [],
        "config_source": celery_config(_settings),
        "task_default_queue": STEP_QUEUE,
    }
)


class RunTask(Task):
    """A task that runs a whole Dagster run, waiting on its steps' tasks."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with allow_join_result():
            return super().__call__(*args, **kwargs)


execute_plan = create_task(app)
execute_job = create_execute_job_task(app, base=RunTask)
resume_job = create_resume_job_task(app, base=RunTask)
