"""The catalog: locations, SKUs with units of measure, kits, channels; and bucket arithmetic."""

from __future__ import annotations

import pytest
from stock_factories import CLOCK_GTIN

from state.buckets import Quantities
from state.catalog import Catalog, Channel, KitComponent, Location, Sku
from state.rejections import Rejection, RejectionCode
from state.units import UnitsOfMeasure


def test_a_location_path_names_site_zone_aisle_rack_shelf_and_bin() -> None:
    location = Location.parse("LON/A/01/03/2/B")

    assert (location.site, location.zone, location.bin) == ("LON", "A", "B")
    assert location.zone_path == "LON/A"
    assert str(location) == location.path == "LON/A/01/03/2/B"


@pytest.mark.parametrize(
    "path", ["LON/A/01/03/2", "LON/A/01/03/2/B/C", "LON//01/03/2/B", " LON/A/1/1/1/1"]
)
def test_a_malformed_location_path_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="six non-empty parts"):
        Location.parse(path)


def test_a_quantity_in_cases_is_converted_to_eaches() -> None:
    units = UnitsOfMeasure("each", {"case": 12, "pallet": 480})

    assert units.to_base(2, "case") == 24
    assert units.to_base(1, "pallet") == 480
    assert units.to_base(5, "each") == 5


def test_a_unit_without_a_conversion_is_a_rejection() -> None:
    with pytest.raises(Rejection) as refused:
        UnitsOfMeasure("each", {"case": 12}).to_base(1, "crate")

    assert refused.value.code == RejectionCode.UNKNOWN_UNIT


@pytest.mark.parametrize("factors", [{"case": 0}, {"each": 2}])
def test_unit_factors_must_be_whole_numbers_of_the_base_unit(factors: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must"):
        UnitsOfMeasure("each", factors)


@pytest.mark.parametrize(
    ("sku", "message"),
    [
        (lambda: Sku("A", tracks_expiry=True), "needs lot tracking"),
        (lambda: Sku("A", gtins={"123": "each"}), "14 digits"),
        (lambda: Sku("A", gtins={CLOCK_GTIN: "crate"}), "no conversion"),
        (lambda: Sku("A", components=(KitComponent("B", 0),)), "quantity ≥ 1"),
        (lambda: Sku("A", safety_stock={"LON": -1}), "cannot be negative"),
    ],
)
def test_an_inconsistent_sku_is_refused(sku: object, message: str) -> None:
    with pytest.raises((ValueError, Rejection), match=message):
        sku()  # type: ignore[operator]


def test_a_kit_of_unknown_or_kit_components_is_refused() -> None:
    with pytest.raises(ValueError, match="not a stocked SKU"):
        Catalog.build(skus=[Sku("KIT", components=(KitComponent("GHOST", 1),))])


def test_a_gtin_cannot_name_two_skus() -> None:
    with pytest.raises(ValueError, match="belongs to both"):
        Catalog.build(
            skus=[Sku("A", gtins={CLOCK_GTIN: "each"}), Sku("B", gtins={CLOCK_GTIN: "each"})]
        )


def test_a_short_gtin_is_looked_up_as_a_gtin_14() -> None:
    catalog = Catalog.build(skus=[Sku("A", gtins={CLOCK_GTIN: "each"})])

    assert catalog.sku_for_gtin(CLOCK_GTIN[1:])[0].code == "A"


@pytest.mark.parametrize(
    ("lookup", "code"),
    [
        (lambda c: c.sku("NOPE"), RejectionCode.UNKNOWN_SKU),
        (lambda c: c.sku_for_gtin("4006381333931"), RejectionCode.UNKNOWN_GTIN),
        (lambda c: c.location("LON/A/1/1/1/9"), RejectionCode.UNKNOWN_LOCATION),
        (lambda c: c.require_site("NYC"), RejectionCode.UNKNOWN_LOCATION),
        (lambda c: c.require_zone("LON/Z"), RejectionCode.UNKNOWN_LOCATION),
        (lambda c: c.channel("fax"), RejectionCode.UNKNOWN_CHANNEL),
    ],
)
def test_an_unknown_name_is_a_rejection(
    catalog: Catalog, lookup: object, code: RejectionCode
) -> None:
    with pytest.raises(Rejection) as refused:
        lookup(catalog)  # type: ignore[operator]

    assert refused.value.code == code


def test_a_skus_buffer_for_a_channel_overrides_the_channels_own(catalog: Catalog) -> None:
    wholesale, web = catalog.channel("wholesale"), catalog.channel("web")

    assert catalog.buffer(catalog.sku("GARDEN-HOSE"), wholesale) == 5
    assert catalog.buffer(catalog.sku("RETRO-CLOCK"), web) == 0


def test_only_known_locations_outside_non_sellable_zones_are_sellable(catalog: Catalog) -> None:
    assert catalog.is_sellable_location("LON/A/01/01/1/A")
    assert not catalog.is_sellable_location("LON/RECV/00/00/0/DOCK")
    assert not catalog.is_sellable_location("NYC/A/01/01/1/A")
    assert catalog.sites == {"LON", "MAN"}


def test_a_channel_defaults_to_backordering() -> None:
    assert Channel("web").shortfall == "backorder"


def test_quantities_add_negate_and_report_negative_buckets() -> None:
    move = Quantities.of(available=-3, on_hold=3)

    assert (Quantities(available=2) + move).negative_buckets() == ("available",)
    assert -move == Quantities(available=3, on_hold=-3)
    assert move.on_hand == 0
    assert bool(move)
    assert not Quantities()
    assert move.as_dict()["on_hold"] == 3
