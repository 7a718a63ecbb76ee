"""Prove the invariants on live data; exits 1 and names what is wrong if any fails."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from oms.reconcile import registered_checks


class Command(BaseCommand):
    help = "Check stock ledger, reservations, allocations and order totals against each other."

    def handle(self, *args, **options) -> None:
        failed = 0
        for name, run in registered_checks().items():
            problems = run()
            if problems:
                failed += 1
                self.stdout.write(self.style.ERROR(f"FAIL  {name} ({len(problems)} problem(s))"))
                for problem in problems[:50]:
                    self.stdout.write(f"      {problem}")
                if len(problems) > 50:
                    self.stdout.write(f"      ... and {len(problems) - 50} more")
            else:
                self.stdout.write(self.style.SUCCESS(f"ok    {name}"))
        if failed:
            raise CommandError(f"{failed} invariant check(s) failed", returncode=1)
