"""A suspect is never tipped off (issue 9, item 5; scenario 12): the sweep over the demo world.

Every organisation asks about Mark (the suspect in case 0001) for every purpose, through the API as partners do,
each category of the agreement at least once, emergencies included; the holders settle what waits for them. Mark's
portal then shows nothing of it but a count and a date, and no e-mail goes out. Once Veilig Thuis clears the
entries, each e-mail goes out once, and no page of Mark's portal (home, timeline, every entry, consents, in Dutch
and in English) names an organisation outside the justice chain of his case, an emergency, an acute-danger or
victim-support purpose, or anything about Sanne, Daan or Lotte.
"""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.test import Client

from consent.models import DataCategory, Organisation, Person, Purpose
from gateway.models import EntryNotice, HolderEndpoint, InformationRequest, PendingItem
from gateway.notices import reviewing_holders
from portal.notifications import notice_news_due, notify_new_entry
from tests.emergency import WEIGHING
from tests.portal.test_portal import PASSWORD

SANNE, MARK, DAAN, LOTTE = "999990007", "999990019", "999990020", "999990032"
CASE_1 = "CHGK-RR-2026-0001"
# The justice chain of case 0001, the only organisations Mark may see named (an independent list, not the code's).
NAMED = {"veilig-thuis-rr", "politie-rotterdam", "om-rotterdam", "reclassering-rr", "zvh-rr"}
FORBIDDEN_WORDS = (
    "Sanne",
    "Jansen",
    "Daan",
    "Lotte",
    SANNE,
    DAAN,
    LOTTE,
    "Slachtofferhulp",
    "Victim support",
    "slachtoffer",
    "victim",
    "opvang",
    "shelter",
    "Seksueel",
    "Sexual",
    "Noodsituatie",
    "Emergency",
    "nood",
    "acuut",
    "Acute",
    "⚠",
)


def portal_client(username: str, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.post("/portal/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def main_text(response: Any) -> str:
    """The page's main content as text, with the links' targets (a name or a BSN may hide in a URL)."""
    html = response.content.decode()
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    hrefs = " ".join(re.findall(r'href="([^"]*)"', main))
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)) + " " + hrefs


def without_request_ids(text: str) -> str:
    """A request id is random base32 and may spell a name by chance ("req_01m8rchdaanx..."): keep only its prefix."""
    return re.sub(r"\breq_[0-9a-z]{26}\b", "req_", text, flags=re.IGNORECASE)


def ask_everything(partner: Any) -> list[str]:
    """Every organisation asks about Mark: each category at least once, from each of its holders in turn, and for
    four purposes in turn; the victim's side and every Veilig Thuis for every purpose. Emergencies included.
    Returns the ids of the entries made."""
    holders: dict[str, list[str]] = {}
    for endpoint in HolderEndpoint.objects.filter(active=True).prefetch_related("categories"):
        for category in endpoint.categories.all():
            holders.setdefault(category.code, []).append(endpoint.organisation.slug)
    categories = sorted(DataCategory.objects.values_list("code", flat=True))
    chunks = [categories[i : i + 6] for i in range(0, len(categories), 6)]
    purposes = sorted(Purpose.objects.values_list("code", flat=True))
    ids: list[str] = []
    organisations = Organisation.objects.order_by("slug").values_list("slug", "sector__code")
    for turn, (organisation, sector) in enumerate(organisations):
        client = partner(organisation)
        everything = sector in {"victim_support", "shelter", "sexual_violence_centre", "veilig_thuis"}
        count = len(purposes) if everything else max(4, len(chunks))
        for step in range(count):
            purpose = purposes[(turn + step) % len(purposes)]
            asked = chunks[step % len(chunks)]
            body: dict[str, Any] = {
                "subject": {"bsn": MARK},
                "categories": asked,
                "purpose": purpose,
                "providers": {
                    c: holders[c][(turn + step) % len(holders[c])] for c in asked if len(holders.get(c, ())) > 1
                },
            }
            if step % 2 == 0:
                body["case_reference"] = CASE_1
            if purpose == "acute_danger" or step % 3 == 0:
                body["emergency"] = True
                body["justification"] = "Sanne Jansen called: Mark de Vries is outside the shelter tonight."
            response = client.post("/api/v1/requests", body)
            assert response.status_code in (200, 202), response.content
            ids.append(response.json()["id"])
    return ids


def settle_pending(partner: Any) -> None:
    """Each holder approves what waits for it, as Veilig Thuis does in scenario 10."""
    for item in PendingItem.objects.filter(status="pending").select_related("holder"):
        holder = partner(item.holder.slug, "provider")
        response = holder.post(f"/api/v1/holder/pending/{item.id}", {"decision": "approve", "weighing": WEIGHING})
        assert response.status_code in (200, 409, 503), response.content


