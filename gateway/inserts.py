"""A row and the rows that belong to it, inserted in one statement (the hot path's request and its decisions).

Django's ORM takes two round trips for ``Model.objects.create`` and ``bulk_create`` of the children, and builds
each statement anew. :func:`insert_together` writes both with one writable CTE on PostgreSQL, with every value
prepared by the model field itself (``get_db_prep_save``, so JSON, dates and defaults are what the ORM would have
written) and the children's generated primary keys set on the instances, as ``bulk_create`` does. The statement's
text depends only on the two models and the number of children, so psycopg prepares it once per shape. Elsewhere
(SQLite) the ORM does it. ``tests/gateway/test_inserts.py`` holds both to the ORM's rows.

Only for models without ``save`` overrides or save signals that matter: it sends no signal, as ``bulk_create`` does
not. The foreign key from the children to the row is checked at commit (Django creates it deferrable, initially
deferred), like every foreign key written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection, models


def _columns(model: type[models.Model], *, with_pk: bool) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]


@cache
def _statement(parent: type[models.Model], child: type[models.Model], count: int) -> str:
    """The statement's text; table and column names come from the models, every value is a parameter."""
    quote = connection.ops.quote_name

    def insert(model: type[models.Model], columns: list[models.Field], rows: int) -> str:
        names = ", ".join(quote(f.column) for f in columns)
        values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * rows)
        return f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES {values}"  # noqa: S608

    parent_sql = insert(parent, _columns(parent, with_pk=True), 1)
    if not count:
        return parent_sql
    child_sql = insert(child, _columns(child, with_pk=False), count)
    return f"WITH parent AS ({parent_sql}) {child_sql} RETURNING {quote(child._meta.pk.column)}"


def _prepared(instance: models.Model, columns: list[models.Field]) -> list[Any]:
    return [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in columns]


def insert_together(parent: models.Model, children: Sequence[models.Model]) -> None:
    """Insert ``parent`` (its primary key set by the caller) and ``children`` (all of one model, with an
    auto-generated primary key and a foreign key to ``parent`` already set) in one statement; the children's primary
    keys are set on them afterwards."""
    child_model = type(children[0]) if children else type(parent)
    if connection.vendor != "postgresql":
        parent.save(force_insert=True)
        if children:
            child_model._default_manager.bulk_create(children)
        return
    params = _prepared(parent, _columns(type(parent), with_pk=True))
    child_columns = _columns(child_model, with_pk=False)
    for child in children:
        params += _prepared(child, child_columns)
    with connection.cursor() as cursor:
        cursor.execute(_statement(type(parent), child_model, len(children)), params)
        keys = [pk for (pk,) in cursor.fetchall()] if children else []
    for instance, pk in zip([parent, *children], [parent.pk, *keys], strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias
