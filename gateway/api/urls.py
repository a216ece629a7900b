"""Every route of the partner edge: OAuth, the partner API v1 with its schema and docs, and the health probes.
The views live next to this file, one module per part of the API (docs/api.md)."""

from django.urls import URLPattern, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from gateway import oauth
from gateway.api import (
    audit_views,
    consent_views,
    disclosure_views,
    holder_views,
    notice_views,
    preauthorisation_views,
    views,
)

urlpatterns: list[URLPattern] = [
    path("oauth/token/", oauth.GatewayTokenView.as_view(), name="oauth-token"),
    path("oauth/introspect/", oauth.OrganisationIntrospectView.as_view(), name="oauth-introspect"),
    # Requests and dry runs (docs/api.md, "Requests")
    path("api/v1/requests", views.InformationRequestListView.as_view(), name="requests"),
    path("api/v1/requests/<str:request_id>", views.InformationRequestDetailView.as_view(), name="request-detail"),
    path("api/v1/decisions", views.DecisionCheckView.as_view(), name="decisions"),
    # Holders: pending items and the hold on informing a suspect
    path("api/v1/holder/pending", holder_views.HolderPendingListView.as_view(), name="holder-pending"),
    path("api/v1/holder/pending/<str:item_id>", holder_views.HolderPendingDecideView.as_view(), name="holder-decide"),
    path("api/v1/holder/notices/<str:request_id>", notice_views.HolderNoticeView.as_view(), name="holder-notice"),
    path(
        "api/v1/holder/preauthorisations",
        preauthorisation_views.PreauthorisationListView.as_view(),
        name="holder-preauthorisations",
    ),
    path(
        "api/v1/holder/preauthorisations/<int:preauthorisation_id>/withdraw",
        preauthorisation_views.PreauthorisationWithdrawView.as_view(),
        name="holder-preauthorisation-withdraw",
    ),
    # Push disclosures: a holder shares on its own initiative; the recipient reads what it received
    path("api/v1/disclosures", disclosure_views.DisclosureView.as_view(), name="disclosures"),
    # Consents
    path("api/v1/consents", consent_views.ConsentRecordView.as_view(), name="consents"),
    path("api/v1/consents/search", consent_views.ConsentSearchView.as_view(), name="consents-search"),
    path("api/v1/consents/<int:consent_id>/givers", consent_views.ConsentGiversView.as_view(), name="consent-givers"),
    path(
        "api/v1/consents/<int:consent_id>/withdraw",
        consent_views.ConsentWithdrawView.as_view(),
        name="consent-withdraw",
    ),
    # The audit trail: checkpoints, proofs and the signing key
    path("api/v1/audit/checkpoints/latest", audit_views.LatestCheckpointView.as_view(), name="audit-checkpoint-latest"),
    path("api/v1/audit/checkpoints", audit_views.CheckpointListView.as_view(), name="audit-checkpoints"),
    path("api/v1/audit/proofs/inclusion", audit_views.InclusionProofView.as_view(), name="audit-inclusion"),
    path("api/v1/audit/proofs/consistency", audit_views.ConsistencyProofView.as_view(), name="audit-consistency"),
    path("api/v1/audit/public-key", audit_views.public_key, name="audit-public-key"),
    # The schema and its readers
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Health probes for the load balancer
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
