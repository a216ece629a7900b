"""General guards for the admin and the console, so a whole class of leak cannot come back (issue #9, items 6-8):

- every admin page that can write is classified, and no admin form save writes a family fact or an account
  without its ``fact_change`` entry (a tripwire on the models' save and delete signals);
- no address that the console or the admin emits, links to or redirects to contains a BSN of the demo world, no
  form that sends its fields in the address asks for a BSN, and no list of personal data has a search box (whose
  terms would go into the address).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.test import Client, RequestFactory

from audit.admin import FactChangesAdmin
from audit.config_trail import configuration_models
from audit.models import AuditEntry, AuditHead, OfficerProfile
from consent.models import Case, CasePerson, Measure, Person, Relation
from demo.world import PERSONS
from portal.models import PortalAccount
from tests.admin.clients import verified_admin_client
from tests.admin.forms import form_data
from tests.admin.test_views import PERSONAL

#: The facts about families and the accounts that see them: written through audited actions only.
FACT_MODELS: tuple[type[models.Model], ...] = (
    Person,
    Relation,
    Case,
    CasePerson,
    Measure,
    OfficerProfile,
    PortalAccount,
)
#: The admins of those facts (the inlines' models are saved by the parent's admin).
FACT_ADMINS = {"consent.person", "consent.case", "audit.officerprofile", "portal.portalaccount"}
#: Written through actions of their own, with entries of their own kind.
OWN_ACTIONS = {"consent.restriction": "restriction entries (consent.restrictions)"}
#: Writable in the admin and not on the trail: staff accounts and their second factor, and third-party records.
#: Named here so that the list is seen, and so that a new writable admin page cannot join it unnoticed.
NOT_ON_THE_TRAIL = {
    "auth.user": "staff and portal logins; the link to a person is the portal account, which is audited",
    "auth.group": "staff groups",
    "otp_totp.totpdevice": "staff authenticators",
    "oauth2_provider.accesstoken": "tokens, issued with token entries",
    "oauth2_provider.refreshtoken": "unused (client credentials only)",
    "oauth2_provider.grant": "unused (client credentials only)",
    "oauth2_provider.idtoken": "unused (client credentials only)",
    "axes.accesslog": "django-axes' own log of logins",
    "axes.accessattempt": "django-axes' own log of logins",
    "axes.accessfailurelog": "django-axes' own log of logins",
}

BSNS = [person.bsn for person in PERSONS]
URL_IN_PAGE = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.IGNORECASE | re.DOTALL)
METHOD = re.compile(r"""method\s*=\s*["']?(\w+)""", re.IGNORECASE)
INPUT_NAME = re.compile(r"""<(?:input|select|textarea)\b[^>]*\bname\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
CRAWL_CAP = 700


def registered() -> dict[str, type[models.Model]]:
    return {model._meta.label_lower: model for model in admin.site._registry}


def writable(model: type[models.Model], user: User) -> bool:
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = user
    return any(
        (
            model_admin.has_add_permission(request),
            model_admin.has_change_permission(request),
            model_admin.has_delete_permission(request),
        )
    )


# --- Writes --------------------------------------------------------------------------------------------------


def test_every_writable_admin_page_is_on_the_trail_or_named(db: Any) -> None:
    superuser = User.objects.get(username="admin")
    config = {model._meta.label_lower for model, _ in configuration_models()}
    for label, model in registered().items():
        if not writable(model, superuser):
            continue
        if label in FACT_ADMINS:
            assert isinstance(admin.site._registry[model], FactChangesAdmin), label
        else:
            assert label in config | set(OWN_ACTIONS) | set(NOT_ON_THE_TRAIL), f"{label}: how is a change audited?"
    for label in FACT_ADMINS:
        model_admin = admin.site._registry[registered()[label]]
        inline_models = {inline.model for inline in model_admin.inlines}
        assert inline_models <= set(FACT_MODELS), label


@contextmanager
def fact_writes() -> Iterator[list[tuple[str, str]]]:
    """Every save and delete of a fact model (and a change of a case's participants) while the block runs."""
    writes: list[tuple[str, str]] = []

    def saved(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
        writes.append((sender._meta.label_lower, str(instance.pk)))

    def participants(sender: Any, instance: models.Model, action: str, **kwargs: Any) -> None:
        if action.startswith("post_"):
            writes.append((type(instance)._meta.label_lower, str(instance.pk)))

    for model in FACT_MODELS:
        post_save.connect(saved, sender=model, weak=False, dispatch_uid=f"sweep-save-{model._meta.label}")
        post_delete.connect(saved, sender=model, weak=False, dispatch_uid=f"sweep-delete-{model._meta.label}")
    m2m_changed.connect(participants, sender=Case.participants.through, weak=False, dispatch_uid="sweep-m2m")
    try:
        yield writes
    finally:
        for model in FACT_MODELS:
            post_save.disconnect(sender=model, dispatch_uid=f"sweep-save-{model._meta.label}")
            post_delete.disconnect(sender=model, dispatch_uid=f"sweep-delete-{model._meta.label}")
        m2m_changed.disconnect(sender=Case.participants.through, dispatch_uid="sweep-m2m")


@pytest.mark.parametrize("label", sorted(FACT_ADMINS))
def test_no_admin_save_writes_a_fact_without_its_entry(label: str, db: Any) -> None:
    """Post each fact admin's change form for every object of the demo world, once unchanged and once with a field
    changed: every row the database sees written has a ``fact_change`` entry naming it, from the same request."""
    client = verified_admin_client(User.objects.get(username="admin"))
    model = registered()[label]
    meta = model._meta
    for obj in model._default_manager.order_by("pk")[:6]:
        url = f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/change/"
        for changes in ({}, _one_change(model)):
            data = form_data(client, url, **changes)
            start = AuditHead.objects.get(pk=1).size
            with fact_writes() as writes:
                response = client.post(url, data)
            assert response.status_code == 302, (url, response.context and response.context.get("errors"))
            recorded = {
                (e.detail["model"], e.detail["key"])
                for e in AuditEntry.objects.filter(index__gte=start, kind="fact_change")
            }
            assert set(writes) <= recorded, (url, changes, set(writes) - recorded)


def _one_change(model: type[models.Model]) -> dict[str, str]:
    return {
        Person: {"able_to_judge": ""},
        Case: {"phase": "monitoring"},
        OfficerProfile: {"public_key": "not a key, but a change"},
        PortalAccount: {"email_notifications": ""},
    }[model]


# --- No BSN in an address ------------------------------------------------------------------------------------


def urls_in(response: Any) -> list[str]:
    found = [response["Location"]] if response.has_header("Location") else []
    if response.get("Content-Type", "").startswith("text/html"):
        found += [unescape(url) for url in URL_IN_PAGE.findall(response.content.decode())]
    return found


def bsn_in(url: str) -> str | None:
    plain = unquote(unquote(url))
    return next((bsn for bsn in BSNS if bsn in plain), None)


def forms_in(response: Any) -> list[tuple[str, str, list[str]]]:
    """(method, action, input names) of each form on the page."""
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    forms = []
    for attributes, body in FORM.findall(response.content.decode()):
        method = METHOD.search(attributes)
        action = URL_IN_PAGE.search(attributes)
        forms.append(
            (
                (method.group(1) if method else "get").lower(),
                unescape(action.group(1)) if action else "",
                INPUT_NAME.findall(body),
            )
        )
    return forms


@pytest.fixture
def trail(partner: Any) -> list[int]:
    """Requests about several persons, a pending item, an emergency access and a dry run."""
    vt, police = partner("veilig-thuis-rr"), partner("politie-rotterdam")
    responses = [
        vt.ask(
            subject={"bsn": "999990019"},
            categories=["police_incidents"],
            purpose="vt_safety_assessment",
            case_reference="CHGK-RR-2026-0001",
        ),
        vt.ask(
            subject={"bsn": "999990032"},
            categories=["school_attendance"],
            purpose="vt_safety_assessment",
            providers={"school_attendance": "school-regenboog"},
        ),
        police.ask(
            subject={"bsn": "999990007"},
            categories=["address"],
            purpose="zvh_case_meeting",
            case_reference="CHGK-RR-2026-0001",
        ),
        partner("slachtofferhulp").ask(
            subject={"bsn": "999990019"},
            categories=["risk_assessment"],
            purpose="acute_danger",
            emergency=True,
            justification="Seen outside the shelter; act now.",
        ),
        vt.post(
            "/api/v1/decisions",
            {"subject": {"bsn": "999990044"}, "categories": ["address"], "purpose": "vt_safety_assessment"},
        ),
    ]
    for response in responses:
        assert response.status_code in (200, 202), response.content
    return [int(response.json()["audit"]["index"]) for response in responses]


def crawl(client: Client, starts: list[str], prefixes: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """Visit the start pages and the pages they link to under ``prefixes`` (two steps deep, at most
    :data:`CRAWL_CAP` pages). Returns the responses by address and every address seen."""
    seen: dict[str, Any] = {}
    addresses: list[str] = []
    frontier = list(dict.fromkeys(starts))
    for _ in range(3):
        following: list[str] = []
        for url in frontier:
            if url in seen or len(seen) >= CRAWL_CAP:
                continue
            response = client.get(url)
            seen[url] = response
            for found in urls_in(response):
                addresses.append(found)
                target = urljoin(url, found)
                parts = urlsplit(target)
                if (
                    parts.netloc in ("", "testserver")
                    and parts.path.startswith(prefixes)
                    and "logout" not in parts.path
                ):
                    following.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        frontier = following
    return seen, addresses


def test_no_console_or_admin_address_holds_a_bsn(settings: Any, trail: list[int]) -> None:
    settings.GATEWAY_CONSOLE_REQUIRE_2FA = True
    officer = verified_admin_client(User.objects.get(username="privacy"))
    administrator = verified_admin_client(User.objects.get(username="admin"))
    console_starts = ["/privacy/", "/privacy/oversight/", "/privacy/reviews/", "/privacy/verification/"]
    console_starts += [f"/privacy/entries/{index}/" for index in trail]
    pages, addresses = crawl(officer, console_starts, ("/privacy/",))
    admin_pages, admin_addresses = crawl(administrator, ["/admin/"], ("/admin/",))
    assert len(admin_pages) > 150 and len(pages) > 10  # a walk through the sites, not a sample
    pages.update(admin_pages)
    addresses += admin_addresses

    # every form that takes a BSN is posted, and what it answers and links to carries no BSN either
    for url, response in list(pages.items()):
        client = officer if url.startswith("/privacy/") else administrator
        for method, action, names in forms_in(response):
            if "bsn" not in names:
                continue
            assert method == "post", f"{url}: a form that asks for a BSN sends it in the address"
            target = urljoin(url, action) if action else url
            for bsn in ("999990019", "999990007"):
                answer = client.post(target, {"bsn": bsn})
                addresses += urls_in(answer)
                if answer.has_header("Location"):
                    addresses += urls_in(client.get(answer["Location"]))

    leaks = sorted({url for url in addresses if bsn_in(url)})
    assert leaks == [], leaks
    assert not [url for url in pages if bsn_in(url)]

    # no list of personal data has a search box: its terms (a name, a BSN) would go into the address
    for label in PERSONAL:
        app, model = label.split(".")
        listing = pages.get(f"/admin/{app}/{model}/") or administrator.get(f"/admin/{app}/{model}/")
        for method, _, names in forms_in(listing):
            assert not (method == "get" and "q" in names), f"{label}: a search box puts its terms in the address"
