"""Distances for routing: great-circle distance, and a country-centroid
fallback when an address comes without coordinates."""

from __future__ import annotations

import math
from decimal import Decimal

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

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def destination_point(
    country: str, latitude: Decimal | float | None = None, longitude: Decimal | float | None = None
) -> tuple[float, float] | None:
    """Coordinates for a destination: the address's own, else its country's centroid."""
    if latitude is not None and longitude is not None:
        return float(latitude), float(longitude)
    return COUNTRY_CENTROIDS.get(country.upper())


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
