"""Scope checks: a valid token without the scope an endpoint needs gets 403 ``insufficient_scope``."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from gateway.api.auth import Caller


class HasScope(BasePermission):
    """The view names its scope in ``required_scope``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        caller = request.auth
        if not isinstance(caller, Caller):
            raise exceptions.NotAuthenticated()
        scope = getattr(view, "required_scope", None)
        if scope is None or scope not in caller.scopes:
            raise exceptions.PermissionDenied(f"This endpoint needs the scope '{scope}'.", code="insufficient_scope")
        return True
