"""The policy catalogue as reviewable data: ``policy/catalogue.yaml``, loaded, compared and imported.

The catalogue (sectors, organisations, data categories with their fields, purposes, the legal-basis catalogue and
the sharing rules) is a versioned YAML file that a privacy lawyer can read, with a JSON Schema
(``policy/catalogue.schema.json``). Three jobs live here:

- :func:`catalogue_load` / :func:`catalogue_parse`: read the WHOLE file and check it before anything is written:
  the schema first, then the cross-references (unknown sector, category, purpose or basis codes, duplicate codes
  or fields, ...). Every problem names its place in the file (``rules[3] (wpg20-police-to-vt).legal_basis``) and
  all problems are raised together as one :class:`CatalogueError`.
- :func:`permission_diff`: for every (requester sector or organisation, holder sector or organisation, category,
  purpose) that a rule of the old or the new catalogue covers, whether it is denied, allowed or conditional and
  on what; the changes are sorted widenings first, so that a reviewer sees every widening before it lands.
- :func:`policy_import`: write a catalogue into the database through ``save()`` inside one transaction, so that
  every change is a django-auditlog entry anchored as a ``config`` entry (:mod:`audit.config_trail`), changed
  rules get the next version (as :func:`consent.services.sharing_rule_save` gives them in the admin), and one
  ``policy_change`` entry records the catalogue version, the file's SHA-256 and the permission diff (codes only).

What an import never deletes: a rule or an organisation missing from the file is *deactivated* (past decisions
cite them, requests and consents point at organisations). Sectors, categories, purposes and legal bases cannot
be removed by an import (rules, consents and restrictions point at them): a file that drops one is refused. A
field dropped from a category is deleted: it is no longer released (the trail keeps the deletion).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from django.db import models, transaction

from audit.choices import AuditKind
from audit.config_trail import config_actor
from audit.ledger import Actor, EntryDraft, audit_append
from consent.choices import BasisKind
from consent.models import (
    CategoryField,
    DataCategory,
    LegalBasis,
    Organisation,
    Purpose,
    Sector,
    SharingRule,
)
from consent.policy import CRIMINAL_SENSITIVITIES, NO_CRIMINAL_DATA_SECTORS, SPECIAL_SENSITIVITIES
from consent.selectors import policy_current
from consent.services import sharing_rule_save

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
CATALOGUE_FILE = POLICY_DIR / "catalogue.yaml"
SCHEMA_FILE = POLICY_DIR / "catalogue.schema.json"

RULE_VALID_FROM = dt.date(2025, 1, 1)  # SharingRule.valid_from's default: a file may leave it out
REPORTER_IDENTITY = "reporter_identity"  # the sensitivity that only Veilig Thuis may receive (Wmo 2015 art. 5.2.6)


class CatalogueError(ValueError):
    """The catalogue cannot be loaded or imported; ``problems`` names each one with its place in the file."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


# --- The catalogue as values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SectorSpec:
    """A sector of the network; ``may_record_consent`` grants its clients the ``consents`` scope.

    ``special_data_exception`` and ``criminal_data_exception``: the article that lets the sector RECEIVE
    special-category or criminal data ("" for none); ``consent_regime``: the consent regime of the data it HOLDS
    (``None``: the category's); ``consent_possible``: consent can be a basis for its data (not police, OM).
    """

    code: str
    name_nl: str
    name_en: str
    may_record_consent: bool = False
    special_data_exception: str = ""
    criminal_data_exception: str = ""
    consent_regime: str | None = None
    consent_possible: bool = True


@dataclass(frozen=True)
class OrganisationSpec:
    """A partner organisation, with the data-protection regime it works under (avg, wpg, wjsg)."""

    slug: str
    name: str
    sector: str
    regime: str
    professional_secrecy: bool = False
    active: bool = True


@dataclass(frozen=True)
class FieldSpec:
    """One field of a category; only listed fields ever leave the gateway."""

    name: str
    type: str
    description: str = ""
    reveals_whereabouts: bool = False


@dataclass(frozen=True)
class CategorySpec:
    """A data category that is decided and released as a whole."""

    code: str
    name_nl: str
    name_en: str
    description: str
    sensitivity: str
    regime: str
    fields: tuple[FieldSpec, ...]
    consent_regime: str = "avg"


@dataclass(frozen=True)
class PurposeSpec:
    """A purpose a partner may ask for (doelbinding)."""

    code: str
    name_nl: str
    name_en: str
    description: str = ""


BASIS_FLAGS = (
    "requires_consent",
    "requires_explicit_consent",
    "holder_decides",
    "justification_required",
    "emergency_only",
    "needs_confirmation",
    "weighing_required",
)
RULE_CONDITIONS = (
    "requires_case_participation",
    "requires_supervision_order",
    "supervision_order_covers_parents",
    "emergency_only",
    "holder_decides",
)


@dataclass(frozen=True)
class LegalBasisSpec:
    """An entry of the legal-basis catalogue, with plain-language explanations for the portal."""

    code: str
    kind: str
    reference: str
    description_nl: str = ""
    description_en: str = ""
    requires_consent: bool = False
    requires_explicit_consent: bool = False
    holder_decides: bool = False
    justification_required: bool = False
    emergency_only: bool = False
    needs_confirmation: bool = False
    weighing_required: bool = False


