"""Write the demo world (:mod:`demo.world`) into the database, idempotently.

The policy catalogue is loaded from ``policy/catalogue.yaml`` through the same import a deployment uses
(:func:`consent.catalogue.policy_import`); everything else is demo data from :mod:`demo.world`. Every row is found
by its natural key (slug, code, BSN, reference, ...) and written only when it differs, so a second run changes
nothing. Things the live system owns once they exist are created once and then left alone:
OAuth client secrets (hashed on save), user passwords, a consent's status (withdrawal works for the future
only) and whether a restriction is still active. Consents are recorded and confirmed through the consent actions,
which write their audit entries; no other audit entries and no information requests are written here: the demo
history is made afterwards through the live request path (``seed_demo``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models, transaction

from consent.catalogue import policy_import
from consent.models import (
    Case,
    CasePerson,
    Consent,
    DataCategory,
    Measure,
    Organisation,
    Person,
    Purpose,
    Relation,
    Restriction,
    Sector,
)
from demo import world
from gateway.models import Application, BuiltinRecord, HolderEndpoint

M = TypeVar("M", bound=models.Model)

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class Writer(Protocol):
    """Where progress lines go: a text stream or a management command's ``self.stdout``."""

    def write(self, text: str, /) -> Any: ...


class _Tally:
    """Counts per kind of row what the seed ensured, and how many it created or updated."""

    def __init__(self) -> None:
        self.by_kind: dict[str, Counter[str]] = {}

    def add(self, kind: str, change: str) -> None:
        self.by_kind.setdefault(kind, Counter())[change] += 1

    def totals(self) -> dict[str, int]:
        return {kind: sum(counter.values()) for kind, counter in self.by_kind.items()}

    def lines(self) -> list[str]:
        return [
            f"{kind}: {sum(c.values())} ({c[CREATED]} created, {c[UPDATED]} updated)"
            for kind, c in self.by_kind.items()
        ]


def _upsert(model: type[M], lookup: Mapping[str, Any], values: Mapping[str, Any]) -> tuple[M, str]:
    """Find the row by its natural key; create it, or write only the fields whose value differs."""
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean(validate_unique=False, validate_constraints=False)
        obj.save()
        return obj, CREATED
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        return obj, UNCHANGED
    for name in changed:
        setattr(obj, name, values[name])
    obj.full_clean(validate_unique=False, validate_constraints=False)
    obj.save(update_fields=changed)
    return obj, UPDATED


def _set_m2m(manager: Any, targets: Iterable[models.Model]) -> bool:
    """Make a many-to-many relation exactly ``targets``; True when it had to change."""
    wanted = {t.pk for t in targets}
    current = set(manager.values_list("pk", flat=True))
    if wanted == current:
        return False
    manager.set(list(wanted))
    return True


def _json(data: Any) -> Any:
    """The value as it comes back from a JSONField, so that comparing with the stored value is exact."""
    return json.loads(json.dumps(data))


def _policy(tally: _Tally) -> dict[str, Any]:
    """The policy catalogue (``policy/catalogue.yaml``), through the import a deployment uses
    (:func:`consent.catalogue.policy_import`): on the trail, with its ``policy_change`` entry when it changes."""
    result = policy_import(catalogue=world.CATALOGUE)
    for kind, counter in result.counts.items():
        tally.by_kind.setdefault(kind, Counter()).update(counter)
    return {
        "sectors": {s.code: s for s in Sector.objects.all()},
        "orgs": {o.slug: o for o in Organisation.objects.filter(slug__in=[o.slug for o in world.ORGANISATIONS])},
        "categories": {c.code: c for c in DataCategory.objects.all()},
        "purposes": {p.code: p for p in Purpose.objects.all()},
    }


def _clients(orgs: Mapping[str, Organisation], tally: _Tally) -> None:
    """One OAuth client per organisation; the secret is hashed on save, so an existing one is left as is."""
    for slug, org in orgs.items():
        if Application.objects.filter(client_id=slug).exists():
            tally.add("oauth_clients", UNCHANGED)
            continue
        Application.objects.create(
            client_id=slug,
            client_secret=f"demo-secret-{slug}",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            name=org.name,
            hash_client_secret=True,
            organisation=org,
        )
        tally.add("oauth_clients", CREATED)


def _holders(orgs: Mapping[str, Organisation], categories: Mapping[str, DataCategory], tally: _Tally) -> None:
    """One holder endpoint per holding organisation and the synthetic records it serves."""
    for holding in world.HOLDINGS:
        endpoint, change = _upsert(
            HolderEndpoint,
            {"organisation": orgs[holding.organisation], "kind": holding.kind},
            {"url": "", "credential_env": "", "active": True},
        )
        if _set_m2m(endpoint.categories, [categories[c] for c in holding.categories]) and change == UNCHANGED:
            change = UPDATED
        tally.add("holder_endpoints", change)
    for record in world.BUILTIN_RECORDS:
        _, change = _upsert(
            BuiltinRecord,
            {"organisation": orgs[record.holder], "category": categories[record.category], "bsn": record.bsn},
            {"data": _json(record.data)},
        )
        tally.add("builtin_records", change)


