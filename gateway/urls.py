"""URL map: the OAuth endpoints, the partner API v1 with its schema and docs, health, admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from audit import api as audit_api
from gateway import oauth
from gateway.api import holder_views, notice_views, views

api_v1 = [
    path("api/v1/requests", views.InformationRequestListView.as_view(), name="requests"),
    path(
        "api/v1/requests/<str:request_id>",
        views.InformationRequestDetailView.as_view(),
        name="request-detail",
    ),
    path("api/v1/decisions", views.DecisionCheckView.as_view(), name="decisions"),
    path("api/v1/holder/pending", holder_views.HolderPendingListView.as_view(), name="holder-pending"),
    path("api/v1/holder/pending/<str:item_id>", holder_views.HolderPendingDecideView.as_view(), name="holder-decide"),
    path("api/v1/holder/notices/<str:request_id>", notice_views.HolderNoticeView.as_view(), name="holder-notice"),
    path("api/v1/audit/checkpoints/latest", audit_api.LatestCheckpointView.as_view(), name="audit-checkpoint-latest"),
    path("api/v1/audit/checkpoints", audit_api.CheckpointListView.as_view(), name="audit-checkpoints"),
    path("api/v1/audit/proofs/inclusion", audit_api.InclusionProofView.as_view(), name="audit-inclusion"),
    path("api/v1/audit/proofs/consistency", audit_api.ConsistencyProofView.as_view(), name="audit-consistency"),
    path("api/v1/audit/public-key", audit_api.public_key, name="audit-public-key"),
    path("api/v1/", include("consent.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

urlpatterns = [
    path("oauth/token/", oauth.GatewayTokenView.as_view(), name="oauth-token"),
    path("oauth/introspect/", oauth.OrganisationIntrospectView.as_view(), name="oauth-introspect"),
    *api_v1,
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("privacy/", include("audit.console.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler404 = "gateway.api.problems.handler404"
handler500 = "gateway.api.problems.handler500"
