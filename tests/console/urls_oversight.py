"""A test-only URL map: the gateway's URLs (the partner API that builds the trail), but under ``/privacy/`` only
the oversight, export and verification pages (namespace ``console``, as in :mod:`audit.console.urls`), for
testing those pages without the rest of the console."""

from django.urls import URLPattern, URLResolver, include, path

from audit.console import oversight_views, verification_views
from gateway.urls import urlpatterns as gateway_urlpatterns

urlpatterns: list[URLPattern | URLResolver] = [
    *(pattern for pattern in gateway_urlpatterns if str(pattern.pattern) != "privacy/"),
    path("privacy/", include((oversight_views.urlpatterns + verification_views.urlpatterns, "console"))),
]
