"""`manage.py load_postal_codes FILE`: load postal-code centroids from a
GeoNames postal-code file, so routing can place addresses that come without
coordinates.

    manage.py load_postal_codes US.zip                  as downloaded from
                                                        download.geonames.org/export/zip/
    manage.py load_postal_codes allCountries.txt --country DE
    manage.py load_postal_codes GB_full.csv.zip --replace
    manage.py load_postal_codes oms/data/geonames_postal_sample.txt   (the demo sample)

Rows are upserted on (country, postal code); with --replace the countries
loaded lose their other rows first (all in one transaction). Several lines
for one code are averaged into one centroid (see oms.geo). Bad lines are
skipped, counted and listed with their line numbers.
"""

from __future__ import annotations

import zipfile
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oms.geo import ISO_COUNTRIES, geonames_lines, postal_codes_load
from oms.progress import ProgressBars


class Command(BaseCommand):
    help = "Load postal-code centroids from a GeoNames postal-code file (.txt or .zip)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="GeoNames postal-code file: XX.txt, or XX.zip as GeoNames ships it.")
        parser.add_argument("--country", help="Only this country's rows (ISO 3166-1 alpha-2).")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete the loaded countries' existing postal codes first.",
        )
        parser.add_argument("--batch-size", type=int, default=2000, help="Rows per insert.")
        parser.add_argument("--show-errors", type=int, default=20, help="Bad lines listed (all are counted).")

    def handle(self, *args: Any, **options: Any) -> None:
        country = (options["country"] or "").strip().upper() or None
        if country and country not in ISO_COUNTRIES:
            raise CommandError(f"--country {options['country']}: not an ISO 3166-1 alpha-2 country code")
        bars = ProgressBars(self.stderr)
        try:
            result = postal_codes_load(
                lines=geonames_lines(options["path"]),
                country=country,
                replace=options["replace"],
                batch_size=max(options["batch_size"], 1),
                max_problems=max(options["show_errors"], 0),
                progress=bars,
            )
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise CommandError(f"Cannot read {options['path']}: {exc}") from exc
        finally:
            bars.close()
        for problem in result.problems:
            self.stderr.write(f"  {problem}")
        if result.bad > len(result.problems):
            self.stderr.write(f"  ... and {result.bad - len(result.problems)} more bad line(s)")
        summary = (
            f"{result.rows} line(s) read: {result.codes} postal code(s) for "
            f"{', '.join(result.countries) or 'no country'} - {result.created} new, "
            f"{result.updated} updated"
        )
        if result.deleted:
            summary += f", {result.deleted} old row(s) replaced"
        if result.averaged:
            summary += f"; {result.averaged} extra place line(s) averaged into their code's centroid"
        if result.other_country:
            summary += f"; {result.other_country} line(s) of other countries skipped"
        summary += f"; {result.bad} bad line(s) skipped."
        self.stdout.write(self.style.WARNING(summary) if result.bad else self.style.SUCCESS(summary))
