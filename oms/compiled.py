"""ORM reads compiled to SQL once per shape, then run with fresh values.

Django builds and compiles a queryset on every call. For the stock read of
order placement (locations serving the channel, safety stock, ATP) that took
1.5 ms of CPU per order, six times what PostgreSQL took to run it. A
`CompiledQuery` calls its builder once per shape with marker values, keeps
the ORM's SQL and converters, and afterwards only puts each call's values in
the markers' places. The rule stays written once, in the ORM.

Each value must reach the SQL as exactly one parameter: a plain field lookup
(`channel_id=channel`, `prefix=prefix`: the marker is a number, which a
text column's lookup turns into its string) or the `__any` lookup below for a list
(`sku_id__any=skus`, SQL `= ANY(%s)`: one array parameter however long the
list, where `__in` would give one parameter per item and so a new shape).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Field, ForeignObject, Lookup, Model, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.query import ModelIterable
from django.db.models.sql.subqueries import InsertQuery

# Far outside any id, quantity or amount the OMS stores; one per value name.
_MARKER_BASE = -7_340_000_000_000_000_001


class AnyOf(Lookup):
    """`field__any=[...]`: SQL `field = ANY(%s)` with the list as one array."""

    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [value if isinstance(value, int) else list(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        # Typed, so that an empty list is still an array of the column's type.
        array = f"{self.lhs.output_field.cast_db_type(connection)}[]"
        return f"{lhs} = ANY({rhs}::{array})", [*lhs_params, *rhs_params]


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # foreign keys have their own lookups


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: tuple[str | None, ...]  # per parameter: the value it takes, or None (a constant)
    names: tuple[str, ...]  # the columns, in row order
    converters: tuple[tuple[int, tuple], ...]  # (column, (functions, expression))


class CompiledQuery:
    """`build(shape, **values) -> QuerySet.values(...)`, compiled once per shape.

    `shape` holds whatever changes the SQL's text (flags, which filters
    apply); the keyword values are what changes between calls. `rows()`
    returns dicts keyed by the queryset's column names.
    """

    def __init__(self, build: Callable[..., QuerySet], *, using: str = "default") -> None:
        self._build = build
        self._using = using
        self._cache: dict[Hashable, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, shape: Hashable, names: tuple[str, ...]) -> _Compiled:
        markers = {name: _MARKER_BASE - i for i, name in enumerate(names)}
        queryset = self._build(shape, **markers)
        query = queryset.query
        compiler = query.get_compiler(self._using)
        sql, params = compiler.as_sql()
        # A text column's lookup turns its marker into a string: both forms name the value.
        by_marker = {form: k for k, v in markers.items() for form in (v, str(v))}
        slots = tuple(by_marker.get(p) if type(p) in (int, str) else None for p in params)
        missing = set(names) - set(slots)
        if missing:
            raise ValueError(f"values {sorted(missing)} did not reach the SQL as one parameter each")
        columns = tuple(alias for _, _, alias in compiler.select)
        if None in columns or queryset._iterable_class is ModelIterable:
            raise ValueError("CompiledQuery needs a .values() queryset (named columns, no model rows)")
        converters = compiler.get_converters([col for col, _, _ in compiler.select])
        return _Compiled(sql, tuple(params), slots, columns, tuple(converters.items()))

    def statement(self, shape: Hashable = None, **values: Any) -> _Compiled:
        key = (shape, tuple(sorted(values)))
        compiled = self._cache.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._cache.get(key) or self._compile(shape, tuple(sorted(values)))
                self._cache[key] = compiled
        return compiled

    def rows(self, shape: Hashable = None, **values: Any) -> list[dict[str, Any]]:
        compiled = self.statement(shape, **values)
        params = [
            p if slot is None else values[slot]
            for p, slot in zip(compiled.params, compiled.slots, strict=True)
        ]
        connection = connections[self._using]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            raw = cursor.fetchall()
        if compiled.converters:
            raw = [list(row) for row in raw]
            for row in raw:
                for position, (functions, expression) in compiled.converters:
                    for convert in functions:
                        row[position] = convert(row[position], expression, connection)
        return [dict(zip(compiled.names, row, strict=True)) for row in raw]


def model_columns(model: type[Model], prefix: str = "") -> list[str]:
    """The `.values()` names of every column of `model` (through `prefix`, e.g.
    "warehouse__"), for rows that `instance()` turns back into objects."""
    return [prefix + f.attname for f in model._meta.concrete_fields]


def instance(model: type[Model], row: dict[str, Any], prefix: str = "", using: str = "default") -> Model:
    """The model object of a row read with `model_columns(model, prefix)`, as the
    ORM would have loaded it (saved state, no deferred field)."""
    names = [f.attname for f in model._meta.concrete_fields]
    return model.from_db(using, names, [row[prefix + name] for name in names])


def insert_statement(
    objs: list[Model],
    *,
    on_conflict: OnConflict | None = None,
    returning: bool = False,
    using: str = "default",
) -> tuple[str, list]:
    """The ORM's INSERT of `objs` (one model; several rows in one statement, as
    bulk_create writes them), with `RETURNING` the generated columns if asked,
    for callers that put it in a larger statement."""
    meta = objs[0]._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    query = InsertQuery(type(objs[0]), on_conflict=on_conflict)
    query.insert_values(fields, objs)
    compiler = query.get_compiler(using)
    if returning:
        compiler.returning_fields = meta.db_returning_fields
    statements = compiler.as_sql()
    if len(statements) != 1:
        raise ValueError(f"{len(objs)} {meta.object_name} rows do not fit one INSERT statement")
    sql, params = statements[0]
    return sql, list(params)


def mark_inserted(obj: Model, returned: tuple, using: str = "default") -> None:
    """Set what an INSERT ... RETURNING of `insert_statement(..., returning=True)`
    gave back (the generated columns, the primary key among them) and mark
    `obj` saved, as `save()` would."""
    for field, value in zip(obj._meta.db_returning_fields, returned, strict=True):
        setattr(obj, field.attname, value)
    obj._state.adding, obj._state.db = False, using


def insert_rows(objs: list[Model], using: str = "default") -> None:
    """INSERT one new row of each object, of any models, in one statement, in
    list order, and set their primary keys. A foreign key to an object earlier
    in the list (still unsaved) takes that row's new id, so a parent and its
    children go together (a payment and its transaction)."""
    position = {id(obj): i for i, obj in enumerate(objs)}
    quote = connections[using].ops.quote_name
    parts, params, linked = [], [], []
    for i, obj in enumerate(objs):
        meta = obj._meta
        if [f.attname for f in meta.db_returning_fields] != [meta.pk.attname]:
            raise ValueError(f"{meta.object_name} returns more than its primary key on insert")
        links = {}  # marker -> the parent's CTE
        for field in meta.concrete_fields:
            parent = field.get_cached_value(obj, None) if field.many_to_one else None
            if parent is not None and parent.pk is None and id(parent) in position:
                marker = _MARKER_BASE - len(links)
                parent_id = quote(parent._meta.pk.column)
                links[marker] = f"(SELECT {parent_id} FROM i{position[id(parent)]})"  # noqa: S608
                linked.append((obj, field.name, parent))
                setattr(obj, field.attname, marker)  # this also forgets the cached parent
        sql, values = insert_statement([obj], returning=True, using=using)
        pieces = sql.split("%s")
        if len(pieces) != len(values) + 1:
            raise ValueError(f"{meta.object_name}: placeholders and values do not pair up")
        text = [pieces[0]]
        for value, piece in zip(values, pieces[1:], strict=True):
            if type(value) is int and value in links:
                text.append(links[value])
            else:
                text.append("%s")
                params.append(value)
            text.append(piece)
        parts.append(f"i{i} AS ({''.join(text)})")
    # Only identifiers are interpolated: the values are all parameters.
    select = " UNION ALL ".join(
        f"SELECT {i}, {quote(o._meta.pk.column)} FROM i{i}"  # noqa: S608
        for i, o in enumerate(objs)
    )
    with connections[using].cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} {select}", params)
        returned = dict(cursor.fetchall())
    for i, obj in enumerate(objs):
        mark_inserted(obj, (returned[i],), using)
    for obj, name, parent in linked:  # the parents, now with their ids
        setattr(obj, name, parent)


def insert_unless_taken(obj: Model, using: str = "default") -> bool:
    """INSERT `obj` unless a unique key of its table already holds those values:
    `INSERT ... ON CONFLICT DO NOTHING RETURNING`, one statement. True (and the
    primary key set) if it was inserted.

    What `save()` in a savepoint does when the row is new, catching the
    IntegrityError when it is not, in one round trip instead of three; no
    model signals are sent (none are used for these models).
    """
    sql, params = insert_statement([obj], on_conflict=OnConflict.IGNORE, returning=True, using=using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    mark_inserted(obj, row, using)
    return True


def raw_instances(model: type[Model], sql: str, params: list, using: str = "default") -> list[Model]:
    """The model objects of a hand-written `SELECT *` / `RETURNING *`, by column
    name. `Model.objects.raw()` without its per-query work (it resolved the
    column order on every call, a third of its cost here); for models whose
    fields need no conversion from the database, which is checked."""
    fields = model._meta.concrete_fields
    if any(hasattr(f, "from_db_value") for f in fields):
        raise ValueError(f"{model.__name__} has fields converted on load: use Model.objects.raw()")
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    order = [names.index(f.column) for f in fields]
    attnames = [f.attname for f in fields]
    return [model.from_db(using, attnames, [row[i] for i in order]) for row in rows]
