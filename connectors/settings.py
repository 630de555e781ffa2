"""skuflow's one typed settings object, read from `SKUFLOW_*` environment variables (or `.env`).

Only the places where the program is wired together (the CLI, `create_app`, the flow builder)
build a `Settings`; everything else takes plain arguments. Nothing here connects anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from state.demand.policy import SERVICE_LEVELS


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
    kafka_partitions: int = Field(
        4,
        ge=1,
        le=1024,
        description=(
            "Partitions of the sequenced log and the output topics skuflow creates (a topic "
            "that exists keeps its own): at least the number of `skuflow run` processes that "
            "share the work. Each of a process's sequenced-log partitions has a consumer of its "
            "own, so on a small single-process deployment fewer cost the broker less."
        ),
    )
    kafka_input_partitions: int = Field(
        1,
        ge=1,
        le=1024,
        description=(
            "Partitions of each input stream topic skuflow creates (scans, rfid, receipts, "
            "orders, movements, commands; a topic that exists keeps its own). One sequencer "
            "merges every input partition, so more add no parallelism to skuflow; each is "
            "another partition in every fetch the sequencer makes. Raise it only for producers "
            "or other consumers of these topics that need more."
        ),
    )
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
    cold_after_seconds: float = Field(
        600.0,
        ge=0,
        description=(
            "A SKU no event has touched for this long has its dataflow state held compressed "
            "(about 220 instead of 650+ bytes per SKU-location) until its next event thaws it "
            "(about 60 µs for its fold and replenishment state). inf: never."
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
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description=(
            "`skuflow run` serves Prometheus metrics on this port (all interfaces; a cluster's "
            "process N on port + N): Bytewax's per step and skuflow's worker CPU and writer "
            "backlogs. Unset: none."
        ),
    )
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
    # ---- replenishment (issue #7): the defaults; a master file sets them per SKU ----
    replenishment_file: Path | None = Field(
        None,
        description=(
            "A per-SKU replenishment master (CSV: sku, supplier, class, pack_size, moq, "
            "unit_cost, rule, review_days, service_level, lead_time_days, lead_time_std_days; "
            "see connectors/replenishment_master.py). Unset: every SKU on the defaults below."
        ),
    )
    replenishment_supplier: str = Field(
        "default", min_length=1, description="Supplier of a SKU the master file does not name."
    )
    replenishment_class: str = Field(
        "BY",
        pattern=r"^[ABC][XYZ]$",
        description=(
            "ABC/XYZ class of a SKU neither the master file nor the data classifies "
            "(A/B/C by demand value, X/Y/Z by steadiness: AX ... CZ)."
        ),
    )
    replenishment_service_levels: dict[str, float] = Field(
        default_factory=dict,
        description=(
            'Service level per class, as JSON {"AX": 0.99, ...}, replacing those classes\' '
            "levels in the built-in table (AX 0.98 ... CZ 0.90); each strictly between 0 and 1."
        ),
    )
    replenishment_service_level: float | None = Field(
        None,
        description=(
            "One service level for every SKU instead of its class's (a SKU's own service_level "
            "in the master file still wins); strictly between 0 and 1, e.g. 0.95."
        ),
    )
    replenishment_rule: Literal["order_up_to", "eoq"] = Field(
        "order_up_to",
        description=(
            "How much to order at the reorder point: up to ROP + review_days of demand, or the "
            "economic order quantity (needs unit_cost, order cost and holding rate)."
        ),
    )
    replenishment_allocate_by_cycle: bool = Field(
        False,
        description=(
            "Spread service levels by reorder cycle (EOQ only): a SKU reordered often gets a "
            "higher cycle service level, one reordered rarely a lower one, so safety stock goes "
            "where it fills the most units (see state/demand/policy.py)."
        ),
    )
    replenishment_lead_time_demand: Literal["normal", "lognormal"] = Field(
        "normal",
        description=(
            "The shape of demand over the lead time behind the reorder point: normal (SS = z·σ) "
            "or lognormal (the ROP is its quantile at the service level: lower for lumpy SKUs "
            "at middling levels, higher at high ones; see state/demand/policy.py)."
        ),
    )
    replenishment_review_days: float = Field(
        14.0, gt=0, le=365, description="Days of demand an order-up-to order covers beyond the ROP."
    )
    replenishment_order_cost: float = Field(
        50.0, gt=0, description="Cost of placing one purchase order (EOQ only), in currency."
    )
    replenishment_holding_rate: float = Field(
        0.25, gt=0, le=5, description="Holding cost per year as a share of unit cost (EOQ only)."
    )
    replenishment_lead_time_days: float = Field(
        7.0,
        gt=0,
        le=365,
        description="Lead time (days) assumed for a supplier until its receipts teach it.",
    )
    replenishment_lead_time_std_days: float = Field(
        2.0, ge=0, le=365, description="Standard deviation (days) of that assumed lead time."
    )
    replenishment_lateness_hours: float = Field(
        6.0,
        ge=0,
        le=168,
        description="How long a day's demand stays open for late events before it is learnt.",
    )
    replenishment_min_days: int = Field(
        14,
        ge=1,
        le=3650,
        description="Days of demand a SKU-site must have learnt before it may be proposed.",
    )

    @field_validator("replenishment_service_level")
    @classmethod
    def _one_level(cls, level: float | None) -> float | None:
        if level is not None and not 0 < level < 1:
            msg = (
                f"SKUFLOW_REPLENISHMENT_SERVICE_LEVEL is {level}: set it strictly between 0 and "
                "1 (0.95 means 95%), or leave it unset to use each class's level"
            )
            raise ValueError(msg)
        return level

    @field_validator("replenishment_service_levels")
    @classmethod
    def _levels_per_class(cls, levels: dict[str, float]) -> dict[str, float]:
        for name, level in levels.items():
            if name not in SERVICE_LEVELS:
                msg = (
                    f"SKUFLOW_REPLENISHMENT_SERVICE_LEVELS: {name!r} is not a class; "
                    f"use {', '.join(SERVICE_LEVELS)}"
                )
                raise ValueError(msg)
            if not 0 < level < 1:
                msg = (
                    f"SKUFLOW_REPLENISHMENT_SERVICE_LEVELS: {name}'s level is {level}; set it "
                    "strictly between 0 and 1 (0.95 means 95%)"
                )
                raise ValueError(msg)
        return levels


def export_api_keys(keys_json: str) -> None:
    """Set `SKUFLOW_API_KEYS` for the processes this one starts (`skuflow serve --workers N`
    hands its generated development keys to its workers this way). The settings module is the
    only one that touches the environment."""
    os.environ["SKUFLOW_API_KEYS"] = keys_json
