"""Where a parcel goes, for routing and rating: great-circle distances, and
a destination's point from the best thing its address offers - its own
coordinates, else its postal code's centroid (oms.models.PostalCode, loaded
from GeoNames by `manage.py load_postal_codes`), else its region's (US state,
Canadian province), else its country's centroid.

Postal codes are stored normalised (upper case, no spaces) so "sw1a 1aa",
"SW1A1AA" and "SW1A 1AA" are one code; a lookup also tries the coarser codes
GeoNames publishes for some countries (GB outward code, Canadian FSA, Dutch
4 digits, US 5-digit ZIP of a ZIP+4), most specific first, in one query.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

# Approximate population-weighted centroids (lat, lng) of common destination
# countries. A postal-code centroid table replaces this where it has the code.
COUNTRY_CENTROIDS: dict[str, tuple[float, float]] = {
    "US": (39.8, -95.6), "CA": (45.4, -75.7), "MX": (19.4, -99.1), "BR": (-15.8, -47.9),
    "AR": (-34.6, -58.4), "CL": (-33.4, -70.6), "CO": (4.7, -74.1), "PE": (-12.0, -77.0),
    "GB": (52.5, -1.5), "IE": (53.3, -6.3), "FR": (46.6, 2.4), "DE": (51.1, 10.4),
    "NL": (52.2, 5.3), "BE": (50.6, 4.6), "LU": (49.8, 6.1), "ES": (40.4, -3.7),
    "PT": (39.6, -8.0), "IT": (42.8, 12.5), "CH": (46.8, 8.2), "AT": (47.6, 14.1),
    "DK": (56.0, 10.0), "SE": (59.3, 18.1), "NO": (59.9, 10.8), "FI": (60.2, 24.9),
    "PL": (52.1, 19.4), "CZ": (49.8, 15.5), "GR": (38.0, 23.7), "HU": (47.5, 19.0),
    "RO": (44.4, 26.1), "BG": (42.7, 23.3), "HR": (45.8, 16.0), "SI": (46.1, 14.5),
    "SK": (48.7, 19.7), "EE": (59.4, 24.7), "LV": (56.9, 24.1), "LT": (54.7, 25.3),
    "TR": (39.9, 32.9), "IL": (32.1, 34.8), "AE": (25.2, 55.3), "SA": (24.7, 46.7),
    "IN": (21.1, 78.0), "CN": (31.2, 114.3), "HK": (22.3, 114.2), "TW": (24.5, 121.0),
    "JP": (35.7, 139.7), "KR": (37.6, 127.0), "SG": (1.35, 103.8), "MY": (3.1, 101.7),
    "TH": (13.8, 100.5), "VN": (16.0, 106.0), "PH": (14.6, 121.0), "ID": (-6.2, 106.8),
    "AU": (-33.0, 147.0), "NZ": (-38.0, 175.0), "ZA": (-26.2, 28.0), "EG": (30.0, 31.2),
    "MA": (33.6, -7.6), "NG": (6.5, 3.4), "KE": (-1.3, 36.8),
}  # fmt: skip

# Approximate geographic centroids of US states and Canadian provinces, for
# addresses whose postal code is not loaded: "NY" is far closer to New York
# than the middle of the country is.
REGION_CENTROIDS: dict[tuple[str, str], tuple[float, float]] = {
    ("US", "AL"): (32.8, -86.8), ("US", "AK"): (61.2, -149.9), ("US", "AZ"): (34.3, -111.7),
    ("US", "AR"): (34.9, -92.4), ("US", "CA"): (37.2, -119.4), ("US", "CO"): (39.0, -105.5),
    ("US", "CT"): (41.6, -72.7), ("US", "DE"): (39.0, -75.5), ("US", "DC"): (38.9, -77.0),
    ("US", "FL"): (28.6, -82.4), ("US", "GA"): (32.7, -83.4), ("US", "HI"): (20.3, -156.4),
    ("US", "ID"): (44.4, -114.6), ("US", "IL"): (40.0, -89.2), ("US", "IN"): (39.9, -86.3),
    ("US", "IA"): (42.1, -93.5), ("US", "KS"): (38.5, -98.4), ("US", "KY"): (37.5, -85.3),
    ("US", "LA"): (31.1, -92.0), ("US", "ME"): (45.4, -69.2), ("US", "MD"): (39.0, -76.8),
    ("US", "MA"): (42.3, -71.8), ("US", "MI"): (44.3, -85.4), ("US", "MN"): (46.3, -94.3),
    ("US", "MS"): (32.7, -89.7), ("US", "MO"): (38.4, -92.5), ("US", "MT"): (47.0, -109.6),
    ("US", "NE"): (41.5, -99.8), ("US", "NV"): (39.3, -116.6), ("US", "NH"): (43.7, -71.6),
    ("US", "NJ"): (40.2, -74.7), ("US", "NM"): (34.4, -106.1), ("US", "NY"): (42.9, -75.5),
    ("US", "NC"): (35.6, -79.4), ("US", "ND"): (47.5, -100.5), ("US", "OH"): (40.3, -82.8),
    ("US", "OK"): (35.6, -97.5), ("US", "OR"): (43.9, -120.6), ("US", "PA"): (40.9, -77.8),
    ("US", "RI"): (41.7, -71.5), ("US", "SC"): (33.9, -80.9), ("US", "SD"): (44.4, -100.2),
    ("US", "TN"): (35.9, -86.4), ("US", "TX"): (31.5, -99.3), ("US", "UT"): (39.3, -111.7),
    ("US", "VT"): (44.1, -72.7), ("US", "VA"): (37.5, -78.9), ("US", "WA"): (47.4, -120.5),
    ("US", "WV"): (38.6, -80.6), ("US", "WI"): (44.6, -89.9), ("US", "WY"): (43.0, -107.6),
    ("US", "PR"): (18.2, -66.5),
    ("CA", "AB"): (53.9, -116.6), ("CA", "BC"): (53.7, -127.6), ("CA", "MB"): (53.8, -98.8),
    ("CA", "NB"): (46.6, -66.5), ("CA", "NL"): (53.1, -57.7), ("CA", "NS"): (44.7, -63.7),
    ("CA", "ON"): (50.0, -85.0), ("CA", "PE"): (46.5, -63.4), ("CA", "QC"): (52.9, -73.5),
    ("CA", "SK"): (52.9, -106.5), ("CA", "NT"): (64.8, -124.8), ("CA", "NU"): (70.3, -83.1),
    ("CA", "YT"): (64.3, -135.0),
}  # fmt: skip

EARTH_RADIUS_KM = 6371.0088

Point = tuple[float, float]


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def distance_km(a: Point | None, b: Point | None) -> float | None:
    """Great-circle km between two points; None when either is unknown."""
    if a is None or b is None:
        return None
    return haversine_km(a[0], a[1], b[0], b[1])


# --- Postal codes ----------------------------------------------------------------------

# Countries whose GeoNames file (or whose carriers' zoning) works on a prefix
# of the full code: how many leading characters of the normalised code.
_PREFIX_LENGTH = {"CA": 3, "IE": 3, "MT": 3, "NL": 4, "US": 5, "PR": 5, "VI": 5, "GU": 5, "AS": 5, "MP": 5}
# UK-style codes: the outward code is all but the 3-character inward code.
_OUTWARD_INWARD = {"GB", "IM", "JE", "GG"}


def normalize_postal_code(code: str) -> str:
    return re.sub(r"\s+", "", str(code)).upper()


def postal_code_candidates(country: str, code: str) -> list[str]:
    """The normalised codes to look a postal code up by, most specific first:
    "SW1A 1AA" -> ["SW1A1AA", "SW1A"], "10118-0110" -> ["10118-0110", "10118"]."""
    raw = str(code or "").strip().upper()
    full = normalize_postal_code(raw)
    if not full:
        return []
    country = (country or "").upper()
    found = [full]
    if " " in raw:  # a space separates the coarse part in most national formats
        found.append(raw.split()[0])
    if country in _OUTWARD_INWARD and len(full) >= 5:
        found.append(full[:-3])
    if (n := _PREFIX_LENGTH.get(country)) and len(full) > n:
        found.append(full[:n])
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Destination:
    """A destination's point and where it came from ("address": the address's
    own coordinates, "postal_code": the code's centroid, "region": the state's
    or province's centroid, "country": the country's centroid, None: unknown)."""

    point: Point | None
    country: str
    postal_code: str = ""
    source: str | None = None


def _coordinate(value: Any, limit: float) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def _postal_point(country: str, postal_code: str) -> Point | None:
    from .models import PostalCode

    candidates = postal_code_candidates(country, postal_code)
    if not candidates:
        return None
    rows = {
        code: (float(lat), float(lng))
        for code, lat, lng in PostalCode.objects.filter(
            country=country.upper(), postal_code__in=candidates
        ).values_list("postal_code", "latitude", "longitude")
    }
    return next((rows[c] for c in candidates if c in rows), None)


def resolve_destination(address: dict[str, Any] | None) -> Destination:
    """Where an address (an order's shipping_address dict) is: its latitude /
    longitude when both are valid, else its postal code's centroid, else its
    region's (state / province), else its country's centroid. One query at
    most (the postal-code lookup)."""
    address = address or {}
    country = str(address.get("country") or "").strip().upper()
    postal_code = str(address.get("postal_code") or "").strip()
    lat, lng = _coordinate(address.get("latitude"), 90), _coordinate(address.get("longitude"), 180)
    if lat is not None and lng is not None:
        return Destination((lat, lng), country, postal_code, "address")
    if country and postal_code and (point := _postal_point(country, postal_code)):
        return Destination(point, country, postal_code, "postal_code")
    region = str(address.get("region") or "").strip().upper()
    if point := REGION_CENTROIDS.get((country, region)):
        return Destination(point, country, postal_code, "region")
    if point := COUNTRY_CENTROIDS.get(country):
        return Destination(point, country, postal_code, "country")
    return Destination(None, country, postal_code, None)


def destination_point(
    country: str,
    latitude: Decimal | float | None = None,
    longitude: Decimal | float | None = None,
    *,
    postal_code: str = "",
) -> Point | None:
    """Coordinates for a destination: the address's own, else its postal
    code's centroid, else its country's centroid (None when all are unknown)."""
    return resolve_destination(
        {"country": country, "latitude": latitude, "longitude": longitude, "postal_code": postal_code}
    ).point


# ISO 3166-1 alpha-2 codes in use.
_ISO_CODES = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN
CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW
"""
ISO_COUNTRIES = frozenset(_ISO_CODES.split())


# --- Loading GeoNames postal-code files ------------------------------------------------
#
# https://download.geonames.org/export/zip/readme.txt: UTF-8, tab-separated,
# no header, 12 columns: country code, postal code, place name, admin name1,
# admin code1, admin name2, admin code2, admin name3, admin code3, latitude,
# longitude, accuracy (1 estimated, 4 geonameid, 6 centroid; may be empty).
# A code often appears on several lines, one per place it serves: the loader
# stores the average of their coordinates (the centroid of the places), the
# first line's place and state names, and the lowest accuracy among them.

GEONAMES_COLUMNS = 12
ProgressFn = Callable[[str, int, int | None], None]


@dataclass
class PostalLoadResult:
    rows: int = 0  # data lines read
    codes: int = 0  # distinct postal codes written
    averaged: int = 0  # lines folded into a code seen earlier in the file
    other_country: int = 0  # skipped by the country filter
    bad: int = 0
    problems: list[str] = field(default_factory=list)  # the first few, "line 7: ..."
    created: int = 0
    updated: int = 0
    deleted: int = 0
    countries: list[str] = field(default_factory=list)


@dataclass
class _Code:
    lat_sum: Decimal
    lng_sum: Decimal
    places: int
    place_name: str
    admin_name: str
    admin_code: str
    accuracy: int | None


def geonames_lines(path: str | Path) -> Iterator[bytes]:
    """The raw lines of a GeoNames file: a .txt, or a .zip holding one (as
    GeoNames ships them, e.g. US.zip with US.txt and readme.txt). OSError or
    ValueError when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist or is not a file")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [
                n
                for n in archive.namelist()
                if n.lower().endswith(".txt") and Path(n).name.lower() != "readme.txt"
            ]
            if len(members) != 1:
                raise ValueError(
                    f"{path.name} should hold one GeoNames .txt file besides readme.txt, "
                    f"found {members or 'none'}"
                )
            with archive.open(members[0]) as stream:
                yield from stream
        return
    with path.open("rb") as stream:
        yield from stream


def _parse_row(cols: list[str]) -> tuple[str, str, Decimal, Decimal, int | None] | str:
    """(country, code, lat, lng, accuracy), or the problem with the row."""
    if not GEONAMES_COLUMNS - 1 <= len(cols) <= GEONAMES_COLUMNS:
        return f"has {len(cols)} tab-separated columns, expected {GEONAMES_COLUMNS}"
    country = cols[0].strip().upper()
    if country not in ISO_COUNTRIES:
        return f"country '{cols[0].strip()}' is not an ISO 3166-1 alpha-2 code"
    code = normalize_postal_code(cols[1])
    if not code:
        return "postal code is empty"
    if len(code) > 20:
        return f"postal code '{code}' is longer than 20 characters"
    point = []
    for name, raw, limit in (("latitude", cols[9], 90), ("longitude", cols[10], 180)):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            return f"{name} '{raw.strip()}' is not a number"
        if not value.is_finite() or not -limit <= value <= limit:
            return f"{name} {raw.strip()} is outside -{limit}..{limit}"
        point.append(value)
    accuracy = cols[11].strip() if len(cols) == GEONAMES_COLUMNS else ""
    if accuracy and not (accuracy.isdigit() and int(accuracy) <= 100):
        return f"accuracy '{accuracy}' is not a small whole number"
    return country, code, point[0], point[1], int(accuracy) if accuracy else None


def read_geonames(
    lines: Iterable[bytes | str],
    *,
    country: str | None = None,
    result: PostalLoadResult,
    max_problems: int = 20,
    progress: ProgressFn | None = None,
) -> dict[tuple[str, str], _Code]:
    """Parse and fold the lines into one entry per (country, postal code);
    bad lines are counted in `result` and skipped."""
    codes: dict[tuple[str, str], _Code] = {}
    only = country.upper() if country else None

    def bad(number: int, problem: str) -> None:
        result.bad += 1
        if len(result.problems) < max_problems:
            result.problems.append(f"line {number}: {problem}")

    pending = 0
    for number, raw in enumerate(lines, start=1):
        pending += 1
        if progress and pending == 1000:
            progress("read", pending, None)
            pending = 0
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                bad(number, "is not UTF-8 text")
                continue
        text = raw.lstrip("\ufeff").rstrip("\r\n")
        if not text.strip():
            continue
        result.rows += 1
        cols = text.split("\t")  # GeoNames never quotes
        if only and cols[0].strip().upper() != only:
            result.other_country += 1
            continue
        parsed = _parse_row(cols)
        if isinstance(parsed, str):
            bad(number, parsed)
            continue
        cc, code, lat, lng, accuracy = parsed
        seen = codes.get((cc, code))
        if seen is None:
            codes[(cc, code)] = _Code(
                lat, lng, 1, cols[2].strip()[:180], cols[3].strip()[:100], cols[4].strip()[:20], accuracy
            )
            continue
        result.averaged += 1
        seen.lat_sum += lat
        seen.lng_sum += lng
        seen.places += 1
        if accuracy is not None and (seen.accuracy is None or accuracy < seen.accuracy):
            seen.accuracy = accuracy
    if progress and pending:
        progress("read", pending, None)
    return codes


def postal_codes_load(
    *,
    lines: Iterable[bytes | str],
    country: str | None = None,
    replace: bool = False,
    batch_size: int = 2000,
    max_problems: int = 20,
    progress: ProgressFn | None = None,
) -> PostalLoadResult:
    """Upsert the postal codes of a GeoNames file (see the note above) in
    batches, in one transaction. With `replace`, the rows of the countries
    loaded (or of `country`) are deleted first, so codes that left the file
    leave the table too (never when the file held no usable row)."""
    from django.db import transaction

    from .models import PostalCode

    result = PostalLoadResult()
    codes = read_geonames(lines, country=country, result=result, max_problems=max_problems, progress=progress)
    countries = sorted({cc for cc, _ in codes} | ({country.upper()} if country else set()))
    result.countries = countries
    six = Decimal("0.000001")
    rows = [
        PostalCode(
            country=cc,
            postal_code=code,
            place_name=c.place_name,
            admin_name=c.admin_name,
            admin_code=c.admin_code,
            latitude=(c.lat_sum / c.places).quantize(six),
            longitude=(c.lng_sum / c.places).quantize(six),
            accuracy=c.accuracy,
        )
        for (cc, code), c in sorted(codes.items())
    ]
    with transaction.atomic():
        existing = PostalCode.objects.filter(country__in=countries)
        if replace and rows:  # a file with nothing usable must not wipe a country
            result.deleted = existing.delete()[0]
        before = existing.count()
        if progress:
            progress("write", 0, len(rows))
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            PostalCode.objects.bulk_create(
                batch,
                update_conflicts=True,
                unique_fields=["country", "postal_code"],
                update_fields=["place_name", "admin_name", "admin_code", "latitude", "longitude", "accuracy"],
            )
            if progress:
                progress("write", len(batch), len(rows))
        result.created = existing.count() - before
    result.codes = len(rows)
    result.updated = result.codes - result.created
    return result
