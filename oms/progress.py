"""tqdm progress bars for management commands (import / export, postal-code
loading), one per phase."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

PHASES = {"read": "Reading", "check": "Checking", "write": "Writing", "export": "Exporting"}


class ProgressBars:
    """A ProgressFn (phase, done, total) that draws a bar per phase on stderr.
    tqdm turns itself off when stderr is not a terminal (cron, CI, tests)."""

    def __init__(self, stream: Any) -> None:
        # A command's OutputWrapper ends every write with a newline, which would
        # print each redraw of a bar on a line of its own: write to what it wraps.
        self.stream = getattr(stream, "_out", stream)
        self.bar: tqdm | None = None
        self.phase = ""

    def update(self, phase: str, done: int, total: int | None) -> None:
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = tqdm(
                total=total, desc=PHASES.get(phase, phase), unit="row", file=self.stream, disable=None
            )
        if done and self.bar is not None:
            self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    __call__ = update  # a ProgressFn is called: progress(phase, done, total)
