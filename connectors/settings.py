"""skuflow's one typed settings object, read from `SKUFLOW_*` environment variables (or `.env`).

Only the places where the program is wired together (the CLI, `create_app`, the flow builder)
build a `Settings`; everything else takes plain arguments. Nothing here connects anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where skuflow's streams, live view and ledger are, and how it serves them."""

    model_config = SettingsConfigDict(
        env_prefix="SKUFLOW_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    mode: Literal["development", "production"] = Field(
        "development",
        description="production refuses default secrets and embedded stand-ins.",
    )
    kafka_brokers: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated."
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis holding the live view.")
    postgres_dsn: SecretStr = Field(
        SecretStr("postgresql://postgres@127.0.0.1:5432/skuflow"),
        description="PostgreSQL holding the durable ledger (a libpq connection string).",
    )
    kafka_topic_prefix: str = Field("skuflow", description="Prefix of every topic name.")
    redis_prefix: str = Field("skuflow", description="Prefix of every live-view key in Redis.")
    postgres_schema: str = Field("skuflow", description="Schema holding the ledger tables.")
    catalog: str = Field(
        "simulation",
        description="'simulation', 'online-retail', or the path of a catalog JSON file.",
    )
    recovery_dir: Path | None = Field(
        None, description="Bytewax recovery partitions; enables resume after a crash."
    )
    snapshot_seconds: float = Field(
        5.0, gt=0, description="How often the dataflow snapshots its state (epoch length)."
    )
    reorder_window_seconds: float = Field(
        0.0,
        ge=0,
        le=3600,
        description=(
            "Event-time disorder the sequencer repairs: events whose times differ by at most "
            "this many seconds are sequenced in event-time order whatever order they arrive in; "
            "each is held until the streams are that far past it. 0 (default): no holding."
        ),
    )
    api_host: str = Field("127.0.0.1", description="Address the API and dashboard listen on.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port the API and dashboard listen on.")
    data_dir: Path = Field(
        Path("../shared/data"),
        description="Folder holding online_retail.csv.gz and carparts_monthly.csv.gz.",
    )
    services_dir: Path = Field(
        Path(".services"),
        description="Where `skuflow services up` keeps the local servers' state, logs and data.",
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "skuflow",
        description="Downloads kept between runs (the Kafka broker's jars).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # ---- the HTTP API (issue #5) ----
    api_keys: SecretStr | None = Field(
        None,
        description=(
            'API keys as a JSON object {"<key>": "<role>"}; roles: device, channel, buyer, '
            "analyst, admin. Required in production; in development, one random key per role "
            "is generated at start when unset."
        ),
    )
    api_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body the API reads (bytes); 413 above."
    )
    api_max_batch: int = Field(
        1000, ge=1, le=10_000, description="Most events (or SKUs) in one batch request; 422 above."
    )
    api_max_page: int = Field(
        1000, ge=1, le=1000, description="Most ledger rows in one page; 422 above."
    )
    api_order_wait_seconds: float = Field(
        2.0,
        ge=0,
        le=30,
        description="How long POST /v1/orders waits for the dataflow's decision before a 202.",
    )


def export_api_keys(keys_json: str) -> None:
    """Set `SKUFLOW_API_KEYS` for the processes this one starts (`skuflow serve --workers N`
    hands its generated development keys to its workers this way). The settings module is the
    only one that touches the environment."""
    os.environ["SKUFLOW_API_KEYS"] = keys_json
