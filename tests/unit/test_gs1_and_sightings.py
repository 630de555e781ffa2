"""GS1 barcodes and SGTIN-96 EPCs decoded; scans and RFID reads become sightings."""

from __future__ import annotations

from datetime import date

import pytest
from stock_factories import CLOCK_CASE_GTIN, CLOCK_GTIN, LON_A, WATCH_GTIN, meta, of_type, run

from state.catalog import Catalog
from state.events import ItemScanned, RfidObserved, skus_of
from state.gs1 import ScanData, decode_barcode, decode_sgtin96, gs1_date
from state.outputs import Rejected, RepeatedRead, Sighted
from state.rejections import Rejection, RejectionCode

GS = "\x1d"  # what a scanner sends for FNC1


def test_a_gs1_128_scan_gives_gtin_lot_expiry_serial_and_count() -> None:
    barcode = "]C1010950600013435217260131" + f"10LOT42{GS}21SN-0001{GS}3012"

    assert decode_barcode(barcode, reference_year=2025) == ScanData(
        gtin="09506000134352", lot="LOT42", expiry=date(2026, 1, 31), serial="SN-0001", count=12
    )


def test_the_human_readable_form_is_decoded_too() -> None:
    scan = decode_barcode("(01)09506000134352(17)260131(10)LOT42", reference_year=2025)

    assert (scan.gtin, scan.lot, scan.expiry) == ("09506000134352", "LOT42", date(2026, 1, 31))


def test_a_gs1_datamatrix_with_its_symbology_identifier_is_decoded() -> None:
    scan = decode_barcode(f"]d20109506000134352{GS}10ABC", reference_year=2025)

    assert (scan.gtin, scan.lot) == ("09506000134352", "ABC")


def test_a_gs1_digital_link_is_decoded() -> None:
    scan = decode_barcode("https://id.gs1.org/01/09506000134352/10/ABC", reference_year=2025)

    assert (scan.gtin, scan.lot) == ("09506000134352", "ABC")


def test_a_bare_ean_13_is_a_gtin() -> None:
    assert decode_barcode("4006381333931", reference_year=2025).gtin == "04006381333931"


def test_a_pallet_label_gives_the_gtin_of_its_contents_and_their_count() -> None:
    scan = decode_barcode("(00)106141411234567897(02)09506000134352(37)40", reference_year=2025)

    assert (scan.gtin, scan.count) == ("09506000134352", 40)


def test_an_expiry_day_of_00_means_the_end_of_the_month() -> None:
    scan = decode_barcode("(01)09506000134352(17)260200", reference_year=2025)

    assert scan.expiry == date(2026, 2, 28)


def test_the_expiry_century_follows_the_events_year_not_the_clock() -> None:
    assert gs1_date("050101", 2095) == date(2105, 1, 1)
    assert gs1_date("990101", 2025) == date(1999, 1, 1)
    assert gs1_date("260101", 2025) == date(2026, 1, 1)


@pytest.mark.parametrize(
    "barcode",
    [
        "0109506000134353",  # wrong check digit
        "(01)09506000134353",  # wrong check digit, human-readable
        "hello",
        "(99)",  # no data
        "(00)106141411234567897",  # an SSCC alone names no item
        "(01)09506000134352(30)0",  # a count of nothing
        "(01)09506000134352(17)000229(10)X",  # 29 Feb 2200 does not exist (reference 2151)
    ],
)
def test_what_is_not_a_gs1_item_barcode_is_undecodable(barcode: str) -> None:
    with pytest.raises(Rejection) as refused:
        decode_barcode(barcode, reference_year=2151)

    assert refused.value.code == RejectionCode.UNDECODABLE_BARCODE


def sgtin96(gtin: str, serial: int, *, company_digits: int = 7, partition: int = 5) -> str:
    """Encodes an SGTIN-96 (the inverse of decode_sgtin96, for tests)."""
    item_bits = {5: 20, 6: 24}[partition]
    company = int(gtin[1 : 1 + company_digits])
    item = int(gtin[0] + gtin[1 + company_digits : 13])
    bits = (0x30 << 88) | (1 << 85) | (partition << 82)
    bits |= (company << (38 + item_bits)) | (item << 38) | serial
    return f"{bits:024X}"


def test_an_sgtin_96_decodes_to_its_gtin_and_serial() -> None:
    # the example of the GS1 EPC Tag Data Standard: urn:epc:id:sgtin:0614141.812345.6789
    assert decode_sgtin96("3074257BF7194E4000001A85") == ("80614141123458", "6789")
    assert decode_sgtin96(sgtin96(CLOCK_GTIN, 42)) == (CLOCK_GTIN, "42")


@pytest.mark.parametrize(
    "epc",
    [
        "3174257BF7194E4000001A85",  # SSCC-96 header, not SGTIN-96
        "3074257BF7194E40000",  # too short
        "ZZ74257BF7194E4000001A85",  # not hexadecimal
        "301C257BF7194E4000001A85",  # partition 7 does not exist
        "3014FFFFFFFFFFC000001A85",  # company prefix beyond its digits
    ],
)
def test_an_epc_that_is_not_a_valid_sgtin_96_is_undecodable(epc: str) -> None:
    with pytest.raises(Rejection) as refused:
        decode_sgtin96(epc)

    assert refused.value.code == RejectionCode.UNDECODABLE_BARCODE


