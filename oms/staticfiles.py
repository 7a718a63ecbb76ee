"""A static files finder for front-end libraries that ship inside installed
Python packages, so none is committed to this repository:

    static/vendor/plotly.min.js   plotly.js, from the plotly package

(htmx comes from django-htmx's own static files: {% htmx_script %}.)"""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage


def _package_file(package: str, *parts: str) -> Path:
    module = __import__(package)
    return Path(module.__file__).parent.joinpath(*parts)


FILES = {
    "vendor/plotly.min.js": ("plotly", "package_data", "plotly.min.js"),
}


class PackageFileFinder(BaseFinder):
    def _path(self, name: str) -> Path | None:
        spec = FILES.get(name)
        return _package_file(spec[0], *spec[1:]) if spec else None

    def find(self, path, find_all=False, **kwargs):
        found = self._path(path)
        if found is None or not found.exists():
            return [] if find_all else None
        return [str(found)] if find_all else str(found)

    def list(self, ignore_patterns):
        for name in FILES:
            path = self._path(name)
            if path.exists():
                storage = FileSystemStorage(location=str(path.parent))
                storage.prefix = str(Path(name).parent)
                yield path.name, storage

    def check(self, **kwargs):
        return []
