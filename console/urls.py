"""The privacy officers' console under ``/privacy/``: login and second factor, search, entries, reviews,
oversight, exports and verification runs."""

from django.urls import URLPattern, path

from console import oversight_views, urgent_views, verification_views, views

app_name = "console"

urlpatterns: list[URLPattern] = [
    path("", views.search, name="search"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("login/otp/", views.otp, name="otp"),
    path("login/otp/setup/", views.otp_setup, name="otp-setup"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    path("entries/<int:index>/", views.entry_detail, name="entry"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<int:review_id>/", views.review_decide, name="review-decide"),
    path("urgent/", urgent_views.urgent, name="urgent"),
    path("oversight/", oversight_views.oversight, name="oversight"),
    path("export/", oversight_views.export, name="export"),
    path("verification/", verification_views.verification, name="verification"),
    path("verification/start/", verification_views.verification_start, name="verification-start"),
    path("verification/runs/<int:run_id>/", verification_views.verification_run_status, name="verification-run"),
]
