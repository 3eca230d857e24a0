"""Many values in one query parameter: a JSON array the database reads as rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db.models.expressions import RawSQL


def json_array(connection: Any) -> str | None:
    """A FROM clause reading one JSON array parameter as rows of `item.value`, in order, on
    the databases that can (PostgreSQL, SQLite 3.38+)."""
    if connection.vendor == "postgresql":
        return (
            "jsonb_array_elements_text(%s::jsonb) WITH ORDINALITY AS item(value, n) "
            "WHERE true ORDER BY item.n"
        )
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 38):
        return "json_each(%s) AS item WHERE true ORDER BY item.key"
    return None


def values_of(field: Any, values: Sequence[Any], connection: Any) -> Any:
    """What `field__in=values` compares with: one parameter whatever their number where the
    database reads JSON arrays, else the values themselves."""
    source = json_array(connection)
    if source is None or len(values) < 2:
        return list(values)
    prepared = [str(field.get_db_prep_value(value, connection)) for value in values]
    return RawSQL(
        f"SELECT CAST(item.value AS {field.cast_db_type(connection)}) FROM {source}",
        [json.dumps(prepared)],
    )
