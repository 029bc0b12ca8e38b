"""Configuration read from environment variables.

Every knob has a safe local default so that `make demo` works on a fresh machine with nothing
configured; production overrides them through `EVERREACH_*` variables (and the few unprefixed
names the original TypeScript deployment used, such as `POSTHOG_API_KEY`, so existing
deployments keep their environment files).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All settings of the platform; one instance is built per process and passed down."""

    model_config = SettingsConfigDict(env_prefix="EVERREACH_", extra="ignore", frozen=True)

    home: Path = Field(default=Path(".everreach"), description="Where local data lives.")
    database_url: str | None = Field(
        default=None, description="External Postgres; unset means the embedded server."
    )
    redis_url: str | None = Field(default=None, description="Shared rate-limit store.")
    jwt_secret: str | None = Field(
        default=None, description="HS256 key; generated and kept under home when unset."
    )
    tracking_plan: Path | None = None

    # Collector limits. Defaults follow the issue: 1000 events / 1 MB decoded per request.
    max_batch_events: int = 1000
    max_body_bytes: int = 1_000_000
    max_text_chars: int = 5000
    rate_limit_events: int = 600
    rate_limit_window_s: int = 60
    clock_skew_threshold_s: float = 300.0
    # SDK-compatible endpoints (PostHog capture, Segment HTTP API): comma-separated keys they
    # accept. Empty (the default) refuses every SDK request with 401 until keys are configured.
    posthog_project_keys: str = Field(default="", description="PostHog project API keys (phc_...)")
    segment_write_keys: str = Field(default="", description="Segment source write keys")
    segment_max_event_bytes: int = 32 * 1024  # Segment's documented limits
    segment_max_batch_bytes: int = 500 * 1024

    db_pool_min: int = 1
    db_pool_max: int = 10
    log_format: str = Field(default="auto", description="json | console | auto (tty → console)")
    log_level: str = "INFO"

    posthog_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("EVERREACH_POSTHOG_API_KEY", "POSTHOG_API_KEY")
    )
    mi_webhook_url: str | None = Field(
        default=None, validation_alias=AliasChoices("EVERREACH_MI_WEBHOOK_URL", "MI_WEBHOOK_URL")
    )
    posthog_host: str = Field(
        default="https://us.i.posthog.com",
        validation_alias=AliasChoices("EVERREACH_POSTHOG_HOST", "POSTHOG_HOST"),
    )
    mi_webhook_secret: str | None = Field(
        default=None,
        validation_alias=AliasChoices("EVERREACH_MI_WEBHOOK_SECRET", "MI_WEBHOOK_SECRET"),
    )

    # Forwarding (everreach/forwarding): the outbox worker's pace and patience.
    forwarder_in_process: bool = Field(
        default=True, description="`everreach serve` runs a forwarder worker inside the API."
    )
    forward_batch_size: int = Field(default=100, ge=1, le=1000)
    forward_timeout_s: float = Field(default=10.0, gt=0, description="Per HTTP request.")
    forward_lease_s: float = Field(
        default=60.0, gt=0, description="How long a claim lasts; longer than the timeout."
    )
    forward_backoff_min_s: float = Field(default=10.0, ge=0)
    forward_backoff_max_s: float = Field(default=300.0, ge=0)
    forward_retry_window_s: float = Field(default=4 * 3600.0, ge=0)
    forward_poll_interval_s: float = Field(default=1.0, gt=0)
    forward_housekeeping_interval_s: float = Field(default=15.0, gt=0)
    forward_retention_s: float = Field(
        default=7 * 86400.0, ge=0, description="Delivered rows are deleted after this."
    )

    @cached_property
    def home_dir(self) -> Path:
        """The absolute data folder, created on first use."""
        path = self.home.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def pgdata_dir(self) -> Path:
        return self.home_dir / "pgdata"

    @property
    def secrets_dir(self) -> Path:
        path = self.home_dir / "secrets"
        path.mkdir(mode=0o700, exist_ok=True)
        return path