def _families(policy: Mapping[str, Any], tally: _Tally) -> None:
    """Persons, relations, cases with participants and roles, measures and restrictions."""
    orgs: Mapping[str, Organisation] = policy["orgs"]
    sectors: Mapping[str, Sector] = policy["sectors"]
    categories: Mapping[str, DataCategory] = policy["categories"]
    persons: dict[str, Person] = {}
    for person in world.PERSONS:
        persons[person.bsn], change = _upsert(
            Person,
            {"bsn": person.bsn},
            {
                "given_name": person.given_name,
                "family_name": person.family_name,
                "date_of_birth": person.date_of_birth,
                "able_to_judge": person.able_to_judge,
            },
        )
        tally.add("persons", change)
    for rel in world.RELATIONS:
        _, change = _upsert(
            Relation,
            {"person": persons[rel.person], "other": persons[rel.other], "kind": rel.kind},
            {"valid_from": rel.valid_from, "valid_until": rel.valid_until},
        )
        tally.add("relations", change)
    cases: dict[str, Case] = {}
    for case_spec in world.CASES:
        case, change = _upsert(
            Case,
            {"reference": case_spec.reference},
            {
                "type": case_spec.type,
                "phase": case_spec.phase,
                "lead_organisation": orgs[case_spec.lead_organisation],
                "case_director": case_spec.case_director,
                "opened_on": case_spec.opened_on,
            },
        )
        if _set_m2m(case.participants, [orgs[o] for o in case_spec.participants]) and change == UNCHANGED:
            change = UPDATED
        cases[case_spec.reference] = case
        tally.add("cases", change)
        for bsn, role in case_spec.persons:
            _, change = _upsert(CasePerson, {"case": case, "person": persons[bsn], "role": role}, {})
            tally.add("case_persons", change)
    for measure in world.MEASURES:
        _, change = _upsert(
            Measure,
            {
                "person": persons[measure.person],
                "kind": measure.kind,
                "organisation": orgs[measure.organisation],
            },
            {
                "case": cases[measure.case] if measure.case else None,
                "valid_from": measure.valid_from,
                "valid_until": measure.valid_until,
            },
        )
        tally.add("measures", change)
    for restriction_spec in world.RESTRICTIONS:
        restriction = Restriction.objects.filter(
            person=persons[restriction_spec.person],
            kind=restriction_spec.kind,
            set_by=orgs[restriction_spec.set_by],
        ).first()
        if restriction is None:
            restriction, change = _upsert(
                Restriction,
                {
                    "person": persons[restriction_spec.person],
                    "kind": restriction_spec.kind,
                    "set_by": orgs[restriction_spec.set_by],
                },
                {
                    "reason": restriction_spec.reason,
                    "legal_ground": restriction_spec.legal_ground,
                    "review_date": restriction_spec.review_date,
                    "set_at": restriction_spec.set_at,
                },
            )
        else:
            # Whether it is still active (and when it was set) belongs to the privacy officer once it exists.
            _, change = _upsert(
                Restriction,
                {"pk": restriction.pk},
                {
                    "reason": restriction_spec.reason,
                    "legal_ground": restriction_spec.legal_ground,
                    "review_date": restriction_spec.review_date,
                },
            )
        sets_changed = [
            _set_m2m(restriction.categories, [categories[c] for c in restriction_spec.categories]),
            _set_m2m(restriction.allowed_organisations, [orgs[o] for o in restriction_spec.allowed_organisations]),
            _set_m2m(restriction.allowed_sectors, [sectors[s] for s in restriction_spec.allowed_sectors]),
        ]
        if any(sets_changed) and change == UNCHANGED:
            change = UPDATED
        tally.add("restrictions", change)


def _users(tally: _Tally) -> None:
    """Portal users, the privacy officer (group ``privacy_officers``) and the admin; password set once."""
    user_model = get_user_model()
    groups: dict[str, Group] = {}
    for name in {g for u in world.USERS for g in u.groups}:
        groups[name], created = Group.objects.get_or_create(name=name)
        tally.add("groups", CREATED if created else UNCHANGED)
    for user_spec in world.USERS:
        values = {
            "first_name": user_spec.first_name,
            "last_name": user_spec.last_name,
            "email": user_spec.email,
            "is_staff": user_spec.is_staff,
            "is_superuser": user_spec.is_superuser,
            "is_active": True,
        }
        user = user_model._default_manager.filter(username=user_spec.username).first()
        if user is None:
            user = user_model(username=user_spec.username, **values)
            user.set_password(world.DEMO_PASSWORD)
            user.save()
            change = CREATED
        else:
            _, change = _upsert(user_model, {"pk": user.pk}, values)
        if _set_m2m(user.groups, [groups[g] for g in user_spec.groups]) and change == UNCHANGED:
            change = UPDATED
        tally.add("users", change)


