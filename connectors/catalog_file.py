"""Load the catalog (SKUs, locations, channels) a production run binds into the flow.

`SKUFLOW_CATALOG` names it: `simulation` (the demo's simulated operation), `online-retail` (the
SKUs and synthesised sites of the Online Retail replay, read from `SKUFLOW_DATA_DIR`, and cached as
a catalog file under `SKUFLOW_CACHE_DIR` by `connectors.catalog_cache`), or a path to a JSON file
validated by `CatalogFile` (its JSON Schema: `CatalogFile.model_json_schema()`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from state.catalog import Catalog, Channel, KitComponent, ShortfallPolicy, Sku
from state.units import UnitsOfMeasure


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitsFile(_Strict):
    base: str = "each"
    factors: dict[str, int] = Field(default_factory=dict)


class ComponentFile(_Strict):
    sku: str
    quantity: int = Field(ge=1)


class SkuFile(_Strict):
    code: str = Field(min_length=1, max_length=128)
    units: UnitsFile = Field(default_factory=UnitsFile)
    gtins: dict[str, str] = Field(default_factory=dict)
    tracks_lot: bool = False
    tracks_serial: bool = False
    tracks_expiry: bool = False
    min_shelf_life_days: int = Field(0, ge=0)
    safety_stock: dict[str, int] = Field(default_factory=dict)
    channel_buffers: dict[str, int] = Field(default_factory=dict)
    components: list[ComponentFile] = Field(default_factory=list)


class ChannelFile(_Strict):
    code: str
    priority: int = Field(1, ge=1)
    buffer: int = Field(0, ge=0)
    shortfall: ShortfallPolicy = "backorder"


class CatalogFile(_Strict):
    skus: list[SkuFile]
    locations: list[str] = Field(description="bin paths SITE/ZONE/AISLE/RACK/SHELF/BIN")
    channels: list[ChannelFile]
    non_sellable_zones: list[str] = Field(default_factory=list, description="SITE/ZONE")

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> CatalogFile:
        """The document `to_catalog` reads back into an equal catalog (SKUs in catalog order)."""
        return cls(
            skus=[
                SkuFile(
                    code=sku.code,
                    units=UnitsFile(base=sku.units.base, factors=dict(sku.units.factors)),
                    gtins=dict(sku.gtins),
                    tracks_lot=sku.tracks_lot,
                    tracks_serial=sku.tracks_serial,
                    tracks_expiry=sku.tracks_expiry,
                    min_shelf_life_days=sku.min_shelf_life_days,
                    safety_stock=dict(sku.safety_stock),
                    channel_buffers=dict(sku.channel_buffers),
                    components=[
                        ComponentFile(sku=c.sku, quantity=c.quantity) for c in sku.components
                    ],
                )
                for sku in catalog.skus.values()
            ],
            locations=list(catalog.locations),
            channels=[
                ChannelFile(
                    code=c.code, priority=c.priority, buffer=c.buffer, shortfall=c.shortfall
                )
                for c in catalog.channels.values()
            ],
            non_sellable_zones=sorted(catalog.non_sellable_zones),
        )

    def to_catalog(self, skus: list[Sku] | None = None) -> Catalog:
        """The catalog this document describes; `skus` built already stand for `self.skus`."""
        return Catalog.build(
            skus=[_sku(s) for s in self.skus] if skus is None else skus,
            locations=self.locations,
            channels=[Channel(c.code, c.priority, c.buffer, c.shortfall) for c in self.channels],
            non_sellable_zones=self.non_sellable_zones,
        )


# A SKU given by its code alone, or with every other field at its default (as `from_catalog`
# writes it): most SKUs of a large catalog. `parse_catalog` builds these without a model each.
PLAIN_SKU: dict[str, Any] = SkuFile(code="-").model_dump(exclude={"code"})
PLAIN_UNITS = UnitsOfMeasure()
MAX_CODE = 128  # SkuFile.code's max_length


def _plain_sku_maker() -> Callable[[str], Sku]:
    """`Sku(code=code, units=PLAIN_UNITS)` for a plain SKU, made without `Sku.__init__`: its
    checks (`__post_init__`) can only pass for a SKU with every other field at its default, so
    they run once, on a template, whose values every plain SKU then shares (its mappings are
    empty and typed read-only, `Mapping`). Half the time of `__init__` per SKU: 250,000 of them
    at a million SKU-locations, at every restart (issue 9)."""
    template = Sku(code="-", units=PLAIN_UNITS)
    shared = tuple((f.name, getattr(template, f.name)) for f in fields(Sku) if f.name != "code")
    new, put = object.__new__, object.__setattr__

    def plain_sku(code: str) -> Sku:
        sku = new(Sku)
        put(sku, "code", code)
        for name, value in shared:
            put(sku, name, value)
        return sku

    return plain_sku


_plain_sku = _plain_sku_maker()


def _is_plain(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    code = entry.get("code")
    if not isinstance(code, str) or not 1 <= len(code) <= MAX_CODE:
        return False
    if len(entry) == 1:  # the code alone (a generated catalog's every SKU)
        return True
    return all(name == "code" or _is_default(name, value) for name, value in entry.items())


def _is_default(name: str, value: object) -> bool:
    default = PLAIN_SKU.get(name, ...)  # Ellipsis: no such field, so never a default
    return value == default and type(value) is type(default)  # JSON false == 0: types too


def parse_catalog(raw: bytes) -> Catalog:
    """The catalog a `CatalogFile` document describes, as `CatalogFile.model_validate_json(raw)
    .to_catalog()` builds it, in a fraction of the time for a large catalog (issue 9: at a million
    SKU-locations a model per SKU took seconds of every restart). Plain SKUs (`PLAIN_SKU`) are
    built directly; everything else is validated by the models, and any error is reported by
    validating the whole document, so it names the field as it always did."""
    try:
        document = json.loads(raw)
        entries = document["skus"]
        if not isinstance(entries, list):
            raise TypeError  # the models say what is wrong
        rest = CatalogFile.model_validate({**document, "skus": []})
        skus = [
            _plain_sku(entry["code"]) if _is_plain(entry) else _sku(SkuFile.model_validate(entry))
            for entry in entries
        ]
    except (ValueError, TypeError, KeyError):
        return CatalogFile.model_validate_json(raw).to_catalog()  # raises, saying where
    return rest.to_catalog(skus)


def _sku(s: SkuFile) -> Sku:
    return Sku(
        code=s.code,
        units=UnitsOfMeasure(s.units.base, dict(s.units.factors)),
        gtins=dict(s.gtins),
        tracks_lot=s.tracks_lot,
        tracks_serial=s.tracks_serial,
        tracks_expiry=s.tracks_expiry,
        min_shelf_life_days=s.min_shelf_life_days,
        safety_stock=dict(s.safety_stock),
        channel_buffers=dict(s.channel_buffers),
        components=tuple(KitComponent(c.sku, c.quantity) for c in s.components),
    )


def load_catalog(name: str, data_dir: Path, cache_dir: Path | None = None) -> Catalog:
    """The catalog called `name`; a bad file raises with what is wrong and where.

    With `cache_dir`, the Online Retail catalog is read from the cache the last build left there
    while the data file is unchanged (`connectors.catalog_cache`), not rebuilt from the year.
    """
    if name == "simulation":
        from connectors.simulator import build_catalog

        return build_catalog()
    if name == "online-retail":
        from connectors.catalog_cache import cached_catalog
        from connectors.replay.online_retail import CATALOG_VERSION, data_file
        from connectors.replay.online_retail import build_catalog as retail_catalog

        path = data_file(data_dir)
        if cache_dir is None:
            return retail_catalog(path)
        return cached_catalog(
            path, cache_dir, retail_catalog, name="online-retail", version=CATALOG_VERSION
        )
    path = Path(name)
    if not path.exists():
        msg = (
            f"catalog {name!r} is neither 'simulation', 'online-retail' nor an existing JSON "
            "file; set SKUFLOW_CATALOG"
        )
        raise FileNotFoundError(msg)
    try:
        return parse_catalog(path.read_bytes())
    except ValueError as exc:
        msg = f"catalog file {path} is not valid: {exc}"
        raise ValueError(msg) from exc
