"""Configuration read from environment variables.

Every knob has a safe local default so that `make demo` works on a fresh machine with nothing
configured; production overrides them through `EVERREACH_*` variables (and the few unprefixed
names the original TypeScript deployment used, such as `POSTHOG_API_KEY`, so existing
deployments keep their environment files).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Longer than the idle timeout of the proxies an API sits behind (AWS ALB 60 s, nginx's upstream
# keepalive 60 s): a server that closes an idle connection first races the proxy's next request on
# it, and that request fails with a 502 or a dropped connection. It is nginx's own default.
HTTP_KEEP_ALIVE_S = 75.0


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
    privacy_secret: str | None = Field(
        default=None,
        description="HMAC key of suppressed identifiers; generated and kept under home when unset.",
    )
    pseudonym_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key of the pseudonyms of PII ids; generated under home when unset.",
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
    db_pool_timeout_s: float = Field(
        default=2.0,
        description="Longest wait for a connection; past it the API sheds load with a 503.",
    )
    store_concurrency: int = Field(
        default=2,
        ge=1,
        description="Collector store statements in flight per API process; the requests that "
        "arrive meanwhile share the next one (group commit, everreach.collector.group_commit).",
    )
    http_keep_alive_s: float = Field(
        default=HTTP_KEEP_ALIVE_S,
        gt=0,
        description="How long the API keeps an idle HTTP connection open for the next request.",
    )
    log_format: str = Field(default="auto", description="json | console | auto (tty → console)")
    log_level: str = "INFO"

    # Accounts and password reset. Reset links start with `app_url`, never with the request's Host.
    app_url: str = Field(default="http://127.0.0.1:8000", description="Public base URL of the app.")
    access_token_ttl_s: int = 900
    credentials_cache_s: float = Field(
        default=5.0, description="How long a process trusts its cached password_changed_at/role."
    )
    reset_token_ttl_s: int = 1800
    # Log-in throttling (everreach.accounts.users): attempts per account from one client, per
    # client across accounts, and per account from everywhere; short windows, so a lockout ends
    # soon (Retry-After says when).
    login_limit_per_pair: int = Field(default=10, ge=1, description="Per account and client IP.")
    login_limit_per_ip: int = Field(default=30, ge=1, description="Per client IP, all accounts.")
    login_limit_window_s: int = Field(default=60, ge=1)
    login_limit_per_account: int = Field(default=50, ge=1, description="Per account, all IPs.")
    login_limit_account_window_s: int = Field(default=900, ge=1)
    password_hash_concurrency: int = Field(
        default=1,
        ge=1,
        description="Argon2 hashes computed at once per process; the rest wait their turn.",
    )
    reset_limit_per_email: int = 5
    reset_limit_per_ip: int = 30
    reset_limit_window_s: int = 900
    mail_backend: Literal["auto", "file", "smtp", "resend"] = Field(
        default="auto", description="auto: resend with an API key, else smtp with a host, else file"
    )
    from_email: str = Field(
        default="EverReach <noreply@everreach.app>",
        validation_alias=AliasChoices("EVERREACH_FROM_EMAIL", "FROM_EMAIL"),
    )
    resend_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("EVERREACH_RESEND_API_KEY", "RESEND_API_KEY")
    )
    resend_api_base_url: str = Field(
        default="https://api.resend.com",
        validation_alias=AliasChoices("EVERREACH_RESEND_API_BASE_URL", "RESEND_API_BASE_URL"),
    )
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"

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
    # Erasure requests reach PostHog through its persons API, which takes a personal API key
    # (phx_...) and the project id; the project key above can only capture.
    posthog_personal_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "EVERREACH_POSTHOG_PERSONAL_API_KEY", "POSTHOG_PERSONAL_API_KEY"
        ),
    )
    posthog_project_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("EVERREACH_POSTHOG_PROJECT_ID", "POSTHOG_PROJECT_ID"),
    )
    posthog_api_host: str = Field(
        default="https://us.posthog.com",
        description="PostHog's app host (the persons API), not the ingestion host.",
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

    # Datasets (everreach/datasets/, everreach_dagster/): where partitions and exports go.
    datasets_root: str | None = Field(
        default=None,
        description="Local folder or s3://bucket/prefix; unset means <home>/datasets.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="Any S3-compatible endpoint (MinIO, moto); unset means AWS."
    )
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    export_url_ttl_s: int = Field(default=3600, ge=60, description="Presigned export URL life.")
    partitions_start: str = Field(
        default="2025-01-01",
        description="First day of the daily dataset partitions (UTC); unset, the everreach "
        "commands start them at the first day with data (2025-01-01 on an empty database).",
    )
    alert_webhook_url: str | None = Field(
        default=None,
        description="Slack-compatible incoming webhook (JSON {text}) for alerts and failed runs.",
    )
    alert_email: str | None = Field(
        default=None, description="Where alerts and failed runs are mailed (the mail backend)."
    )
    retention_events_days: int = Field(default=90, ge=1)
    event_partitions_ahead_days: int = Field(
        default=14, ge=14, description="Day partitions of app_events kept ready ahead of today."
    )
    retention_responses_days: int = Field(default=180, ge=1)
    dagster_run_retention_days: int = Field(default=30, ge=1)
    dagster_database: str = Field(
        default="dagster", description="Database beside the app's holding Dagster's instance."
    )

    # Scale-out (everreach_dagster/execution.py): where Dagster runs and steps execute.
    execution: Literal["local", "celery"] = Field(
        default="local",
        description="local: runs on the daemon's host; celery: runs and steps on Celery workers.",
    )
    celery_broker_url: str | None = Field(
        default=None, description="Celery broker (redis://host:6379/0); needed in celery mode."
    )
    celery_backend_url: str | None = Field(
        default=None, description="Celery result backend; unset means the broker's URL."
    )
    celery_visibility_timeout_s: int = Field(
        default=3600,
        ge=60,
        description="A task a dead worker held is handed to another after this (acks late).",
    )
    backfill_days_per_run: int | None = Field(
        default=None,
        ge=1,
        description="Days per backfill run; unset: one run per range (local), 5 (celery).",
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
    def datasets_uri(self) -> str:
        """The datasets root as configured: `s3://bucket/prefix` or an absolute local folder."""
        if self.datasets_root and self.datasets_root.startswith("s3://"):
            return self.datasets_root.rstrip("/")
        root = Path(self.datasets_root) if self.datasets_root else self.home_dir / "datasets"
        return str(root.expanduser().resolve())

    @property
    def secrets_dir(self) -> Path:
        path = self.home_dir / "secrets"
        path.mkdir(mode=0o700, exist_ok=True)
        return path
