from django.urls import path

from benchmarks.baseline import views

urlpatterns = [
    path("submissions", views.SubmissionView.as_view(), name="submissions"),
    path("healthz", views.healthz, name="healthz"),
]