def scan(barcode: str, location: str = LON_A) -> ItemScanned:
    return ItemScanned(**meta(), barcode=barcode, location=location, device="RF-GUN-7")


def test_a_scan_is_a_sighting_and_moves_no_stock(catalog: Catalog) -> None:
    event = scan(f"(01){CLOCK_GTIN}(10)LOT9")
    assert skus_of(event, catalog) == ("RETRO-CLOCK",)

    stock, outputs = run(catalog, [event])

    [sighted] = of_type(outputs, Sighted)
    assert (sighted.sku, sighted.location, sighted.quantity, sighted.lot) == (
        "RETRO-CLOCK",
        LON_A,
        1,
        "LOT9",
    )
    assert stock.positions == {}


def test_a_case_scan_counts_the_eaches_inside(catalog: Catalog) -> None:
    _, outputs = run(catalog, [scan(f"(01){CLOCK_CASE_GTIN}(30)2")])

    assert of_type(outputs, Sighted)[0].quantity == 24


def test_a_scan_of_an_unknown_gtin_is_keyed_nowhere_and_rejected(catalog: Catalog) -> None:
    event = scan("4006381333931")
    assert skus_of(event, catalog) == ()

    _, outputs = run(catalog, [event])

    assert of_type(outputs, Rejected)[0].code == RejectionCode.UNRESOLVED_SKU


def test_a_scan_at_an_unknown_location_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [scan(CLOCK_GTIN, location="NYC/A/1/1/1/1")])

    assert of_type(outputs, Rejected)[0].code == RejectionCode.UNKNOWN_LOCATION


def test_a_serialised_sku_scanned_without_its_serial_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [scan(WATCH_GTIN)])
    assert of_type(outputs, Rejected)[0].code == RejectionCode.SERIAL_REQUIRED

    _, outputs = run(catalog, [scan(f"(01){WATCH_GTIN}(21)W-1")])
    assert of_type(outputs, Sighted)[0].serial == "W-1"


def test_a_scan_sent_to_another_skus_key_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [scan(WATCH_GTIN)], sku="RETRO-CLOCK")

    assert of_type(outputs, Rejected)[0].code == RejectionCode.UNRESOLVED_SKU


def rfid(epc: str, zone: str = "LON/A") -> RfidObserved:
    return RfidObserved(**meta(), epc=epc, reader="DOCK-DOOR-3", zone=zone)


def test_an_rfid_read_is_a_sighting_in_its_zone(catalog: Catalog) -> None:
    event = rfid(sgtin96(CLOCK_GTIN, 7))
    assert skus_of(event, catalog) == ("RETRO-CLOCK",)

    _, outputs = run(catalog, [event])

    [sighted] = of_type(outputs, Sighted)
    assert (sighted.location, sighted.serial, sighted.device) == ("LON/A", "7", "DOCK-DOOR-3")


def test_an_rfid_read_in_an_unknown_zone_is_rejected(catalog: Catalog) -> None:
    _, outputs = run(catalog, [rfid(sgtin96(CLOCK_GTIN, 7), zone="LON/Z")])

    assert of_type(outputs, Rejected)[0].code == RejectionCode.UNKNOWN_LOCATION


def test_an_unreadable_epc_is_keyed_nowhere(catalog: Catalog) -> None:
    assert skus_of(rfid("3174257BF7194E4000001A85"), catalog) == ()


def test_a_tag_read_again_in_the_same_zone_moments_later_is_a_repeated_read(
    catalog: Catalog,
) -> None:
    epc = sgtin96(CLOCK_GTIN, 7)
    first = RfidObserved(**meta(0), epc=epc, reader="DOCK-DOOR-3", zone="LON/A")
    again = RfidObserved(**meta(0.05), epc=epc, reader="DOCK-DOOR-3", zone="LON/A")

    _, outputs = run(catalog, [first, again])

    assert len(of_type(outputs, Sighted)) == 1
    [repeat] = of_type(outputs, RepeatedRead)
    assert (repeat.epc, repeat.zone) == (epc, "LON/A")


def test_a_tag_seen_in_another_zone_or_after_the_window_is_news_again(catalog: Catalog) -> None:
    epc, other = sgtin96(CLOCK_GTIN, 7), sgtin96(CLOCK_GTIN, 8)
    reads = [
        RfidObserved(**meta(0), epc=other, reader="R1", zone="LON/A"),
        RfidObserved(**meta(0), epc=epc, reader="R1", zone="LON/A"),
        RfidObserved(**meta(0.01), epc=epc, reader="R2", zone="LON/RECV"),
        RfidObserved(**meta(5), epc=epc, reader="R2", zone="LON/RECV"),
    ]

    stock, outputs = run(catalog, reads)

    assert len(of_type(outputs, Sighted)) == 4
    assert of_type(outputs, RepeatedRead) == []
    assert set(stock.tag_reads) == {epc}  # the other tag's read, minutes old, is forgotten
