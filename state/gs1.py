"""GS1 decoding of what scanners and RFID readers report: pure parsing, no I/O.

Barcodes are decoded with `biip` (a maintained GS1 parser) and accept what scanners send:
a raw GS1 element string with FNC1 as ASCII GS (0x1D), optionally prefixed by a symbology
identifier ("]C1" GS1-128, "]d2" GS1 DataMatrix, "]Q3" GS1 QR), the human-readable form
"(01)09506000134352(17)260131(10)LOT42", a GS1 Digital Link URI, or a bare GTIN-8/12/13/14.
From them we keep the GTIN (AI 01, or AI 02 for the trade items inside a logistic unit), the lot
(AI 10), the expiry (AI 17), the serial (AI 21) and the count (AI 30 or AI 37, else 1).

Dates: AI 17 carries YYMMDD, and GS1 resolves the century with a sliding window around "now"
(General Specifications §7.12). biip reads the wall clock for that; the pure core cannot, so
`decode_barcode` takes the reference year from the event's own time and re-derives the date.
A day of 00 means the last day of the month.

EPC: an RFID read reports a 96-bit EPC in hex. `decode_sgtin96` decodes the SGTIN-96 scheme
(Tag Data Standard §14.5.1) into GTIN-14 + serial in a few lines of bit arithmetic; other
schemes (SSCC-96, GRAI, ...) are rejected as undecodable.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

import biip
from biip.checksums import gs1_standard_check_digit
from biip.gs1_element_strings import GS1ElementString, GS1ElementStrings
from biip.gs1_messages import GS1Message

from state.rejections import Rejection, RejectionCode


@dataclass(frozen=True, slots=True)
class ScanData:
    """What one scan says about an item. `gtin` is always 14 digits; `count` ≥ 1."""

    gtin: str
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None
    count: int = 1


def _undecodable(barcode: str, why: str) -> Rejection:
    return Rejection(RejectionCode.UNDECODABLE_BARCODE, f"cannot decode {barcode!r}: {why}")


def _element_strings(barcode: str) -> GS1ElementStrings | str:
    """The barcode's GS1 element strings, or else a bare GTIN-14; raises when it is neither."""
    text = barcode.strip()
    try:
        if text.startswith("("):
            return GS1Message.parse_hri(text).element_strings
        result = biip.parse(text)
    except (biip.ParseError, ValueError) as exc:
        raise _undecodable(barcode, str(exc)) from exc
    for source in (result.gs1_message, result.gs1_digital_link_uri):
        if source is not None and _gtin_element(source.element_strings) is not None:
            return source.element_strings
    if result.gtin is not None:
        return result.gtin.as_gtin_14()
    raise _undecodable(barcode, result.gtin_error or "no GTIN in it")


def _gtin_element(elements: GS1ElementStrings) -> GS1ElementString | None:
    """AI 01 (the item's GTIN), else AI 02 (GTIN of the items inside a logistic unit)."""
    return elements.get(ai="01") or elements.get(ai="02")


def gs1_date(yymmdd: str, reference_year: int) -> date:
    """YYMMDD with GS1's century window: the year lies within 49 years before and 50 after
    `reference_year`; DD = 00 means the last day of the month. Raises ValueError if invalid."""
    yy, month, day = int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    century = reference_year - reference_year % 100
    difference = yy - reference_year % 100
    if 51 <= difference <= 99:
        century -= 100
    elif -99 <= difference <= -50:
        century += 100
    year = century + yy
    if day == 0:
        day = calendar.monthrange(year, month)[1]
    return date(year, month, day)


def decode_barcode(barcode: str, *, reference_year: int) -> ScanData:
    """Decode a scanned GS1 barcode; raises `Rejection(undecodable_barcode)` when it is not one."""
    elements = _element_strings(barcode)
    if isinstance(elements, str):
        return ScanData(gtin=elements)
    gtin_element = _gtin_element(elements)
    if gtin_element is None or gtin_element.gtin is None:
        # the element strings were chosen because they have one; its check digit may be wrong
        raise _undecodable(barcode, "invalid GTIN check digit")

    def value(ai: str) -> str | None:
        element = elements.get(ai=ai)
        return None if element is None else element.value

    expiry_digits = value("17")
    count = value("30") or value("37")
    try:
        expiry = None if expiry_digits is None else gs1_date(expiry_digits, reference_year)
    except ValueError as exc:
        raise _undecodable(barcode, f"invalid expiry {expiry_digits!r}") from exc
    if count is not None and int(count) < 1:
        raise _undecodable(barcode, "a count of zero")
    return ScanData(
        gtin=gtin_element.gtin.as_gtin_14(),
        lot=value("10"),
        expiry=expiry,
        serial=value("21"),
        count=1 if count is None else int(count),
    )


SGTIN96_HEADER = 0x30
# partition -> (company prefix bits, company prefix digits, item reference bits); TDS table 14-2
SGTIN_PARTITIONS = {
    0: (40, 12, 4),
    1: (37, 11, 7),
    2: (34, 10, 10),
    3: (30, 9, 14),
    4: (27, 8, 17),
    5: (24, 7, 20),
    6: (20, 6, 24),
}


def decode_sgtin96(epc_hex: str) -> tuple[str, str]:
    """(GTIN-14, serial) of an SGTIN-96 EPC given as 24 hex digits.

    Layout, most significant bit first: header 8 | filter 3 | partition 3 | company prefix and
    item reference 44 (split by the partition) | serial 38. The GTIN is indicator digit (first
    digit of the item reference) + company prefix + rest of the item reference + check digit.
    """
    try:
        bits = int(epc_hex, 16)
    except ValueError as exc:
        raise _undecodable(epc_hex, "not hexadecimal") from exc
    if len(epc_hex) != 24 or bits >> 88 != SGTIN96_HEADER:
        raise _undecodable(epc_hex, "not an SGTIN-96 EPC (24 hex digits, header 0x30)")
    partition = (bits >> 82) & 0b111
    if partition not in SGTIN_PARTITIONS:
        raise _undecodable(epc_hex, f"invalid partition {partition}")
    prefix_bits, prefix_digits, item_bits = SGTIN_PARTITIONS[partition]
    item_digits = 13 - prefix_digits
    company = (bits >> (38 + item_bits)) & ((1 << prefix_bits) - 1)
    item = (bits >> 38) & ((1 << item_bits) - 1)
    serial = bits & ((1 << 38) - 1)
    if company >= 10**prefix_digits or item >= 10**item_digits:
        raise _undecodable(epc_hex, "company prefix or item reference out of range")
    item_text = str(item).zfill(item_digits)
    body = item_text[0] + str(company).zfill(prefix_digits) + item_text[1:]
    return body + str(gs1_standard_check_digit(body)), str(serial)
