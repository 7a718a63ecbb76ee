"""Every URL pattern of the project, found through Django's resolver, with the
HTTP methods its view answers: the security tests walk these, so a new
endpoint is checked (or fails for want of a classification) without anyone
remembering to add it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

UNSAFE = ("post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str  # lower case
    route: str  # as the resolver spells it, e.g. "api/v1/orders/<int:pk>/cancel/"
    view: type | None
    callback: object

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.route}"

    @property
    def unsafe(self) -> bool:
        return self.method in UNSAFE


def patterns(prefix: str = "") -> list[tuple[str, URLPattern]]:
    def walk(items, route=""):
        for item in items:
            if isinstance(item, URLResolver):
                yield from walk(item.url_patterns, route + str(item.pattern))
            else:
                yield route + str(item.pattern), item

    return [(route, p) for route, p in walk(get_resolver().url_patterns) if route.startswith(prefix)]


def view_class(callback) -> type | None:
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def view_methods(callback) -> list[str]:
    """The methods a view answers, OPTIONS and HEAD aside."""
    view = view_class(callback)
    if view is None:  # a function view: it says itself (require_http_methods) or takes all
        allowed = getattr(callback, "oms_methods", None)
        return list(allowed or ("get", "post"))
    actions = getattr(callback, "actions", None)
    if actions:
        return sorted(actions)
    names = [m for m in getattr(view, "http_method_names", ()) if m not in {"options", "head", "trace"}]
    return [m for m in names if hasattr(view, m)]


def operations(prefix: str) -> list[Operation]:
    found = []
    for route, pattern in patterns(prefix):
        for method in view_methods(pattern.callback):
            found.append(Operation(method, route, view_class(pattern.callback), pattern.callback))
    return found


_CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^)]*)\)")


def concrete(route: str, values: dict[str, str]) -> str:
    """A URL for a route: `values` by parameter name, else a harmless default
    by converter (`<int:pk>` -> 999999); a regex group takes its first choice."""

    def converter(match):
        name, kind = match["name"], match["kind"] or "str"
        if name in values:
            return str(values[name])
        return {"int": "999999", "uuid": "00000000-0000-0000-0000-000000000000"}.get(kind, "nothing")

    def group(match):
        return str(values.get(match["name"], match["body"].split("|")[0]))

    url = (
        _CONVERTER.sub(converter, _GROUP.sub(group, route))
        .replace("^", "")
        .replace("$", "")
        .replace("\\.", ".")
    )
    return "/" + url
