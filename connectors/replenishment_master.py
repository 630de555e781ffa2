"""Read a buyer's replenishment master: one CSV row per SKU, as an ERP exports it.

    sku,supplier,class,pack_size,moq,unit_cost,rule,review_days,service_level,lead_time_days,lead_time_std_days
    85123A,HEARTS-LTD,AX,12,24,2.55,order_up_to,14,,10,3

Only `sku` is required; every other column may be left out, and any cell left blank means the
default (`SKUFLOW_REPLENISHMENT_*`, see `connectors.replenishment_config`). A `description`
column is allowed and ignored (exports carry one for people); any other column is refused, so a
misspelt `servicelevel` is not silently ignored. `lead_time_days` / `lead_time_std_days` are the
lead time this SKU's supplier quotes for it: the prior the learnt lead time starts from.

Every row is validated by `MasterRow`; the first bad one stops the read with a
`MasterFileError` naming the file, the line (as an editor numbers it: the header is line 1) and
the field. A SKU listed twice is an error too (which row would win is not obvious).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

REQUIRED = ("sku",)
IGNORED = ("description",)


class MasterRow(BaseModel):
    """One SKU's replenishment settings; None is "the default"."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    sku: str = Field(min_length=1, max_length=128)
    supplier: str | None = Field(None, max_length=128)
    abc_xyz: Annotated[str | None, Field(validation_alias="class", pattern=r"^[ABC][XYZ]$")] = None
    pack_size: int | None = Field(None, ge=1)
    moq: int | None = Field(None, ge=0)
    unit_cost: float | None = Field(None, gt=0)
    rule: Literal["order_up_to", "eoq"] | None = None
    review_days: float | None = Field(None, gt=0, le=365)
    service_level: float | None = None  # strictly between 0 and 1 (see below)
    lead_time_days: float | None = Field(None, gt=0, le=365)
    lead_time_std_days: float | None = Field(None, ge=0, le=365)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        """Cells are trimmed; a blank one is None (the default), but for the SKU; a class or
        a rule may be written in any case (and the rule with hyphens or spaces)."""
        if not isinstance(value, str):
            return value
        value = value.strip()
        if info.field_name == "abc_xyz":
            value = value.upper()
        elif info.field_name == "rule":  # "Order-up-to" as well
            value = value.lower().replace("-", "_").replace(" ", "_")
        return value if value or info.field_name == "sku" else None

    @field_validator("service_level")
    @classmethod
    def _a_share(cls, level: float | None) -> float | None:
        if level is not None and not 0 < level < 1:
            msg = "a service level is strictly between 0 and 1 (0.95 means 95%)"
            raise ValueError(msg)
        return level

    @model_validator(mode="after")
    def _eoq_needs_a_cost(self) -> MasterRow:
        if self.rule == "eoq" and self.unit_cost is None:
            msg = "rule eoq needs a unit_cost (EOQ weighs the cost of ordering against holding)"
            raise ValueError(msg)
        return self


class MasterFileError(ValueError):
    """The master file cannot be used as it is; the message says where and what to fix."""


# sku, supplier, class, pack_size, ...: the model's fields, by the names the file uses
COLUMNS = tuple(
    field.validation_alias if isinstance(field.validation_alias, str) else name
    for name, field in MasterRow.model_fields.items()
)


def read_master(path: Path) -> tuple[MasterRow, ...]:
    """Every row of the file, validated; `MasterFileError` at the first problem."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: Excel's BOM
            return _rows(path, csv.DictReader(handle))
    except OSError as exc:
        msg = f"replenishment file {path}: cannot read it ({exc}); check SKUFLOW_REPLENISHMENT_FILE"
        raise MasterFileError(msg) from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        msg = f"replenishment file {path}: not a UTF-8 CSV file ({exc})"
        raise MasterFileError(msg) from exc


def _rows(path: Path, reader: csv.DictReader[str]) -> tuple[MasterRow, ...]:
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    _check_header(path, header)
    reader.fieldnames = header
    rows: list[MasterRow] = []
    first_line: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if None in record:
            msg = f"replenishment file {path}, line {line}: more cells than the header's columns"
            raise MasterFileError(msg)
        if not any((value or "").strip() for value in record.values()):
            continue  # a blank line at the end of an export
        cells = {name: value for name, value in record.items() if name not in IGNORED}
        try:
            row = MasterRow.model_validate(cells)
        except ValidationError as exc:
            raise MasterFileError(_describe(path, line, exc)) from None
        if row.sku in first_line:
            msg = (
                f"replenishment file {path}, line {line}: SKU {row.sku!r} is already on line "
                f"{first_line[row.sku]}; keep one row per SKU"
            )
            raise MasterFileError(msg)
        first_line[row.sku] = line
        rows.append(row)
    return tuple(rows)


def _check_header(path: Path, header: list[str]) -> None:
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        msg = (
            f"replenishment file {path}: the required column {', '.join(missing)} is missing "
            f"(header: {','.join(header) or 'none'}); the first line names the columns, "
            f"among {','.join(COLUMNS)}"
        )
        raise MasterFileError(msg)
    unknown = [name for name in header if name not in COLUMNS and name not in IGNORED]
    if unknown:
        msg = (
            f"replenishment file {path}: unknown column {', '.join(map(repr, unknown))}; "
            f"the columns are {','.join(COLUMNS)} (and description, ignored)"
        )
        raise MasterFileError(msg)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        msg = f"replenishment file {path}: column {', '.join(repeated)} appears more than once"
        raise MasterFileError(msg)


def _describe(path: Path, line: int, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        said = item["msg"].removeprefix("Value error, ")  # our own validators' messages
        where = ".".join(map(str, item["loc"]))
        problems.append(f"field {where}: {said} (got {item['input']!r})" if where else said)
    return f"replenishment file {path}, line {line}: {'; '.join(problems)}"