@dataclass(frozen=True)
class RuleSpec:
    """One rule of the sharing agreement: one provider and one recipient, each a sector or an organisation."""

    code: str
    description: str
    legal_basis: str
    categories: tuple[str, ...]
    purposes: tuple[str, ...]
    provider_sector: str | None = None
    provider_organisation: str | None = None
    recipient_sector: str | None = None
    recipient_organisation: str | None = None
    requires_case_participation: bool = False
    requires_supervision_order: bool = False
    supervision_order_covers_parents: bool = False
    emergency_only: bool = False
    holder_decides: bool = False
    valid_from: dt.date = RULE_VALID_FROM
    valid_until: dt.date | None = None
    covenant_reference: str = ""
    active: bool = True

    @property
    def requester(self) -> str:
        """Who may ask under the rule: ``sector:<code>`` or ``organisation:<slug>``."""
        return _party(self.recipient_sector, self.recipient_organisation)

    @property
    def holder(self) -> str:
        """Who provides under the rule: ``sector:<code>`` or ``organisation:<slug>``."""
        return _party(self.provider_sector, self.provider_organisation)


def _party(sector: str | None, organisation: str | None) -> str:
    return f"sector:{sector}" if sector else f"organisation:{organisation}"


@dataclass(frozen=True)
class Catalogue:
    """A whole catalogue; ``sha256`` is the hash of the file it was read from (empty for the database)."""

    version: str
    sectors: tuple[SectorSpec, ...]
    organisations: tuple[OrganisationSpec, ...]
    categories: tuple[CategorySpec, ...]
    purposes: tuple[PurposeSpec, ...]
    legal_bases: tuple[LegalBasisSpec, ...]
    rules: tuple[RuleSpec, ...]
    sha256: str = ""


# --- Reading and checking a file ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """YAML dates as ISO strings, so that the schema and the checks see one form whether quoted or not."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def _where(data: Any, path: Iterable[Any]) -> str:
    """A place in the file a reader can find: ``rules[3] (wpg20-police-to-vt).categories[1]``."""
    text = ""
    node = data
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, dict):
                key = node.get("code") or node.get("slug") or node.get("name")
                if isinstance(key, str):
                    text += f" ({key})"
        else:
            text += f".{step}" if text else str(step)
            node = node.get(step) if isinstance(node, dict) else None
    return text or "(top level)"


