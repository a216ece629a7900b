"""The privacy officers' console under ``/privacy/``: login and second factor, search, entries, reviews."""

import importlib
import importlib.util

from django.urls import URLPattern, URLResolver, path

from audit.console import views

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.search, name="search"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("login/otp/", views.otp, name="otp"),
    path("login/otp/setup/", views.otp_setup, name="otp-setup"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    path("entries/<int:index>/", views.entry_detail, name="entry"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<int:review_id>/", views.review_decide, name="review-decide"),
]

# --- Other pages of the console (oversight, verification runs, exports), each module with its own
# ``urlpatterns``; they plug in here once they exist.
for _module in ("audit.console.oversight_views", "audit.console.verification_views"):
    if importlib.util.find_spec(_module) is not None:
        urlpatterns += importlib.import_module(_module).urlpatterns