def mark_pages(client: Client, ids: list[str]) -> dict[str, Any]:
    own = Person.objects.get(bsn=MARK).pk
    pages = {
        "home": client.get("/portal/"),
        "timeline": client.get(f"/portal/person/{own}/"),
        "consents": client.get("/portal/consents/"),
    }
    for request_id in ids:
        pages[request_id] = client.get(f"/portal/person/{own}/entry/{request_id}/")
    return pages


def test_mark_is_never_tipped_off(partner: Any, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ids = ask_everything(partner)
    settle_pending(partner)
    mail.outbox.clear()

    # Before anyone clears them: counted and dated, nothing else; no e-mail.
    assert sum(notify_new_entry(request_id) for request_id in ids) == 0
    assert mail.outbox == []
    assert EntryNotice.objects.filter(request_id__in=ids, news_held=True).count() == len(ids)
    mark = portal_client("mark", "nl")
    pages = mark_pages(mark, ids)
    timeline = main_text(pages["timeline"])
    assert f"{len(ids)} onderdelen" in timeline  # how many
    assert not any(request_id in timeline for request_id in ids)
    assert all(pages[request_id].status_code == 404 for request_id in ids)
    assert notice_news_due() == 0 and mail.outbox == []

    # Veilig Thuis, in the case with him, clears every entry; an entry with police or prosecution data only that
    # holder may clear (its review, issue 11): he sees them, each e-mail goes out once.
    vt = partner("veilig-thuis-rr", "provider")
    for request_id in ids:
        reviewers = sorted(reviewing_holders(InformationRequest.objects.get(pk=request_id)))
        clearer = partner(reviewers[0], "provider") if reviewers else vt
        assert clearer.post(f"/api/v1/holder/notices/{request_id}", {"action": "clear"}).status_code == 200
    assert notice_news_due() == len(ids)
    assert {tuple(m.to) for m in mail.outbox} == {(Person.objects.get(bsn=MARK).portal_account.user.email,)}
    assert notice_news_due() == 0 and len(mail.outbox) == len(ids)
    for message in mail.outbox:
        assert not any(word.lower() in message.body.lower() for word in FORBIDDEN_WORDS)

    forbidden_names = list(Organisation.objects.exclude(slug__in=NAMED).values_list("name", flat=True))
    for language in ("nl", "en"):
        pages = mark_pages(portal_client("mark", language), ids)
        assert all(page.status_code == 200 for page in pages.values())
        assert all(request_id in main_text(pages["timeline"]) for request_id in ids)
        for name, page in pages.items():
            text = without_request_ids(main_text(page)).lower()
            for word in [*FORBIDDEN_WORDS, *forbidden_names]:
                assert word.lower() not in text, f"{word!r} on Mark's {name} page ({language})"
            assert not re.search(r"\b\d{1,2}:\d{2}\b", text), f"a time of day on Mark's {name} page ({language})"
            for bsn in (SANNE, DAAN, LOTTE):
                assert f"/portal/person/{Person.objects.get(bsn=bsn).pk}/" not in text


def test_the_demo_history_tips_mark_off_nowhere(partner: Any, settings: Any) -> None:
    """The history that ``seed_demo`` builds (scenario 10's emergency by victim support among it): nothing before
    Veilig Thuis clears it, nothing of the victim's side after."""
    from demo.history import seed_history

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert seed_history() > 0
    settle_pending(partner)
    ids = list(InformationRequest.objects.filter(subject_bsn=MARK).values_list("id", flat=True))
    assert len(ids) >= 2
    held = [i for i in ids if not EntryNotice.objects.filter(pk=i, cleared_at__isnull=False).exists()]
    assert len(held) == len(ids) - 1  # the police cleared their answer to Veilig Thuis (scenario 12)
    mail.outbox.clear()
    assert sum(notify_new_entry(request_id) for request_id in held) == 0 and mail.outbox == []
    mark = portal_client("mark", "nl")
    timeline = main_text(mark_pages(mark, [])["timeline"])
    assert (f"{len(held)} onderdelen" if len(held) > 1 else "1 onderdeel") in timeline
    vt = partner("veilig-thuis-rr", "provider")
    for request_id in held:
        assert vt.post(f"/api/v1/holder/notices/{request_id}", {"action": "clear"}).status_code == 200
    forbidden_names = list(Organisation.objects.exclude(slug__in=NAMED).values_list("name", flat=True))
    for name, page in mark_pages(mark, ids).items():
        assert page.status_code == 200
        text = without_request_ids(main_text(page)).lower()
        for word in [*FORBIDDEN_WORDS, *forbidden_names]:
            assert word.lower() not in text, f"{word!r} on Mark's {name} page"
