"""Routes of the consent part of the partner API (mounted under /api/v1/ by gateway/urls.py)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
