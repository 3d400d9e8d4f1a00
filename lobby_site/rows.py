"""New rows and the parameters of hand-written SQL, prepared as the ORM would prepare a save.

Both stores write with SQL built once (game/store.py: a move's one statement; rooms/store.py:
seating): building the ORM's queries cost the ORM thread more than the database took to run
them (bench/README.md). Here is the one place a model instance becomes an INSERT's columns and
parameters, and a value its column's parameter. Used by both apps, so it belongs to neither.
"""

from __future__ import annotations

import functools
from datetime import datetime

import orjson
from django.db import connection
from django.db.models import JSONField, Model
from django.utils import timezone
from psycopg.types.json import Jsonb

# A new row: its model, its quoted columns and their parameters.
NewRow = tuple[type[Model], tuple[str, ...], list]

def new_row(row: Model) -> NewRow:
    """Return the columns and parameters of a new model instance: every concrete field but the id.

    As a save would: an `auto_now`/`auto_now_add` moment left empty is stamped now (one the
    caller set is kept: a change stamps all it writes with one moment), and an empty field that
    may not be NULL takes its default.
    """
    fields, columns = _new_columns(type(row))
    values = []
    for model_field in fields:
        value = getattr(row, model_field.attname)
        if value is None and (getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False)):
            value = timezone.now()
            setattr(row, model_field.attname, value)
        elif value is None and not model_field.null:
            value = model_field.get_default()
        values.append(prepared(model_field, value))
    return type(row), columns, values


@functools.cache
def _new_columns(model: type[Model]) -> tuple[tuple, tuple[str, ...]]:
    """A model's concrete fields but the id, and their quoted columns (quoted once, not on every move)."""
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    return fields, tuple(connection.ops.quote_name(f.column) for f in fields)


@functools.cache
def insert_sql(model: type[Model], columns: tuple[str, ...], *, returning_id: bool = False) -> str:
    """Build once the INSERT of one row of `model` into `columns` (params: their values)."""
    sql = (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    return sql + f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}" if returning_id else sql


def prepared(model_field, value):
    """Return a column's parameter, as `get_db_prep_save` would.

    JSON columns are encoded with orjson instead of the json module: the game row's state and
    seats, and the log row's events, are encoded on every move, and that was a tenth of the
    process's time (bench/README.md). Reads decode with orjson too (game/store.py
    `_game_from_row`). Plain numbers and strings go as they are, and a moment is converted
    once (the same `now` stamps the game row, its log row and the room): the field methods
    cost more than the rest of building a move's parameters.
    """
    if value is None:
        return None
    if isinstance(model_field, JSONField):
        return json_param(json_bytes(value))
    if type(value) in (int, str):
        return value
    if isinstance(value, datetime):
        return datetime_param(connection.vendor, value)
    return model_field.get_db_prep_save(value, connection)


@functools.lru_cache(maxsize=8)
def datetime_param(vendor: str, moment: datetime):
    """Return a DateTimeField's parameter for `moment`, an aware datetime, on this database kind.

    What `get_db_prep_save` returns for an aware moment (a naive one is a bug here: USE_TZ is on).
    """
    return connection.ops.adapt_datetimefield_value(moment)


def json_param(data: bytes):
    """Return JSON already encoded as a column's parameter."""
    if connection.vendor == "postgresql":
        return Jsonb(data, dumps=_as_is)
    return data.decode()


def _as_is(data: bytes) -> bytes:
    return data


def json_bytes(value) -> bytes:
    # Non-string keys as the json module writes them (a dict keyed by seat numbers).
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
