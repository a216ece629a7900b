from django.contrib.auth import views as auth_views
from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("person/<int:person_id>/", views.person_timeline, name="person"),
    path("person/<int:person_id>/entry/<str:entry_id>/", views.entry_detail, name="entry"),
    path("parent-access/", views.parent_access, name="parent-access"),
    path("consents/", views.consents, name="consents"),
    path("consents/<int:consent_id>/confirm/", views.consent_confirm, name="consent-confirm"),
    path("consents/<int:consent_id>/withdraw/", views.consent_withdraw, name="consent-withdraw"),
    path("consent-requests/<int:request_id>/", views.consent_give, name="consent-give"),
]
