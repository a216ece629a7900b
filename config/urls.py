"""The root URL map: the partner edge (``gateway``), the admin, the family portal and the privacy console."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("gateway.api.urls")),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("privacy/", include("console.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler404 = "gateway.api.problems.handler404"
handler500 = "gateway.api.problems.handler500"
