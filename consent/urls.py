"""Routes of the consent part of the partner API (mounted under /api/v1/ by gateway/urls.py)."""

from django.urls import URLPattern, path

from consent import api

urlpatterns: list[URLPattern] = [
    path("consents", api.ConsentRecordView.as_view(), name="consents"),
    path("consents/search", api.ConsentSearchView.as_view(), name="consents-search"),
    path("consents/<int:consent_id>/givers", api.ConsentGiversView.as_view(), name="consent-givers"),
    path("consents/<int:consent_id>/withdraw", api.ConsentWithdrawView.as_view(), name="consent-withdraw"),
]