def _schema_problems(data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(_schema())
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.append(f"{_where(data, error.absolute_path)}: {error.message}")
    return problems


def _duplicates(items: Sequence[Mapping[str, Any]], key: str, where: str) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for index, item in enumerate(items):
        value = item[key]
        if value in seen:
            problems.append(f"{where}[{index}] ({value}): duplicate {key}, first at {where}[{seen[value]}]")
        seen.setdefault(value, index)
    return problems


def _date(value: str | None, where: str, problems: list[str]) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date (YYYY-MM-DD)")
        return None


def _reference_problems(data: Mapping[str, Any]) -> list[str]:
    """Cross-references the schema cannot express; ``data`` has passed the schema."""
    problems: list[str] = []
    for section, key in (
        ("sectors", "code"),
        ("organisations", "slug"),
        ("categories", "code"),
        ("purposes", "code"),
        ("legal_bases", "code"),
        ("rules", "code"),
    ):
        problems += _duplicates(data[section], key, section)
    sectors = {s["code"] for s in data["sectors"]}
    org_sector = {o["slug"]: o["sector"] for o in data["organisations"]}
    categories = {c["code"]: c for c in data["categories"]}
    purposes = {p["code"] for p in data["purposes"]}
    bases = {b["code"] for b in data["legal_bases"]}
    for i, org in enumerate(data["organisations"]):
        if org["sector"] not in sectors:
            problems.append(f"organisations[{i}] ({org['slug']}).sector: unknown sector {org['sector']!r}")
    for i, cat in enumerate(data["categories"]):
        problems += _duplicates(cat["fields"], "name", f"categories[{i}] ({cat['code']}).fields")
    sector_rows = {s["code"]: s for s in data["sectors"]}
    basis_rows = {b["code"]: b for b in data["legal_bases"]}
    for i, basis in enumerate(data["legal_bases"]):
        if basis.get("requires_explicit_consent") and not basis.get("requires_consent"):
            problems.append(f"legal_bases[{i}] ({basis['code']}): requires_explicit_consent without requires_consent")
    for i, rule in enumerate(data["rules"]):
        at = f"rules[{i}] ({rule['code']})"
        if rule["legal_basis"] not in bases:
            problems.append(f"{at}.legal_basis: unknown legal basis {rule['legal_basis']!r}")
        for j, code in enumerate(rule["categories"]):
            if code not in categories:
                problems.append(f"{at}.categories[{j}]: unknown category {code!r}")
        for j, code in enumerate(rule["purposes"]):
            if code not in purposes:
                problems.append(f"{at}.purposes[{j}]: unknown purpose {code!r}")
        for side in ("categories", "purposes"):
            if len(set(rule[side])) != len(rule[side]):
                problems.append(f"{at}.{side}: a code is listed twice")
        for side in ("provider", "recipient"):
            party = rule[side]
            if "sector" in party and party["sector"] not in sectors:
                problems.append(f"{at}.{side}.sector: unknown sector {party['sector']!r}")
            if "organisation" in party and party["organisation"] not in org_sector:
                problems.append(f"{at}.{side}.organisation: unknown organisation {party['organisation']!r}")
        start = _date(rule.get("valid_from"), f"{at}.valid_from", problems)
        end = _date(rule.get("valid_until"), f"{at}.valid_until", problems)
        if start is not None and end is not None and end < start:
            problems.append(f"{at}.valid_until: {end} is before valid_from {start}")
        recipient = rule["recipient"]
        recipient_sector = recipient.get("sector") or org_sector.get(recipient.get("organisation", ""))
        for code in rule["categories"]:
            cat = categories.get(code)
            if cat is not None and cat["sensitivity"] == REPORTER_IDENTITY and recipient_sector != "veilig_thuis":
                problems.append(f"{at}.categories: {code} (the reporter's identity) goes only to Veilig Thuis")
        problems += _law_problems(at, rule, categories, sector_rows, org_sector, basis_rows.get(rule["legal_basis"]))
    return problems


def _law_problems(
    at: str,
    rule: Mapping[str, Any],
    categories: Mapping[str, Mapping[str, Any]],
    sectors: Mapping[str, Mapping[str, Any]],
    org_sector: Mapping[str, str],
    basis: Mapping[str, Any] | None,
) -> list[str]:
    """What the statutes refuse whatever the covenant says (issue 11): consent for data of a holder whose data
    allows none (police, Wpg; prosecution, Wjsg), criminal data on a consent that is not explicit (UAVG art. 32),
    criminal data to housing or a school (no exception under UAVG art. 31-33)."""
    if basis is None:
        return []
    problems = []
    holder, recipient = rule["provider"], rule["recipient"]
    holder_sector = holder.get("sector") or org_sector.get(holder.get("organisation", ""))
    recipient_sector = recipient.get("sector") or org_sector.get(recipient.get("organisation", ""))
    on_consent = (
        basis.get("requires_consent")
        or basis.get("requires_explicit_consent")
        or basis["kind"] in (BasisKind.CONSENT, BasisKind.EXPLICIT_CONSENT)
    )
    explicit = basis.get("requires_explicit_consent") or basis["kind"] == BasisKind.EXPLICIT_CONSENT
    if on_consent and not sectors.get(holder_sector or "", {}).get("consent_possible", True):
        problems.append(
            f"{at}.legal_basis: {basis['code']} rests on consent, but the data of sector {holder_sector} allows no "
            "consent basis (consent_possible: false; Wpg, Wjsg)"
        )
    criminal = [c for c in rule["categories"] if categories.get(c, {}).get("sensitivity") in CRIMINAL_SENSITIVITIES]
    if criminal and on_consent and not explicit:
        problems.append(
            f"{at}.legal_basis: {basis['code']} releases criminal data ({', '.join(criminal)}) on a consent that is "
            "not explicit (UAVG art. 32 asks explicit consent)"
        )
    if criminal and recipient_sector in NO_CRIMINAL_DATA_SECTORS:
        problems.append(
            f"{at}.categories: {', '.join(criminal)} (criminal data) never goes to sector {recipient_sector}: it has "
            "no exception to receive it (AVG art. 10, UAVG art. 31-33)"
        )
    return problems


def _build(data: Mapping[str, Any], sha256: str) -> Catalogue:
    def party(rule: Mapping[str, Any], side: str, kind: str) -> str | None:
        value = rule[side].get(kind)
        return str(value) if value is not None else None

    return Catalogue(
        version=data["catalogue_version"],
        sectors=tuple(SectorSpec(**s) for s in data["sectors"]),
        organisations=tuple(OrganisationSpec(**o) for o in data["organisations"]),
        categories=tuple(
            CategorySpec(**{**c, "fields": tuple(FieldSpec(**f) for f in c["fields"])}) for c in data["categories"]
        ),
        purposes=tuple(PurposeSpec(**p) for p in data["purposes"]),
        legal_bases=tuple(LegalBasisSpec(**b) for b in data["legal_bases"]),
        rules=tuple(
            RuleSpec(
                code=r["code"],
                description=r.get("description", ""),
                legal_basis=r["legal_basis"],
                categories=tuple(r["categories"]),
                purposes=tuple(r["purposes"]),
                provider_sector=party(r, "provider", "sector"),
                provider_organisation=party(r, "provider", "organisation"),
                recipient_sector=party(r, "recipient", "sector"),
                recipient_organisation=party(r, "recipient", "organisation"),
                valid_from=dt.date.fromisoformat(r.get("valid_from", RULE_VALID_FROM.isoformat())),
                valid_until=dt.date.fromisoformat(r["valid_until"]) if r.get("valid_until") else None,
                covenant_reference=r.get("covenant", ""),
                active=r.get("active", True),
                **{name: r.get(name, False) for name in RULE_CONDITIONS},
            )
            for r in data["rules"]
        ),
        sha256=sha256,
    )


def catalogue_parse(raw: bytes, *, source: str = "catalogue") -> Catalogue:
    """Check a catalogue file's bytes completely (YAML, schema, cross-references) and return it as values.

    Raises :class:`CatalogueError` with every problem found; nothing is read from or written to the database.
    """
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise CatalogueError([f"{source}: not valid YAML: {exc}"]) from exc
    data = _plain(data)
    problems = _schema_problems(data)
    if problems:
        raise CatalogueError(problems)
    problems = _reference_problems(data)
    if problems:
        raise CatalogueError(problems)
    return _build(data, hashlib.sha256(raw).hexdigest())


def catalogue_load(path: Path | str = CATALOGUE_FILE) -> Catalogue:
    """Read and check the catalogue file at ``path`` (:func:`catalogue_parse`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogueError([f"{path}: cannot be read: {exc.strerror}"]) from exc
    return catalogue_parse(raw, source=str(path))


def catalogue_from_db() -> Catalogue:
    """The catalogue as the database holds it now (the ``OLD`` side of an import's diff)."""
    rules = SharingRule.objects.select_related(
        "legal_basis", "provider_sector", "provider_organisation", "recipient_sector", "recipient_organisation"
    ).prefetch_related("categories", "purposes")

    def code(obj: Any, attr: str) -> str | None:
        return getattr(obj, attr) if obj is not None else None

    return Catalogue(
        version="database",
        sectors=tuple(
            SectorSpec(
                s.code,
                s.name_nl,
                s.name_en,
                s.may_record_consent,
                s.special_data_exception,
                s.criminal_data_exception,
                s.consent_regime or None,
                s.consent_possible,
            )
            for s in Sector.objects.order_by("code")
        ),
        organisations=tuple(
            OrganisationSpec(o.slug, o.name, o.sector.code, o.regime, o.professional_secrecy, o.active)
            for o in Organisation.objects.select_related("sector").order_by("slug")
        ),
        categories=tuple(
            CategorySpec(
                c.code,
                c.name_nl,
                c.name_en,
                c.description,
                c.sensitivity,
                c.regime,
                tuple(
                    FieldSpec(f.name, f.type, f.description, f.reveals_whereabouts)
                    for f in sorted(c.fields.all(), key=lambda f: (f.position, f.name))
                ),
                c.consent_regime,
            )
            for c in DataCategory.objects.prefetch_related("fields").order_by("code")
        ),
        purposes=tuple(
            PurposeSpec(p.code, p.name_nl, p.name_en, p.description) for p in Purpose.objects.order_by("code")
        ),
        legal_bases=tuple(
            LegalBasisSpec(
                b.code,
                b.kind,
                b.reference,
                b.description_nl,
                b.description_en,
                **{flag: getattr(b, flag) for flag in BASIS_FLAGS},
            )
            for b in LegalBasis.objects.order_by("code")
        ),
        rules=tuple(
            RuleSpec(
                code=r.code,
                description=r.description,
                legal_basis=r.legal_basis.code,
                categories=tuple(sorted(c.code for c in r.categories.all())),
                purposes=tuple(sorted(p.code for p in r.purposes.all())),
                provider_sector=code(r.provider_sector, "code"),
                provider_organisation=code(r.provider_organisation, "slug"),
                recipient_sector=code(r.recipient_sector, "code"),
                recipient_organisation=code(r.recipient_organisation, "slug"),
                valid_from=r.valid_from,
                valid_until=r.valid_until,
                covenant_reference=r.covenant_reference,
                active=r.active,
                **{name: getattr(r, name) for name in RULE_CONDITIONS},
            )
            for r in rules.order_by("code")
        ),
    )


# --- The permission diff -----------------------------------------------------------------------------------

Status = Literal["denied", "allowed", "conditional"]
ChangeKind = Literal["widening", "narrowing", "changed"]
KIND_ORDER: dict[str, int] = {"widening": 0, "narrowing": 1, "changed": 2}


@dataclass(frozen=True, order=True)
class Alternative:
    """One way a request can be permitted: under ``rule`` (citing ``basis``), if every condition holds, in the
    rule's period."""

    rule: str
    basis: str
    conditions: tuple[str, ...]
    valid_from: dt.date
    valid_until: dt.date | None

    def covered_by(self, other: Alternative) -> bool:
        """``other`` permits at least whatever this permits: it asks no more (each of its conditions is one of
        these, or one that these imply) and its period is no shorter."""
        return (
            all(
                c in self.conditions or any(s in self.conditions for s in STRICTER.get(c, ())) for c in other.conditions
            )
            and other.valid_from <= self.valid_from
            and (other.valid_until is None or (self.valid_until is not None and self.valid_until <= other.valid_until))
        )

    def text(self) -> str:
        conditions = ", ".join(self.conditions) or "no further conditions"
        period = ""
        if self.valid_from != RULE_VALID_FROM or self.valid_until is not None:
            period = f", {self.valid_from} to {self.valid_until or 'open'}"
        return f"{self.rule} ({self.basis}): {conditions}{period}"


@dataclass(frozen=True)
class Permission:
    """What a catalogue says about one (requester, holder, category, purpose)."""

    alternatives: tuple[Alternative, ...] = ()

    @property
    def status(self) -> Status:
        if not self.alternatives:
            return "denied"
        return "allowed" if any(not a.conditions for a in self.alternatives) else "conditional"

    def text(self) -> str:
        if not self.alternatives:
            return "denied"
        return f"{self.status}: " + " | ".join(a.text() for a in self.alternatives)


# A condition is met whenever a stricter one is: an order on the subject is one on "the subject or a child of it"
# (Jeugdwet art. 7.3.11 lid 4), explicit consent is consent.
STRICTER: dict[str, tuple[str, ...]] = {
    "supervision_order_subject_or_child": ("supervision_order",),
    "consent": ("explicit_consent",),
}


def _conditions(
    rule: RuleSpec,
    basis: LegalBasisSpec | None,
    sensitivity: str = "",
    recipient: SectorSpec | None = None,
    *,
    declared: bool = False,
) -> tuple[str, ...] | None:
    """The conditions a request for a category of ``sensitivity`` must meet under ``rule``, as
    :func:`consent.policy.decide` checks them; ``None`` when the rule can never permit it (the recipient has no
    exception for the data, consent where the holder's data allows none is refused by the checks above).

    ``holder_decides``: the holder decides each request, or a case-level pre-authorisation of the holder does in
    advance; ``weighing``: its approval needs a recorded weighing; ``subject_cannot_consent``: vital interest
    for special-category or criminal data (AVG art. 9(2)(c)).
    """
    b = basis or LegalBasisSpec(rule.legal_basis, "", "")
    emergency = rule.emergency_only or b.emergency_only
    special = sensitivity in SPECIAL_SENSITIVITIES
    criminal = sensitivity in CRIMINAL_SENSITIVITIES
    if recipient is not None:
        if criminal and recipient.code in NO_CRIMINAL_DATA_SECTORS:
            return None
        if (
            declared
            and b.kind != "explicit_consent"
            and (
                (special and not recipient.special_data_exception)
                or (criminal and not recipient.criminal_data_exception)
            )
        ):
            return None
    on_consent = b.requires_consent or b.requires_explicit_consent
    explicit = b.requires_explicit_consent or (criminal and on_consent)
    order = ""
    if rule.requires_supervision_order:
        order = "supervision_order_subject_or_child" if rule.supervision_order_covers_parents else "supervision_order"
    found = [
        ("explicit_consent" if explicit else "consent") if on_consent else "",
        "case_participation" if rule.requires_case_participation else "",
        order,
        "emergency_only" if emergency else "",
        "justification" if (b.justification_required or emergency) else "",
        "subject_cannot_consent" if b.kind == "vital_interest" and (special or criminal) else "",
        "holder_decides" if (rule.holder_decides or b.holder_decides or b.weighing_required) else "",
        "weighing" if b.weighing_required else "",
    ]
    return tuple(c for c in found if c)


Key = tuple[str, str, str, str]  # (requester, holder, category, purpose)


def _recipient_sectors(catalogue: Catalogue) -> dict[str, SectorSpec]:
    """The sector of each party a rule can name (``sector:<code>``, ``organisation:<slug>``)."""
    sectors = {s.code: s for s in catalogue.sectors}
    parties = {f"sector:{code}": spec for code, spec in sectors.items()}
    for org in catalogue.organisations:
        if org.sector in sectors:
            parties[f"organisation:{org.slug}"] = sectors[org.sector]
    return parties


def permissions(catalogue: Catalogue) -> dict[Key, Permission]:
    """Every (requester, holder, category, purpose) an active rule covers, with the ways it is permitted."""
    bases = {b.code: b for b in catalogue.legal_bases}
    sensitivity = {c.code: c.sensitivity for c in catalogue.categories}
    recipients = _recipient_sectors(catalogue)
    # as the decision: a catalogue naming no recipient exception at all keeps only the fixed floor
    declared = any(s.special_data_exception or s.criminal_data_exception for s in catalogue.sectors)
    found: dict[Key, list[Alternative]] = {}
    for rule in catalogue.rules:
        if not rule.active:
            continue
        for category in rule.categories:
            conditions = _conditions(
                rule,
                bases.get(rule.legal_basis),
                sensitivity.get(category, ""),
                recipients.get(rule.requester),
                declared=declared,
            )
            if conditions is None:
                continue
            alternative = Alternative(rule.code, rule.legal_basis, conditions, rule.valid_from, rule.valid_until)
            for purpose in rule.purposes:
                found.setdefault((rule.requester, rule.holder, category, purpose), []).append(alternative)
    return {key: Permission(tuple(sorted(alts))) for key, alts in found.items()}


@dataclass(frozen=True)
class PermissionChange:
    """One (requester, holder, category, purpose) whose permission differs between two catalogues."""

    requester: str
    holder: str
    category: str
    purpose: str
    before: Permission
    after: Permission
    kind: ChangeKind

    def as_detail(self) -> dict[str, str]:
        return {
            "requester": self.requester,
            "holder": self.holder,
            "category": self.category,
            "purpose": self.purpose,
            "before": self.before.text(),
            "after": self.after.text(),
        }


@dataclass(frozen=True)
class CatalogueChange:
    """A change outside the rules that still changes what is shared (a field added, an organisation moved)."""

    kind: ChangeKind
    text: str


def _classify(before: Permission, after: Permission) -> ChangeKind:
    wider = any(not any(a.covered_by(o) for o in before.alternatives) for a in after.alternatives)
    narrower = any(not any(o.covered_by(a) for a in after.alternatives) for o in before.alternatives)
    if wider:
        return "widening"  # also when it narrows elsewhere: a reviewer must see it among the widenings
    return "narrowing" if narrower else "changed"


def _changed_attributes(old: Any, new: Any, skip: Iterable[str] = ()) -> list[str]:
    return [f.name for f in fields(old) if f.name not in set(skip) and getattr(old, f.name) != getattr(new, f.name)]


def _catalogue_changes(old: Catalogue, new: Catalogue) -> list[CatalogueChange]:
    changes: list[CatalogueChange] = []
    add = changes.append
    old_orgs = {o.slug: o for o in old.organisations}
    new_orgs = {o.slug: o for o in new.organisations}
    for slug in sorted(old_orgs.keys() | new_orgs.keys()):
        was, now = old_orgs.get(slug), new_orgs.get(slug)
        if now is None or (was is not None and was.active and not now.active):
            if was is not None and was.active:
                add(CatalogueChange("narrowing", f"organisation {slug} deactivated"))
        elif was is None or (not was.active and now.active):
            add(CatalogueChange("widening", f"organisation {slug} (sector {now.sector}) added or reactivated"))
        elif was.sector != now.sector:
            add(CatalogueChange("widening", f"organisation {slug} moves from sector {was.sector} to {now.sector}"))
        elif names := _changed_attributes(was, now):
            add(CatalogueChange("changed", f"organisation {slug}: {', '.join(names)} changed"))
    old_sectors = {s.code: s for s in old.sectors}
    for sector in new.sectors:
        was_sector = old_sectors.get(sector.code)
        if was_sector is None:
            add(CatalogueChange("changed", f"sector {sector.code} added"))
            continue
        if not was_sector.may_record_consent and sector.may_record_consent:
            add(CatalogueChange("widening", f"sector {sector.code} may now record consents"))
        for name, what in (("special_data_exception", "special-category"), ("criminal_data_exception", "criminal")):
            was_value, now_value = getattr(was_sector, name), getattr(sector, name)
            if was_value == now_value:
                continue
            if not was_value:
                add(CatalogueChange("widening", f"sector {sector.code} may now receive {what} data ({now_value})"))
            elif not now_value:
                add(CatalogueChange("narrowing", f"sector {sector.code} may no longer receive {what} data"))
            else:
                add(CatalogueChange("changed", f"sector {sector.code}: {name} now {now_value}"))
        if not was_sector.consent_possible and sector.consent_possible:
            add(CatalogueChange("widening", f"sector {sector.code}: consent becomes a basis for the data it holds"))
        elif was_sector.consent_possible and not sector.consent_possible:
            add(CatalogueChange("narrowing", f"sector {sector.code}: consent is no longer a basis for its data"))
        handled = {"special_data_exception", "criminal_data_exception", "consent_possible"}
        if sector.may_record_consent:
            handled.add("may_record_consent")
        if names := _changed_attributes(was_sector, sector, skip=handled):
            add(CatalogueChange("changed", f"sector {sector.code}: {', '.join(names)} changed"))
    old_cats = {c.code: c for c in old.categories}
    for cat in new.categories:
        was_cat = old_cats.get(cat.code)
        if was_cat is None:
            add(CatalogueChange("changed", f"category {cat.code} added ({len(cat.fields)} fields)"))
            continue
        before = {f.name: f for f in was_cat.fields}
        after = {f.name: f for f in cat.fields}
        for name in sorted(after.keys() - before.keys()):
            add(CatalogueChange("widening", f"category {cat.code}: field {name} added (released wherever it is)"))
        for name in sorted(before.keys() - after.keys()):
            add(CatalogueChange("narrowing", f"category {cat.code}: field {name} removed"))
        for name in sorted(before.keys() & after.keys()):
            if before[name].reveals_whereabouts and not after[name].reveals_whereabouts:
                add(
                    CatalogueChange(
                        "widening", f"category {cat.code}: field {name} no longer withheld under a shielded address"
                    )
                )
            elif names := _changed_attributes(before[name], after[name]):
                add(CatalogueChange("changed", f"category {cat.code}: field {name}: {', '.join(names)} changed"))
        if names := _changed_attributes(was_cat, cat, skip=("fields",)):
            add(CatalogueChange("changed", f"category {cat.code}: {', '.join(names)} changed"))
        elif [f.name for f in was_cat.fields] != [f.name for f in cat.fields] and before.keys() == after.keys():
            add(CatalogueChange("changed", f"category {cat.code}: order of the fields changed"))
    for label, old_items, new_items in (
        ("purpose", old.purposes, new.purposes),
        ("legal basis", old.legal_bases, new.legal_bases),
    ):
        before_items: dict[str, Any] = {i.code: i for i in old_items}
        for item in new_items:
            was_item = before_items.get(item.code)
            if was_item is None:
                add(CatalogueChange("changed", f"{label} {item.code} added"))
            elif names := _changed_attributes(was_item, item):
                add(CatalogueChange("changed", f"{label} {item.code}: {', '.join(names)} changed"))
    old_rules = {r.code: r for r in old.rules}
    new_rules = {r.code: r for r in new.rules}
    for code in sorted(old_rules.keys() | new_rules.keys()):
        was_rule, now_rule = old_rules.get(code), new_rules.get(code)
        if was_rule is not None and now_rule is not None:
            # what the permissions show already (categories, purposes, conditions) is not repeated here
            names = _changed_attributes(was_rule, now_rule)
            if set(names) & {"description", "covenant_reference"}:
                add(CatalogueChange("changed", f"rule {code}: text changed ({', '.join(names)})"))
    return changes


@dataclass(frozen=True)
class PolicyDiff:
    """The permission diff between two catalogues, widenings first."""

    permissions: tuple[PermissionChange, ...]
    catalogue: tuple[CatalogueChange, ...]

    @property
    def empty(self) -> bool:
        return not self.permissions and not self.catalogue

    def count(self, kind: ChangeKind) -> int:
        """How many permission and catalogue changes are of ``kind``."""
        return sum(c.kind == kind for c in self.permissions) + sum(c.kind == kind for c in self.catalogue)

    @property
    def widenings(self) -> int:
        return self.count("widening")

    def as_detail(self) -> dict[str, Any]:
        """The diff for the ``policy_change`` entry: codes only, never anything about a person."""
        return {
            kind: [c.as_detail() for c in self.permissions if c.kind == kind]
            for kind in ("widening", "narrowing", "changed")
        } | {"catalogue": [{"kind": c.kind, "change": c.text} for c in self.catalogue]}

    def render(self) -> str:
        """The diff as a reviewer reads it: widenings first, each line marked."""
        if self.empty:
            return "No changes: the two catalogues permit exactly the same.\n"
        marks = {"widening": "+ WIDER ", "narrowing": "- NARROWER ", "changed": "~ CHANGED "}
        lines = [
            f"{self.widenings} widening(s), {self.count('narrowing')} narrowing(s), "
            f"{self.count('changed')} other change(s).",
        ]
        for kind in ("widening", "narrowing", "changed"):
            chosen = [c for c in self.permissions if c.kind == kind]
            others = [c for c in self.catalogue if c.kind == kind]
            if not chosen and not others:
                continue
            lines.append("")
            lines.append({"widening": "WIDENINGS", "narrowing": "NARROWINGS", "changed": "OTHER CHANGES"}[kind])
            for change in chosen:
                lines.append(
                    f"{marks[kind]}{change.requester} asks {change.holder} for {change.category} ({change.purpose})"
                )
                lines.append(f"    before: {change.before.text()}")
                lines.append(f"    after:  {change.after.text()}")
            lines.extend(f"{marks[kind]}{c.text}" for c in others)
        return "\n".join(lines) + "\n"


def permission_diff(old: Catalogue, new: Catalogue) -> PolicyDiff:
    """What becomes allowed, denied or conditional from ``old`` to ``new``, widenings first."""
    before, after = permissions(old), permissions(new)
    changes = []
    for key in before.keys() | after.keys():
        was, now = before.get(key, Permission()), after.get(key, Permission())
        if was != now:
            changes.append(PermissionChange(*key, before=was, after=now, kind=_classify(was, now)))
    changes.sort(key=lambda c: (KIND_ORDER[c.kind], c.requester, c.holder, c.category, c.purpose))
    catalogue_changes = sorted(_catalogue_changes(old, new), key=lambda c: (KIND_ORDER[c.kind], c.text))
    return PolicyDiff(tuple(changes), tuple(catalogue_changes))


# --- Import --------------------------------------------------------------------------------------------------

CREATED, UPDATED, UNCHANGED, DEACTIVATED, DELETED = "created", "updated", "unchanged", "deactivated", "deleted"


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do): the diff, per kind of row the counts, the entry."""

    diff: PolicyDiff
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    written: bool = False
    policy_version: int | None = None
    entry_index: int | None = None

    def count(self, kind: str, change: str) -> None:
        self.counts.setdefault(kind, Counter())[change] += 1

    @property
    def changed_rows(self) -> int:
        return sum(n for c in self.counts.values() for change, n in c.items() if change != UNCHANGED)

    def lines(self) -> list[str]:
        return [
            f"{kind}: {sum(c.values())} ("
            + ", ".join(f"{c[change]} {change}" for change in (CREATED, UPDATED, DEACTIVATED, DELETED) if c[change])
            + ")"
            if any(c[change] for change in (CREATED, UPDATED, DEACTIVATED, DELETED))
            else f"{kind}: {sum(c.values())} (unchanged)"
            for kind, c in self.counts.items()
        ]


def _removal_problems(current: Catalogue, new: Catalogue) -> list[str]:
    """Entries an import cannot remove (rules, consents and restrictions point at them): refused, not guessed."""
    problems = []
    for label, old_items, new_items in (
        ("sector", current.sectors, new.sectors),
        ("category", current.categories, new.categories),
        ("purpose", current.purposes, new.purposes),
        ("legal basis", current.legal_bases, new.legal_bases),
    ):
        missing = sorted({i.code for i in old_items} - {i.code for i in new_items})
        problems += [
            f"{label} {code} is in the database but not in the file: an import does not remove a {label} "
            "(rules, consents and past decisions refer to it); keep it in the file"
            for code in missing
        ]
    return problems


def _write(obj: models.Model, values: Mapping[str, Any]) -> str:
    """Set ``values`` on ``obj`` and save through ``save()`` (so django-auditlog sees it) if anything differs."""
    if obj.pk is None:
        for name, value in values.items():
            setattr(obj, name, value)
        obj.full_clean(validate_unique=False, validate_constraints=False)
        obj.save()
        return CREATED
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        return UNCHANGED
    for name in changed:
        setattr(obj, name, values[name])
    obj.full_clean(validate_unique=False, validate_constraints=False)
    obj.save(update_fields=changed)
    return UPDATED


def _values(spec: Any, skip: Iterable[str]) -> dict[str, Any]:
    return {f.name: getattr(spec, f.name) for f in fields(spec) if f.name not in set(skip)}


def _apply(catalogue: Catalogue, result: ImportResult) -> None:
    sectors: dict[str, Sector] = {s.code: s for s in Sector.objects.all()}
    for spec in catalogue.sectors:
        obj = sectors.get(spec.code) or Sector(code=spec.code)
        result.count("sectors", _write(obj, _values(spec, skip=("code",))))
        sectors[spec.code] = obj
    orgs: dict[str, Organisation] = {o.slug: o for o in Organisation.objects.all()}
    for org_spec in catalogue.organisations:
        org = orgs.get(org_spec.slug) or Organisation(slug=org_spec.slug)
        values = _values(org_spec, skip=("slug", "sector")) | {"sector": sectors[org_spec.sector]}
        result.count("organisations", _write(org, values))
        orgs[org_spec.slug] = org
    for slug in sorted(orgs.keys() - {o.slug for o in catalogue.organisations}):
        # requests, consents, cases and past decisions point at it: deactivated, never deleted
        result.count("organisations", DEACTIVATED if _write(orgs[slug], {"active": False}) == UPDATED else UNCHANGED)
    categories: dict[str, DataCategory] = {c.code: c for c in DataCategory.objects.prefetch_related("fields")}
    for cat_spec in catalogue.categories:
        category = categories.get(cat_spec.code) or DataCategory(code=cat_spec.code)
        result.count("categories", _write(category, _values(cat_spec, skip=("code", "fields"))))
        categories[cat_spec.code] = category
        existing = {f.name: f for f in CategoryField.objects.filter(category=category)}
        for position, field_spec in enumerate(cat_spec.fields):
            row = existing.pop(field_spec.name, None) or CategoryField(category=category, name=field_spec.name)
            values = _values(field_spec, skip=("name",)) | {"position": position}
            result.count("category_fields", _write(row, values))
        for row in existing.values():
            row.delete()  # no longer released; django-auditlog records the deletion
            result.count("category_fields", DELETED)
    purposes: dict[str, Purpose] = {p.code: p for p in Purpose.objects.all()}
    for purpose_spec in catalogue.purposes:
        purpose = purposes.get(purpose_spec.code) or Purpose(code=purpose_spec.code)
        result.count("purposes", _write(purpose, _values(purpose_spec, skip=("code",))))
        purposes[purpose_spec.code] = purpose
    bases: dict[str, LegalBasis] = {b.code: b for b in LegalBasis.objects.all()}
    for basis_spec in catalogue.legal_bases:
        basis = bases.get(basis_spec.code) or LegalBasis(code=basis_spec.code)
        result.count("legal_bases", _write(basis, _values(basis_spec, skip=("code",))))
        bases[basis_spec.code] = basis
    rules: dict[str, SharingRule] = {r.code: r for r in SharingRule.objects.prefetch_related("categories", "purposes")}
    for rule_spec in catalogue.rules:
        rule = rules.get(rule_spec.code)
        rule_values: dict[str, Any] = {
            "description": rule_spec.description,
            "legal_basis": bases[rule_spec.legal_basis],
            "provider_sector": sectors[rule_spec.provider_sector] if rule_spec.provider_sector else None,
            "provider_organisation": (
                orgs[rule_spec.provider_organisation] if rule_spec.provider_organisation else None
            ),
            "recipient_sector": sectors[rule_spec.recipient_sector] if rule_spec.recipient_sector else None,
            "recipient_organisation": (
                orgs[rule_spec.recipient_organisation] if rule_spec.recipient_organisation else None
            ),
            "valid_from": rule_spec.valid_from,
            "valid_until": rule_spec.valid_until,
            "covenant_reference": rule_spec.covenant_reference,
            "active": rule_spec.active,
            **{name: getattr(rule_spec, name) for name in RULE_CONDITIONS},
        }
        wanted_categories = {categories[c].pk for c in rule_spec.categories}
        wanted_purposes = {purposes[p].pk for p in rule_spec.purposes}
        if rule is None:
            rule = SharingRule(code=rule_spec.code, **rule_values)
            rule.full_clean(validate_unique=False, validate_constraints=False)
            rule.save()
            change = CREATED
        else:
            changed = [name for name, value in rule_values.items() if getattr(rule, name) != value]
            sets_changed = {c.pk for c in rule.categories.all()} != wanted_categories or {
                p.pk for p in rule.purposes.all()
            } != wanted_purposes
            if not changed and not sets_changed:
                result.count("sharing_rules", UNCHANGED)
                continue
            for name in changed:
                setattr(rule, name, rule_values[name])
            rule.full_clean(validate_unique=False, validate_constraints=False)
            # every decision cites the rule's version: a changed rule is a new version, as in the admin
            sharing_rule_save(rule=rule, changed=True)
            change = UPDATED
        rule.categories.set(sorted(wanted_categories))
        rule.purposes.set(sorted(wanted_purposes))
        result.count("sharing_rules", change)
    for code in sorted(rules.keys() - {r.code for r in catalogue.rules}):
        rule = rules[code]
        if rule.active:
            rule.active = False
            sharing_rule_save(rule=rule, changed=True)
            result.count("sharing_rules", DEACTIVATED)
        else:
            result.count("sharing_rules", UNCHANGED)


def policy_import(*, catalogue: Catalogue, dry_run: bool = False, actor: str = "policy_import") -> ImportResult:
    """Make the database's catalogue ``catalogue``, in one transaction, on the audit trail.

    Refuses (:class:`CatalogueError`, nothing written) a file that would remove what an import may not remove.
    ``dry_run``: only the diff against the database. Otherwise every row is written through ``save()`` under
    ``config_actor(actor)``, so each change is a ``config`` entry, and, if anything changed, one ``policy_change``
    entry records the catalogue version, the file's SHA-256, the policy versions before and after and the diff.
    An import that changes nothing writes nothing.
    """
    current = catalogue_from_db()
    problems = _removal_problems(current, catalogue)
    if problems:
        raise CatalogueError(problems)
    result = ImportResult(diff=permission_diff(current, catalogue))
    if dry_run:
        return result
    with config_actor(actor) as actor_name, transaction.atomic():
        before = policy_current().version if current.rules else None
        _apply(catalogue, result)
        if result.changed_rows == 0:
            return result
        after = policy_current().version
        entry = audit_append(
            EntryDraft(
                kind=AuditKind.POLICY_CHANGE.value,
                actor=Actor(user=actor_name),
                reference=f"catalogue:{catalogue.version}"[:64],
                outcome="imported",
                policy_version=after,
                detail={
                    "catalogue_version": catalogue.version,
                    "file_sha256": catalogue.sha256,
                    "policy_version_before": before,
                    "policy_version_after": after,
                    "counts": {kind: dict(c) for kind, c in result.counts.items()},
                    "diff": result.diff.as_detail(),
                },
            )
        )
        result.written = True
        result.policy_version = after
        result.entry_index = entry.index
    return result
