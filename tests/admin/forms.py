"""Submit an admin form as a browser would: the data of the form (and of its inlines) as the page shows it, with
the changes a test asks for."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.test import Client


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return value


def _add(data: dict[str, Any], form: forms.BaseForm) -> None:
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        if isinstance(field.widget, forms.MultiWidget):
            parts = field.widget.decompress(value) if not isinstance(value, list) else value
            for index, part in enumerate(parts):
                if part is not None:
                    data[f"{bound.html_name}_{index}"] = _value(part)
        elif isinstance(field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
        elif value is not None:
            data[bound.html_name] = _value(value)


def form_data(client: Client, url: str, **changes: Any) -> dict[str, Any]:
    """The data the admin page at ``url`` would post unchanged, then ``changes`` (by HTML name) over it."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    data: dict[str, Any] = {}
    _add(data, page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        _add(data, inline.formset.management_form)
        for form in inline.formset.forms:
            _add(data, form)
    data.update(changes)
    return data


def inline_prefix(client: Client, url: str, model: str) -> str:
    """The prefix of an inline on the page at ``url`` (``persons`` for the case's roles, ...)."""
    page = client.get(url)
    for inline in page.context["inline_admin_formsets"]:
        if inline.formset.model._meta.model_name == model:
            return str(inline.formset.prefix)
    raise AssertionError(f"no inline of {model} on {url}")
