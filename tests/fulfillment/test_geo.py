"""Where a destination is (address coordinates > postal-code centroid >
country centroid) and the GeoNames postal-code loader."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from oms.geo import (
    COUNTRY_CENTROIDS,
    REGION_CENTROIDS,
    destination_point,
    distance_km,
    postal_code_candidates,
    resolve_destination,
)
from oms.models import PostalCode

SAMPLE = Path(__file__).resolve().parents[2] / "oms" / "data" / "geonames_postal_sample.txt"


def geonames_line(country, code, place, lat, lng, accuracy="4", admin="State", admin_code="ST") -> str:
    return "\t".join([country, code, place, admin, admin_code, "", "", "", "", lat, lng, accuracy])


def load(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("load_postal_codes", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def sample(db):
    load(SAMPLE)


# --- Lookup order ------------------------------------------------------------------------


def test_candidates_most_specific_first():
    assert postal_code_candidates("GB", "sw1a 1aa") == ["SW1A1AA", "SW1A"]
    assert postal_code_candidates("GB", "SW1A1AA") == ["SW1A1AA", "SW1A"]
    assert postal_code_candidates("US", "10118-0110") == ["10118-0110", "10118"]
    assert postal_code_candidates("CA", "K1A 0B1") == ["K1A0B1", "K1A"]
    assert postal_code_candidates("NL", "1012 AB") == ["1012AB", "1012"]
    assert postal_code_candidates("US", "10118") == ["10118"]
    assert postal_code_candidates("US", "  ") == []


def test_address_coordinates_win_without_a_query(sample, django_assert_num_queries):
    with django_assert_num_queries(0):
        dest = resolve_destination(
            {"country": "US", "postal_code": "10118", "latitude": "34.05", "longitude": "-118.25"}
        )
    assert dest.source == "address"
    assert dest.point == (34.05, -118.25)


def test_postal_code_beats_country_in_one_query(sample, django_assert_num_queries):
    with django_assert_num_queries(1):
        dest = resolve_destination({"country": "us", "postal_code": "90001"})
    assert dest.source == "postal_code"
    assert dest.country == "US"
    assert dest.point == pytest.approx((33.9731, -118.2479))
    # Los Angeles, not the middle of Kansas where the US centroid is.
    assert distance_km(dest.point, COUNTRY_CENTROIDS["US"]) > 1500


def test_country_centroid_when_the_code_is_unknown(sample):
    dest = resolve_destination({"country": "US", "postal_code": "00000"})
    assert dest.source == "country"
    assert dest.point == COUNTRY_CENTROIDS["US"]


def test_region_centroid_before_the_country_when_the_code_is_unknown(sample):
    dest = resolve_destination({"country": "US", "region": " ny ", "postal_code": "00000"})
    assert dest.source == "region"
    assert dest.point == REGION_CENTROIDS[("US", "NY")]
    assert resolve_destination({"country": "US", "region": "Atlantis"}).source == "country"


def test_nothing_known_gives_no_point(db):
    dest = resolve_destination({"country": "ZZ", "postal_code": "1"})
    assert dest.point is None and dest.source is None
    assert resolve_destination(None).point is None


def test_bad_coordinates_fall_back_to_the_postal_code(sample):
    for lat, lng in [("north", "-73.9"), ("95", "-73.9"), ("40.7", None), (True, "1")]:
        dest = resolve_destination(
            {"country": "US", "postal_code": "60601", "latitude": lat, "longitude": lng}
        )
        assert dest.source == "postal_code"
        assert dest.point == pytest.approx((41.8858, -87.6181))


def test_gb_full_postcode_matches_its_outward_code(sample):
    dest = resolve_destination({"country": "GB", "postal_code": "sw1a 1aa"})
    assert dest.source == "postal_code"
    assert dest.point == pytest.approx((51.5010, -0.1416))


def test_a_full_code_beats_its_outward_code(sample):
    PostalCode.objects.create(
        country="GB", postal_code="SW1A1AA", latitude=Decimal("51.501009"), longitude=Decimal("-0.141588")
    )
    dest = resolve_destination({"country": "GB", "postal_code": "SW1A 1AA"})
    assert dest.point == pytest.approx((51.501009, -0.141588))


def test_zip_plus_four_matches_the_zip(sample):
    assert destination_point("US", postal_code="10118-0110") == pytest.approx((40.7490, -73.9860))


def test_codes_with_spaces_match_either_way(sample):
    # GeoNames writes Greek codes "105 57"; customers type either form.
    assert destination_point("GR", postal_code="10557") == destination_point("GR", postal_code="105 57")
    assert destination_point("GR", postal_code="10557") == pytest.approx((37.978, 23.729))


def test_destination_point_keeps_its_old_signature(sample):
    assert destination_point("US", Decimal("40.1"), Decimal("-74.2")) == (40.1, -74.2)
    assert destination_point("DE") == COUNTRY_CENTROIDS["DE"]
    assert destination_point("TW", postal_code="110") == pytest.approx((25.0330, 121.5654))


# --- Loader ----------------------------------------------------------------------------------


def test_sample_loads_and_reloads_idempotently(db):
    rows = [ln for ln in SAMPLE.read_text(encoding="utf-8").splitlines() if ln.strip()]
    out, _ = load(SAMPLE)
    assert f"{len(rows)} line(s) read: {len(rows)} postal code(s)" in out
    assert f"{len(rows)} new, 0 updated" in out
    assert "0 bad line(s)" in out
    assert PostalCode.objects.count() == len(rows)
    countries = set(PostalCode.objects.values_list("country", flat=True))
    assert {"US", "GB", "DE", "FR", "GR", "TW"} <= countries
    nyc = PostalCode.objects.get(country="US", postal_code="10118")
    assert (nyc.place_name, nyc.admin_name, nyc.admin_code, nyc.accuracy) == ("New York", "New York", "NY", 4)
    assert PostalCode.objects.filter(country="GR", postal_code="10557").exists()  # stored without the space

    out, _ = load(SAMPLE)
    assert f"0 new, {len(rows)} updated" in out
    assert PostalCode.objects.count() == len(rows)


def test_zip_as_geonames_ships_it_with_a_country_filter(db, tmp_path):
    archive = tmp_path / "XX.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "Readme for GeoNames Postal Code files")
        zf.writestr("allCountries.txt", SAMPLE.read_bytes())
    out, _ = load(archive, "--country", "de")
    assert PostalCode.objects.exclude(country="DE").count() == 0
    assert PostalCode.objects.filter(country="DE").count() == 12
    assert "of other countries skipped" in out
    assert destination_point("DE", postal_code="80331") == pytest.approx((48.1374, 11.5755))


def test_replace_removes_codes_that_left_the_file(db, tmp_path):
    PostalCode.objects.create(country="DE", postal_code="99999", latitude=1, longitude=1)
    PostalCode.objects.create(country="FR", postal_code="99999", latitude=1, longitude=1)
    path = tmp_path / "DE.txt"
    path.write_text(geonames_line("DE", "10115", "Berlin", "52.5323", "13.3846") + "\n", encoding="utf-8")

    load(path)
    assert PostalCode.objects.filter(country="DE", postal_code="99999").exists()

    out, _ = load(path, "--replace")
    assert "2 old row(s) replaced" in out  # the stale code and the one loaded just before
    assert set(PostalCode.objects.filter(country="DE").values_list("postal_code", flat=True)) == {"10115"}
    assert PostalCode.objects.filter(country="FR").exists()  # other countries untouched


def test_replace_with_nothing_usable_deletes_nothing(db, tmp_path):
    PostalCode.objects.create(country="DE", postal_code="10115", latitude=1, longitude=1)
    path = tmp_path / "broken.txt"
    path.write_text("DE\t10117\tBerlin\n", encoding="utf-8")
    load(path, "--replace", "--country", "DE")
    assert PostalCode.objects.filter(country="DE").count() == 1


def test_bad_rows_are_skipped_and_listed_with_line_numbers(db, tmp_path):
    lines = [
        geonames_line("US", "10118", "New York", "40.7490", "-73.9860"),
        geonames_line("US", "10001", "New York", "north", "-73.9967"),
        "US\t10007\tNew York",
        geonames_line("XX", "1", "Nowhere", "1", "1"),
        geonames_line("US", " ", "Blank", "1", "1"),
        "",
        geonames_line("US", "60601", "Chicago", "41.8858", "-187.6181"),
        geonames_line("US", "90001", "Los Angeles", "33.9731", "-118.2479", accuracy="high"),
        geonames_line("US", "94103", "San Francisco", "37.7725", "-122.4147", accuracy=""),
    ]
    path = tmp_path / "US.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"US\t\xff\xfe\n")
    out, err = load(path, "--show-errors", "5")
    assert "line 2: latitude 'north' is not a number" in err
    assert "line 3: has 3 tab-separated columns, expected 12" in err
    assert "line 4: country 'XX' is not an ISO 3166-1 alpha-2 code" in err
    assert "line 5: postal code is empty" in err
    assert "line 7: longitude -187.6181 is outside -180..180" in err
    assert "... and 2 more bad line(s)" in err  # line 8 (accuracy) and line 10 (not UTF-8)
    assert "7 bad line(s) skipped" in out
    assert set(PostalCode.objects.values_list("postal_code", flat=True)) == {"10118", "94103"}
    assert PostalCode.objects.get(postal_code="94103").accuracy is None


def test_several_places_of_one_code_are_averaged(db, tmp_path):
    path = tmp_path / "DE.txt"
    path.write_text(
        "\n".join(
            [
                geonames_line("DE", "01945", "Tettau", "51.4000", "13.7000", accuracy="4"),
                geonames_line("DE", "01945", "Lindenau", "51.4400", "13.7400", accuracy="1"),
                geonames_line("DE", "01945", "Grünewald", "51.4200", "13.7800", accuracy="4"),
            ]
        ),
        encoding="utf-8",
    )
    out, _ = load(path)
    assert "1 postal code(s)" in out and "2 extra place line(s) averaged" in out
    row = PostalCode.objects.get(country="DE", postal_code="01945")
    assert (row.latitude, row.longitude) == (Decimal("51.420000"), Decimal("13.740000"))
    assert row.place_name == "Tettau"  # the first line's names
    assert row.accuracy == 1  # as good as the worst of them


@pytest.mark.parametrize("name", ["missing.txt", "folder"])
def test_missing_file_is_a_command_error(db, tmp_path, name):
    (tmp_path / "folder").mkdir()
    with pytest.raises(CommandError, match="Cannot read"):
        load(tmp_path / name)


def test_zip_without_a_data_file_is_a_command_error(db, tmp_path):
    archive = tmp_path / "US.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "nothing else")
    with pytest.raises(CommandError, match=r"should hold one GeoNames \.txt file"):
        load(archive)


def test_unknown_country_filter_is_a_command_error(db):
    with pytest.raises(CommandError, match="--country XY"):
        load(SAMPLE, "--country", "XY")
