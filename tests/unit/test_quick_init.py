"""`quick_init` builds the same frozen values as the dataclass's own `__init__`, only faster."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from dataclasses import FrozenInstanceError, dataclass, field, fields

import pytest

import state
from state.values import quick_init


@dataclass(frozen=True, slots=True)
class PlainBin:
    location: str
    units: int = 0
    lots: dict[str, int] = field(default_factory=dict)


@quick_init
@dataclass(frozen=True, slots=True)
class QuickBin:
    location: str
    units: int = 0
    lots: dict[str, int] = field(default_factory=dict)


def test_a_quick_value_takes_the_same_arguments_and_defaults_as_the_dataclass_one() -> None:
    assert repr(QuickBin("LON/A/01")) == repr(PlainBin("LON/A/01")).replace("Plain", "Quick")
    assert QuickBin("LON/A/01", 3, {"L1": 3}) == QuickBin(
        location="LON/A/01", units=3, lots={"L1": 3}
    )
    assert QuickBin("LON/A/01").lots == {}
    assert QuickBin("LON/A/01").lots is not QuickBin("LON/A/01").lots  # a fresh one each time
    quick = inspect.signature(QuickBin).parameters
    plain = inspect.signature(PlainBin).parameters
    assert [(p.name, p.kind) for p in quick.values()] == [(p.name, p.kind) for p in plain.values()]
    assert quick["units"].default == 0


def test_a_quick_value_stays_frozen_and_pickles_as_before() -> None:
    crate = QuickBin("MAN/B/02", 5)
    with pytest.raises(FrozenInstanceError):
        crate.units = 6  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(crate)) == crate
    with pytest.raises(TypeError, match="missing"):
        QuickBin()  # type: ignore[call-arg]


def test_every_quick_value_in_the_core_takes_its_fields_in_order() -> None:
    quick = set()
    for module in pkgutil.walk_packages(state.__path__, "state."):
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, type) and is_quick(value):
                quick.add(value)
    assert len(quick) >= 20
    for kind in quick:
        names = list(inspect.signature(kind).parameters)
        assert names == [f.name for f in fields(kind)], kind


def is_quick(kind: type) -> bool:
    return getattr(kind.__init__, "__module__", None) == "state.values"


@dataclass(slots=True)
class Mutable:
    units: int


@dataclass(frozen=True)
class Unslotted:
    units: int


@dataclass(frozen=True, slots=True)
class Checked:
    units: int

    def __post_init__(self) -> None:
        assert self.units >= 0


@dataclass(frozen=True, slots=True)
class KeywordOnly:
    units: int = field(kw_only=True)


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        (Mutable, "frozen dataclasses"),
        (str, "frozen dataclasses"),
        (Unslotted, "slots=True"),
        (Checked, "__post_init__"),
        (KeywordOnly, "kw_only"),
    ],
)
def test_quick_init_refuses_what_it_cannot_reproduce_exactly(kind: type, says: str) -> None:
    with pytest.raises(TypeError, match=says):
        quick_init(kind)
