"""The OpenAPI description is generated from the code, valid, warning-free, and matches api.md's paths."""

from __future__ import annotations

from io import StringIO
from typing import Any

import yaml
from django.core.management import call_command
from django.test import Client

CONTRACT_PATHS = {
    "/api/v1/requests": {"get", "post"},
    "/api/v1/requests/{request_id}": {"get"},
    "/api/v1/decisions": {"post"},
    "/api/v1/audit/checkpoints/latest": {"get"},
    "/api/v1/audit/checkpoints": {"get"},
    "/api/v1/audit/proofs/inclusion": {"get"},
    "/api/v1/audit/proofs/consistency": {"get"},
    "/api/v1/consents": {"post"},
    "/api/v1/consents/search": {"post"},
    "/api/v1/consents/{consent_id}/givers": {"post"},
    "/api/v1/consents/{consent_id}/withdraw": {"post"},
    "/api/v1/holder/pending": {"get"},
    "/api/v1/holder/pending/{item_id}": {"post"},
    "/api/v1/holder/preauthorisations": {"get", "post"},
    "/api/v1/holder/preauthorisations/{preauthorisation_id}/withdraw": {"post"},
    "/api/v1/disclosures": {"get", "post"},
}


def test_the_schema_validates_without_warnings(db: Any) -> None:
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = yaml.safe_load(out.getvalue())
    for path, methods in CONTRACT_PATHS.items():
        assert set(schema["paths"][path]) >= methods, path
    create = schema["paths"]["/api/v1/requests"]["post"]
    assert create["security"] == [{"oauth2": ["requests"]}]
    assert {"200", "202", "400", "401", "403", "409", "413", "415", "429"} <= set(create["responses"])
    disclosures = schema["paths"]["/api/v1/disclosures"]
    assert disclosures["post"]["security"] == [{"oauth2": ["provider"]}]  # the holder shares
    assert disclosures["get"]["security"] == [{"oauth2": ["requests"]}]  # the recipient reads
    decide = schema["paths"]["/api/v1/holder/pending/{item_id}"]["post"]
    ref = decide["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "weighing" in schema["components"]["schemas"][ref]["properties"]
    assert "400" in decide["responses"]
    flows = schema["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flows["tokenUrl"] == "/oauth/token/"


def test_docs_are_served_with_local_assets_only(db: Any) -> None:
    client = Client()
    assert client.get("/api/v1/schema/").status_code == 200
    page = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in page
    assert "cdn" not in page.lower() and "https://" not in page.split("<body", 1)[-1].split("</body>")[0].replace(
        "https://github.com", ""
    )