def _portal(tally: _Tally) -> None:
    """Portal accounts (login → person) and one open request for consent (Youssef is asked for Adam)."""
    from portal.models import ConsentRequest, PortalAccount

    user_model = get_user_model()
    for username, bsn in world.PORTAL_ACCOUNTS.items():
        _, created = PortalAccount.objects.get_or_create(
            user=user_model._default_manager.get(username=username), person=Person.objects.get(bsn=bsn)
        )
        tally.add("portal_accounts", CREATED if created else UNCHANGED)
    adam = Person.objects.get(bsn="999990081")
    request, created = ConsentRequest.objects.get_or_create(
        subject=adam,
        requested_by=Organisation.objects.get(slug="jeugdhulp-rijnmond"),
        defaults={
            "explanation_nl": "Jeugdhulp Rijnmond wil het schoolverzuim van Adam met de gemeente bespreken om samen "
            "de juiste hulp te regelen. Daarvoor vragen wij uw toestemming.",
            "explanation_en": "Jeugdhulp Rijnmond would like to discuss Adam's school attendance with the "
            "municipality to arrange the right help together. For that we ask your consent.",
            "explicit": False,
            "valid_until": dt.date(2027, 6, 30),
        },
    )
    if created:
        request.purposes.set(Purpose.objects.filter(code="care_coordination"))
        request.categories.set(DataCategory.objects.filter(code="school_attendance"))
        request.recipient_organisations.set(Organisation.objects.filter(slug="gemeente-rotterdam"))
    tally.add("consent_requests", CREATED if created else UNCHANGED)


def _consents(tally: _Tally) -> None:
    """The demo consents, through the actions a partner and the family use (recorded by the organisation with
    standing, then confirmed in the portal), so each has its audit entries. Created once: afterwards its status is
    the live system's (a withdrawal must survive a re-seed)."""
    from consent.consents import GiverInput, consent_confirm, consent_record
    from gateway.api.consent_views import held_categories

    user_model = get_user_model()
    for spec in world.CONSENTS:
        recorder = Organisation.objects.get(slug=spec.recorded_by)
        if Consent.objects.filter(subject_bsn=spec.subject, recorded_by=recorder, evidence=spec.evidence).exists():
            tally.add("consents", UNCHANGED)
            continue
        result = consent_record(
            recorded_by=recorder,
            recorded_by_user=spec.recorded_by_user,
            subject_bsn=spec.subject,
            given_by=[GiverInput(bsn, capacity) for bsn, capacity in spec.givers],
            explicit=spec.explicit,
            purposes=list(spec.purposes),
            recipients=[*spec.recipient_organisations, *(f"sector:{s}" for s in spec.recipient_sectors)],
            categories=list(spec.categories),
            case_reference=spec.case,
            valid_from=spec.valid_from,
            valid_until=spec.valid_until,
            evidence=spec.evidence,
            held_categories=held_categories(recorder),
        )
        for username in spec.confirmed_by:
            account = user_model._default_manager.get(username=username).portal_account
            consent_confirm(consent=result.consent, viewer=account.person, username=username)
        tally.add("consents", CREATED)


def _officers(tally: _Tally) -> None:
    """The console's officers: ``privacy`` for the whole network, ``privacy-vt`` for Veilig Thuis only."""
    from audit.models import OfficerProfile

    user_model = get_user_model()
    scoped = user_model._default_manager.filter(username="privacy-vt").first()
    if scoped is None:
        scoped = user_model(
            username="privacy-vt",
            first_name="Privacy",
            last_name="Veilig Thuis",
            email="privacy-vt@veilig-thuis-rr.demo.invalid",
        )
        scoped.set_password(world.DEMO_PASSWORD)
        scoped.save()
    for username, organisation in (("privacy", None), ("privacy-vt", "veilig-thuis-rr")):
        _, created = OfficerProfile.objects.get_or_create(
            user=user_model._default_manager.get(username=username),
            defaults={"organisation": Organisation.objects.get(slug=organisation) if organisation else None},
        )
        tally.add("officers", CREATED if created else UNCHANGED)


def seed_world(*, stdout: Writer | None = None) -> dict[str, int]:
    """Write the demo world in one transaction and return how many rows of each kind it ensured.

    Safe to run again: the second run finds every row by its natural key and changes nothing.
    """
    world.validate_world()
    tally = _Tally()
    with transaction.atomic():
        policy = _policy(tally)
        _clients(policy["orgs"], tally)
        _holders(policy["orgs"], policy["categories"], tally)
        _families(policy, tally)
        _users(tally)
        _portal(tally)
        _consents(tally)
        _officers(tally)
    if stdout is not None:
        for line in tally.lines():
            stdout.write(line + "\n")
    return tally.totals()
