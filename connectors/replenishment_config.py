"""The `ReplenishmentConfig` a run binds into the flow: Settings' defaults, then the master file.

`replenishment_for(settings, catalog_name, catalog)` is the one place `skuflow run` and
`skuflow demo` build it. Precedence, per SKU:

- supplier, pack size, MOQ, unit cost, rule, review days, lead-time prior: the master file's cell
  (`SKUFLOW_REPLENISHMENT_FILE`, `connectors.replenishment_master`), else `SKUFLOW_REPLENISHMENT_*`.
- class: the file's, else the one computed from the data (`online-retail` only:
  `connectors.replay.retail_classes`; other catalogs carry no demand history to compute it
  from), else `SKUFLOW_REPLENISHMENT_CLASS`.
- service level: the file's `service_level`, else `SKUFLOW_REPLENISHMENT_SERVICE_LEVEL` (one
  level for all), else the class's level in the table (`state.demand.policy.SERVICE_LEVELS`,
  with `SKUFLOW_REPLENISHMENT_SERVICE_LEVELS` replacing some of its entries).

A file row whose SKU is not in the catalog is a warning, not an error: an ERP's master lists the
whole assortment (discontinued lines, items not yet stocked here), and such a row changes
nothing, so refusing to start over it would stop the stock engine for no gain. The warning names
them, because a misspelt code leaves the real SKU on the defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from connectors.replenishment_master import MasterRow, read_master
from connectors.settings import Settings
from state.catalog import Catalog
from state.demand.policy import SERVICE_LEVELS, PolicySettings
from state.replenishment import ReplenishmentConfig

log = logging.getLogger(__name__)

_POLICY_COLUMNS = ("pack_size", "moq", "unit_cost", "rule", "review_days")


@dataclass(frozen=True)
class Replenishment:
    """The config, and one line saying where it came from (logged at start)."""

    config: ReplenishmentConfig
    source: str


def replenishment_for(
    settings: Settings, catalog_name: str, catalog: Catalog, data_dir: Path | None = None
) -> Replenishment:
    """Read the master file (if any) and, for `online-retail`, the data's classes (from
    `data_dir`, else `settings.data_dir`); a bad file raises `MasterFileError`."""
    path = settings.replenishment_file
    rows = read_master(path) if path is not None else ()
    computed: dict[str, str] = {}
    if catalog_name == "online-retail":
        from connectors.replay.online_retail import data_file
        from connectors.replay.retail_classes import retail_classes

        computed = retail_classes(data_file(data_dir or settings.data_dir), settings.cache_dir)
    unknown = [row.sku for row in rows if row.sku not in catalog.skus]
    if unknown:
        log.warning(
            "replenishment file %s: %d SKU(s) not in the catalog, ignored: %s%s",
            path,
            len(unknown),
            ", ".join(unknown[:5]),
            ", ..." if len(unknown) > 5 else "",
        )
    config = config_from(settings, rows, computed)
    source = _source(path, rows, len(unknown), computed)
    log.info("replenishment settings: %s", source)
    return Replenishment(config, source)


def config_from(
    settings: Settings, rows: Sequence[MasterRow] = (), computed: Mapping[str, str] | None = None
) -> ReplenishmentConfig:
    """The config of these defaults and rows (no I/O); `computed`: classes from the data."""
    default_policy = PolicySettings(
        review_days=settings.replenishment_review_days,
        rule=settings.replenishment_rule,
        allocate_by_cycle=settings.replenishment_allocate_by_cycle,
        lead_time_demand=settings.replenishment_lead_time_demand,
        order_cost=settings.replenishment_order_cost,
        holding_rate=settings.replenishment_holding_rate,
    )
    policies: dict[str, PolicySettings] = {}
    priors: dict[str, tuple[float, float]] = {}
    for row in rows:
        changes: dict[str, Any] = {
            name: getattr(row, name) for name in _POLICY_COLUMNS if getattr(row, name) is not None
        }
        if changes:
            policies[row.sku] = replace(default_policy, **changes)
        if row.lead_time_days is not None or row.lead_time_std_days is not None:
            priors[row.sku] = (
                settings.replenishment_lead_time_days
                if row.lead_time_days is None
                else row.lead_time_days,
                settings.replenishment_lead_time_std_days
                if row.lead_time_std_days is None
                else row.lead_time_std_days,
            )
    one_level = settings.replenishment_service_level
    class_levels = (
        dict.fromkeys(SERVICE_LEVELS, one_level)
        if one_level is not None
        else {**SERVICE_LEVELS, **settings.replenishment_service_levels}
    )
    return ReplenishmentConfig(
        lateness=timedelta(hours=settings.replenishment_lateness_hours),
        min_days=settings.replenishment_min_days,
        lead_time_days=settings.replenishment_lead_time_days,
        lead_time_std_days=settings.replenishment_lead_time_std_days,
        lead_time_priors=priors,
        suppliers={row.sku: row.supplier for row in rows if row.supplier is not None},
        default_supplier=settings.replenishment_supplier,
        classes={
            **(computed or {}),
            **{row.sku: row.abc_xyz for row in rows if row.abc_xyz is not None},
        },
        default_class=settings.replenishment_class,
        class_levels=class_levels,
        service_levels={
            row.sku: row.service_level for row in rows if row.service_level is not None
        },
        policies=policies,
        default_policy=default_policy,
    )


def _source(
    path: Path | None, rows: Sequence[MasterRow], unknown: int, computed: Mapping[str, str]
) -> str:
    if path is None:
        said = "defaults (SKUFLOW_REPLENISHMENT_* ; no SKUFLOW_REPLENISHMENT_FILE)"
    else:
        outside = f", {unknown:,} not in the catalog" if unknown else ""
        said = f"{path} ({len(rows):,} SKU rows{outside}) over SKUFLOW_REPLENISHMENT_* defaults"
    given = sum(row.abc_xyz is not None for row in rows)
    if computed:
        return f"{said}; ABC/XYZ classes computed from the data for {len(computed):,} SKUs, " + (
            f"{given:,} given by the file"
        )
    return f"{said}; ABC/XYZ classes: {given:,} given by the file, the rest the default"
