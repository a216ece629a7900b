"""The page a locked-out login sees (django-axes): the family portal's in Dutch and English, the console's for
officers, both with status 429 and how long to wait."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    template = "console/locked.html" if request.path.startswith("/privacy/") else "portal/locked.html"
    return render(request, template, status=429)
