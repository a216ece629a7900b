"""The decision: a pure function of the request, the policy snapshot and the facts about the subject.

Nothing here touches the database, the clock or the network, so every decision can be tested as a table of
cases and replayed from the policy version it cites. Each category is decided on its own
(``shared/spec/domain.md`` and ``api.md``):

0. floors no rule can lower: the reporter's identity goes to Veilig Thuis only (Wmo 2015 art. 5.3.1 lid 4),
   and housing and schools never receive criminal, police or justice data (``no_recipient_authority``);
   then restrictions on the person: a restriction that keeps the category from the requester denies
   it with ``restricted`` when the requester may know of the restriction (it takes part in an active case
   with the person); a requester who may not know gets exactly what an unknown person would get (below);
1. a sharing rule must let the requester receive the category from its holder (else ``no_rule``),
2. for the purpose asked (else ``purpose_not_allowed``),
3. and one such rule's conditions must hold: emergency only, a justification where the basis demands one
   (for a holder's push under a basis that needs a weighing, the justification is the weighing), case
   participation, an active supervision order (on the subject, or where the rule says so on a child of the
   subject: Jeugdwet art. 7.3.11 lid 4), the recipient's own authority to receive special-category or
   criminal data (``no_recipient_authority``: its sector's exception, or explicit consent; AVG art. 9 and 10,
   UAVG art. 30 and 32), vital interest for special-category or criminal data only when the subject cannot
   consent (AVG art. 9(2)(c)), and a consent that covers exactly this (explicit for criminal data, UAVG art.
   32; never a consent for data of a holder whose sector allows none, such as police and prosecution);
4. the category is then permitted, or pending where the holder decides: the rule or basis says so, or the
   basis gives the holder a weighing (``weighing_required``: Wmo 2015 art. 4.1.1 lid 2 sub d/e, Wjsg art.
   39f, Wpg art. 19), or the consent it rests on was recorded by someone else and not yet confirmed by the
   person (the holder's approval is the holder's confirmation). A holder's own push (``pushed``) is its
   judgement and does not wait; a case-level pre-authorisation of the holder that covers the request stands
   in for its judgement and is cited (:attr:`CategoryDecision.preauthorisation`). A pending category of an
   emergency request takes the urgent lane (:attr:`CategoryDecision.urgent`), and every permitted or pending
   category of an emergency request is marked for review (:attr:`CategoryDecision.emergency_access`).

**No oracle.** The facts of a person the gateway does not know are :meth:`SubjectFacts.unknown`: no case
roles, no orders, no restrictions, no pre-authorisations, able to consent (only consents recorded for that
BSN, which the requester's side made). A known person without those gets the very same decision; the facts that
depend on who the person is (orders on their children, whether they can consent, pre-authorisations) are filled
in only when the requester takes part in the active case the request names and the person has a role in it.
A restriction the requester may not know of is *shielded*: the decision shown is the one computed without the
restrictions (what an unknown person gets), marked :attr:`CategoryDecision.shielded` so that the gateway releases
nothing for it, and the audit trail records the truth (``restricted``). A ``shielded_address`` restriction also
covers the fields of other categories that may reveal where the person stays (:attr:`CategoryView.whereabouts`):
a requester who may know gets the category with those fields withheld (:attr:`CategoryDecision.redact`); anyone
else gets the shielded face.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

PERMIT = "permit"
DENY = "deny"
PENDING = "pending"
ERROR = "error"

EMERGENCY_BASIS_KINDS = frozenset({"vital_interest", "secrecy_override"})
SHIELDED_ADDRESS = "shielded_address"
REPORTER_IDENTITY = "reporter_identity"
REPORTER_IDENTITY_SECTORS = frozenset({"veilig_thuis"})
SPECIAL_SENSITIVITIES = frozenset({"special_art9"})
CRIMINAL_SENSITIVITIES = frozenset({"criminal_art10", "police_wpg", "justice_wjsg"})
# Sectors with no exception to receive criminal data whatever a rule or the catalogue says (AVG art. 10, UAVG
# art. 31-33 give housing corporations and schools none).
NO_CRIMINAL_DATA_SECTORS = frozenset({"housing", "education"})
VITAL_INTEREST = "vital_interest"
EXPLICIT_CONSENT = "explicit_consent"

REASON_CODES = (
    "no_rule",
    "purpose_not_allowed",
    "no_consent",
    "consent_withdrawn",
    "consent_expired",
    "consent_incomplete",
    "not_case_participant",
    "condition_not_met",
    "restricted",
    "justification_required",
    "holder_declined",
    "provider_unavailable",
    "no_recipient_authority",
)

NO_RECIPIENT_AUTHORITY_MESSAGE = "The recipient has no legal exception to receive this kind of data."

# --- Policy snapshot --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationView:
    slug: str
    sector: str
    active: bool = True


@dataclass(frozen=True)
class SectorView:
    """What the decision needs of a sector: its own exceptions to RECEIVE special-category and criminal data
    (an article, "" for none), the consent regime of the data it holds (``None``: the category's) and whether
    consent can be a basis for its data at all (not for police, Wpg, and prosecution, Wjsg)."""

    code: str
    special_data_exception: str = ""
    criminal_data_exception: str = ""
    consent_regime: str | None = None
    consent_possible: bool = True


@dataclass(frozen=True)
class CategoryView:
    code: str
    sensitivity: str
    regime: str
    fields: tuple[tuple[str, str], ...]  # (name, type)
    whereabouts: tuple[str, ...] = ()  # fields that may reveal where the person stays (a shelter, an address)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)


@dataclass(frozen=True)
class BasisView:
    code: str
    kind: str
    reference: str
    requires_consent: bool = False
    requires_explicit_consent: bool = False
    holder_decides: bool = False
    justification_required: bool = False
    emergency_only: bool = False
    weighing_required: bool = False


@dataclass(frozen=True)
class RuleView:
    code: str
    version: int
    legal_basis: str
    categories: frozenset[str]
    purposes: frozenset[str]
    provider_sector: str | None = None
    provider_organisation: str | None = None
    recipient_sector: str | None = None
    recipient_organisation: str | None = None
    requires_case_participation: bool = False
    requires_supervision_order: bool = False
    supervision_order_covers_parents: bool = False
    emergency_only: bool = False
    holder_decides: bool = False
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    active: bool = True

    def valid_on(self, day: dt.date) -> bool:
        if not self.active:
            return False
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_until is None or day <= self.valid_until


@dataclass(frozen=True)
class Policy:
    """All policy data a decision needs, frozen at a version (:class:`consent.models.PolicyVersion`).

    ``sectors`` is empty in a snapshot from before the sectors carried their exceptions; such a version, or a
    catalogue that names no exception for any sector (:attr:`recipient_authority_declared`), is decided as it was
    then: only the fixed floor (:data:`NO_CRIMINAL_DATA_SECTORS`) checks the recipient's authority.
    """

    version: int
    organisations: Mapping[str, OrganisationView]
    categories: Mapping[str, CategoryView]
    purposes: frozenset[str]
    bases: Mapping[str, BasisView]
    rules: tuple[RuleView, ...]
    sectors: Mapping[str, SectorView] = field(default_factory=dict)
    # The configuration token the policy was read at (:mod:`consent.configuration`), for caches of other
    # configuration read at the same moment (the holder directory); ``None`` for a past version. Not policy data.
    token: str | None = field(default=None, compare=False)

    def sector_of(self, slug: str | None) -> str | None:
        org = self.organisations.get(slug) if slug else None
        return org.sector if org else None

    def sector_view(self, code: str | None) -> SectorView:
        """The sector's view; a sector the snapshot does not describe has no exceptions and allows consent."""
        if code is None:
            return SectorView("")
        return self.sectors.get(code) or SectorView(code)

    @property
    def recipient_authority_declared(self) -> bool:
        """The catalogue names a recipient exception for some sector, so a sector without one has none."""
        return any(s.special_data_exception or s.criminal_data_exception for s in self.sectors.values())

    @classmethod
    def from_snapshot(cls, version: int, snapshot: Mapping[str, Any], *, token: str | None = None) -> Policy:
        """Build the policy from the JSON snapshot stored with its version."""

        def date(value: str | None) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        return cls(
            version=version,
            token=token,
            organisations={
                o["slug"]: OrganisationView(o["slug"], o["sector"], o["active"]) for o in snapshot["organisations"]
            },
            categories={
                c["code"]: CategoryView(
                    c["code"],
                    c["sensitivity"],
                    c["regime"],
                    tuple((f["name"], f["type"]) for f in c["fields"]),
                    tuple(f["name"] for f in c["fields"] if f.get("whereabouts")),
                )
                for c in snapshot["categories"]
            },
            purposes=frozenset(snapshot["purposes"]),
            bases={
                b["code"]: BasisView(
                    code=b["code"],
                    kind=b["kind"],
                    reference=b["reference"],
                    requires_consent=b["requires_consent"],
                    requires_explicit_consent=b["requires_explicit_consent"],
                    holder_decides=b["holder_decides"],
                    justification_required=b["justification_required"],
                    emergency_only=b["emergency_only"],
                    weighing_required=b.get("weighing_required", False),
                )
                for b in snapshot["legal_bases"]
            },
            rules=tuple(
                RuleView(
                    code=r["code"],
                    version=r["version"],
                    legal_basis=r["legal_basis"],
                    categories=frozenset(r["categories"]),
                    purposes=frozenset(r["purposes"]),
                    provider_sector=r["provider_sector"],
                    provider_organisation=r["provider_organisation"],
                    recipient_sector=r["recipient_sector"],
                    recipient_organisation=r["recipient_organisation"],
                    requires_case_participation=r["requires_case_participation"],
                    requires_supervision_order=r["requires_supervision_order"],
                    supervision_order_covers_parents=r.get("supervision_order_covers_parents", False),
                    emergency_only=r["emergency_only"],
                    holder_decides=r["holder_decides"],
                    valid_from=date(r["valid_from"]),
                    valid_until=date(r["valid_until"]),
                    active=r["active"],
                )
                for r in snapshot["rules"]
            ),
            sectors={
                s["code"]: SectorView(
                    code=s["code"],
                    special_data_exception=s.get("special_data_exception", ""),
                    criminal_data_exception=s.get("criminal_data_exception", ""),
                    consent_regime=s.get("consent_regime"),
                    consent_possible=s.get("consent_possible", True),
                )
                for s in snapshot.get("sectors", ())
            },
        )


# --- Facts about the subject ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentFact:
    """A consent as the decision sees it.

    ``status``: ``active`` (confirmed by the person, or for a child by their legal representatives, and
    sufficient under the age table on every day of its period: it counts for every holder);
    ``awaiting_confirmation`` (recorded by an organisation on the family's word and not yet confirmed: it
    counts only for data the recording organisation holds itself, and for any other holder the category waits
    for that holder, whose approval is its confirmation); ``incomplete`` (it cannot count: the givers do not
    suffice); ``withdrawn``; ``expired``. ``givers_contradicted``: the gateway's own facts (age, custody) show
    that the givers named do not suffice on some day of the period, so it counts for nobody.
    """

    id: int
    status: str
    explicit: bool
    purposes: frozenset[str]
    categories: frozenset[str]
    recipient_organisations: frozenset[str]
    recipient_sectors: frozenset[str]
    case_reference: str | None
    valid_from: dt.date
    valid_until: dt.date | None
    recorded_by: str | None = None
    givers_contradicted: bool = False


@dataclass(frozen=True)
class RestrictionFact:
    id: int
    kind: str
    categories: frozenset[str]
    allowed_organisations: frozenset[str]
    allowed_sectors: frozenset[str]


@dataclass(frozen=True)
class PreauthorisationFact:
    """A holder's case-level pre-authorisation (:class:`consent.models.Preauthorisation`), not withdrawn: the
    recipient (an organisation or a sector) may receive these categories for these purposes in this case, in
    the period, without the holder deciding each request."""

    id: int
    holder: str
    recipient_organisation: str | None
    recipient_sector: str | None
    categories: frozenset[str]
    purposes: frozenset[str]
    case_reference: str
    valid_from: dt.date
    valid_until: dt.date


SupervisionOrders = tuple[tuple[str, dt.date, dt.date | None], ...]  # (executing org, from, until)


@dataclass(frozen=True)
class SubjectFacts:
    """What the gateway knows about the subject that matters for this requester and this request.

    ``in_named_case``: the subject has a role in the case the request names, the case is active and the
    requester takes part in it. ``shares_active_case``: the requester takes part in some active case in which
    the subject has a role, so it may know that a restriction exists. Only when ``in_named_case``:
    ``child_supervision_orders`` (orders on the subject's children), ``can_consent`` (``False`` when the subject
    is under 12 or not able to judge) and ``preauthorisations`` (of the named case); otherwise their defaults,
    so that nothing about who the person is shows.
    """

    in_named_case: bool = False
    shares_active_case: bool = False
    supervision_orders: SupervisionOrders = ()
    consents: tuple[ConsentFact, ...] = ()
    restrictions: tuple[RestrictionFact, ...] = ()
    child_supervision_orders: SupervisionOrders = ()
    can_consent: bool = True
    preauthorisations: tuple[PreauthorisationFact, ...] = ()

    @classmethod
    def unknown(cls, consents: tuple[ConsentFact, ...] = ()) -> SubjectFacts:
        """The facts of a person the gateway does not know: exactly those of a known person with none, but for
        the consents an organisation recorded for that BSN (the requester's side made them, so they tell it
        nothing it could not know)."""
        return cls(consents=consents)


# --- The request and the outcome ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionRequest:
    requester: str
    categories: tuple[str, ...]
    # category -> holding organisation (None: nobody holds it); named "providers" as in the API request body
    providers: Mapping[str, str | None]
    purpose: str
    on: dt.date
    case_reference: str | None = None
    emergency: bool = False
    has_justification: bool = False
    # The holder shares on its own initiative (uit eigen beweging): its push is its judgement.
    pushed: bool = False


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


RESTRICTED = Reason("restricted", "A restriction on the person keeps this category from the requester.")


@dataclass(frozen=True)
class CategoryDecision:
    category: str
    provider: str | None  # the holder; named as in the recorded decision and the API response ("provider")
    outcome: str
    rule: str | None = None
    rule_version: int | None = None
    legal_basis: str | None = None
    consent: int | None = None
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    emergency_access: bool = False
    # A restriction the requester may not know of decided this category. Everything above is what the requester
    # is shown (what an unknown person gets); nothing may be released for it, and the trail records the truth.
    shielded: bool = False
    # Fields withheld at release although the category is permitted (they may reveal where the person stays).
    redact: tuple[str, ...] = ()
    # The holder's pre-authorisation that stood in for its per-request judgement.
    preauthorisation: int | None = None
    # Pending for an emergency request: the urgent lane (the holder and the console see it first).
    urgent: bool = False

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    @property
    def releases(self) -> bool:
        """Whether data may leave for this category now (a shielded face never releases)."""
        return self.outcome == PERMIT and not self.shielded

    def as_recorded(self) -> CategoryDecision:
        """The decision as the audit trail records it: for a shielded face, the denial it really is."""
        if not self.shielded:
            return self
        return CategoryDecision(
            category=self.category,
            provider=self.provider,
            outcome=DENY,
            reasons=(RESTRICTED,),
            emergency_access=self.emergency_access,
            shielded=True,
        )


# --- The decision -----------------------------------------------------------------------------------------


def _no_rule(request: DecisionRequest, category: str, holder: str | None) -> CategoryDecision:
    named = holder or "any holder"
    return CategoryDecision(
        category=category,
        provider=holder,
        outcome=DENY,
        reasons=(
            Reason(
                "no_rule",
                f"No sharing rule lets {request.requester} receive {category} from {named}.",
            ),
        ),
    )


def _matches(org: str | None, sector: str | None, rule_org: str | None, rule_sector: str | None) -> bool:
    if rule_org is not None:
        return org == rule_org
    return sector is not None and sector == rule_sector


def _consent_check(
    request: DecisionRequest,
    category: str,
    holder: str | None,
    basis: BasisView,
    facts: SubjectFacts,
    requester_sector: str | None,
    explicit_needed: bool,
) -> tuple[int | None, Reason | None, bool]:
    """Find a consent that covers exactly this request: ``(consent, None, needs_holder)``, where
    ``needs_holder`` says that it still waits for confirmation and so the holder decides; else the most telling
    reason why none covers it. ``explicit_needed``: the basis or the data (criminal data, UAVG art. 32) asks for
    explicit consent."""
    in_scope = [
        c
        for c in facts.consents
        if category in c.categories
        and request.purpose in c.purposes
        and (request.requester in c.recipient_organisations or requester_sector in c.recipient_sectors)
        and (c.case_reference is None or c.case_reference == request.case_reference)
        and (c.explicit or not explicit_needed)
    ]
    usable = [
        c
        for c in in_scope
        if c.valid_from <= request.on
        and (c.valid_until is None or request.on <= c.valid_until)
        and not c.givers_contradicted
    ]
    for c in usable:
        if c.status == "active":
            return c.id, None, False
    for c in usable:  # the holder's own record of the consent is the holder's confirmation for its own data
        if c.status == "awaiting_confirmation" and holder is not None and c.recorded_by == holder:
            return c.id, None, False
    for c in usable:
        if c.status == "awaiting_confirmation":
            return c.id, None, True
    statuses = {c.status for c in in_scope}
    if "withdrawn" in statuses:
        return None, Reason("consent_withdrawn", "The consent for this was withdrawn."), False
    if "expired" in statuses or any(c.valid_until is not None and c.valid_until < request.on for c in in_scope):
        return None, Reason("consent_expired", "The consent for this has expired."), False
    if "incomplete" in statuses or any(c.givers_contradicted for c in in_scope):
        return (
            None,
            Reason(
                "consent_incomplete",
                "The consent is incomplete: not everyone whose consent is needed has given it.",
            ),
            False,
        )
    kind = "explicit consent" if explicit_needed else "consent"
    return (
        None,
        Reason("no_consent", f"The legal basis {basis.code} needs {kind} covering {category} for {request.purpose}."),
        False,
    )


@dataclass(frozen=True)
class _Met:
    """A rule whose conditions hold: the consent it rests on, and whether the holder must decide."""

    consent: int | None
    needs_holder: bool


def _order_active(orders: SupervisionOrders, requester: str, on: dt.date) -> bool:
    return any(org == requester and start <= on and (end is None or on <= end) for org, start, end in orders)


def _recipient_authority(
    request: DecisionRequest, view: CategoryView | None, basis: BasisView, policy: Policy, requester_sector: str | None
) -> Reason | None:
    """The recipient's own exception to receive special-category or criminal data (AVG art. 9(2) and 10 with
    UAVG art. 30-33: Veilig Thuis Wmo 2015 art. 5.1.6 lid 2, the municipality Jeugdwet art. 7.4.0, RvdK, GI and
    probation UAVG art. 30, the ZVH the WGS), or explicit consent under a basis of that kind. Only where the
    catalogue declares the exceptions (:attr:`Policy.recipient_authority_declared`)."""
    if view is None or not policy.recipient_authority_declared or basis.kind == EXPLICIT_CONSENT:
        return None
    sector = policy.sector_view(requester_sector)
    if view.sensitivity in SPECIAL_SENSITIVITIES and not sector.special_data_exception:
        return Reason("no_recipient_authority", NO_RECIPIENT_AUTHORITY_MESSAGE)
    if view.sensitivity in CRIMINAL_SENSITIVITIES and not sector.criminal_data_exception:
        return Reason("no_recipient_authority", NO_RECIPIENT_AUTHORITY_MESSAGE)
    return None


def _rule_conditions(
    request: DecisionRequest,
    category: str,
    holder: str | None,
    rule: RuleView,
    basis: BasisView,
    facts: SubjectFacts,
    policy: Policy,
    requester_sector: str | None,
) -> tuple[list[Reason], _Met]:
    reasons: list[Reason] = []
    consent_id: int | None = None
    needs_holder = False
    view = policy.categories.get(category)
    sensitivity = view.sensitivity if view is not None else ""
    if (rule.emergency_only or basis.emergency_only) and not request.emergency:
        reasons.append(Reason("condition_not_met", f"Rule {rule.code} applies only to emergency access."))
    # A holder's push under a basis that needs its weighing: the justification it sends is that weighing.
    weighing_by_push = request.pushed and basis.weighing_required
    if (basis.justification_required or rule.emergency_only or basis.emergency_only or weighing_by_push) and not (
        request.has_justification
    ):
        reasons.append(
            Reason("justification_required", f"The legal basis {basis.code} requires a written justification.")
        )
    if rule.requires_case_participation and not facts.in_named_case:
        reasons.append(
            Reason(
                "not_case_participant",
                "The requester must take part in an active case, named in the request, in which the subject "
                "has a role.",
            )
        )
    if rule.requires_supervision_order and not (
        _order_active(facts.supervision_orders, request.requester, request.on)
        or (
            rule.supervision_order_covers_parents
            and _order_active(facts.child_supervision_orders, request.requester, request.on)
        )
    ):
        on_whom = "the subject or a child of the subject" if rule.supervision_order_covers_parents else "the subject"
        reasons.append(
            Reason(
                "condition_not_met",
                f"Rule {rule.code} needs an active supervision order on {on_whom} executed by the requester.",
            )
        )
    authority = _recipient_authority(request, view, basis, policy, requester_sector)
    if authority is not None:
        reasons.append(authority)
    sensitive = sensitivity in SPECIAL_SENSITIVITIES or sensitivity in CRIMINAL_SENSITIVITIES
    if basis.kind == VITAL_INTEREST and sensitive and facts.can_consent:
        reasons.append(
            Reason(
                "condition_not_met",
                f"The legal basis {basis.code} covers {category} only when the subject cannot consent "
                "(AVG art. 9(2)(c)).",
            )
        )
    if basis.requires_consent or basis.requires_explicit_consent:
        if not policy.sector_view(policy.sector_of(holder)).consent_possible:
            reasons.append(
                Reason(
                    "condition_not_met",
                    f"Consent is no basis for {category} as its holder keeps it (Wpg, Wjsg): rule {rule.code} "
                    "cannot apply.",
                )
            )
        else:
            explicit_needed = basis.requires_explicit_consent or sensitivity in CRIMINAL_SENSITIVITIES
            consent_id, reason, needs_holder = _consent_check(
                request, category, holder, basis, facts, requester_sector, explicit_needed
            )
            if reason is not None:
                reasons.append(reason)
    return reasons, _Met(consent_id, needs_holder)


def _preauthorisation(
    request: DecisionRequest, category: str, holder: str | None, facts: SubjectFacts, requester_sector: str | None
) -> int | None:
    """The holder's pre-authorisation that covers exactly this request (case, recipient, category, purpose, day)."""
    for p in facts.preauthorisations:
        if (
            p.holder == holder
            and request.case_reference is not None
            and p.case_reference == request.case_reference
            and (
                (p.recipient_organisation is not None and p.recipient_organisation == request.requester)
                or (p.recipient_sector is not None and p.recipient_sector == requester_sector)
            )
            and category in p.categories
            and request.purpose in p.purposes
            and p.valid_from <= request.on <= p.valid_until
        ):
            return p.id
    return None


FULL, PARTIAL = "full", "partial"


def _restriction_cover(
    request: DecisionRequest, view: CategoryView | None, facts: SubjectFacts, requester_sector: str | None
) -> str | None:
    """How the person's restrictions keep this category from the requester: ``full`` (the restriction names the
    category), ``partial`` (a shielded address and a category with fields that may reveal where the person
    stays) or ``None``."""
    cover: str | None = None
    for restriction in facts.restrictions:
        if request.requester in restriction.allowed_organisations or (
            requester_sector is not None and requester_sector in restriction.allowed_sectors
        ):
            continue
        if view is not None and view.code in restriction.categories:
            return FULL
        if view is not None and view.whereabouts and restriction.kind == SHIELDED_ADDRESS:
            cover = PARTIAL
    return cover


def _decide_by_rules(request: DecisionRequest, category: str, policy: Policy, facts: SubjectFacts) -> CategoryDecision:
    """Steps 1 to 4 of the module docstring: the sharing rules, their purposes and conditions."""
    holder = request.providers.get(category)
    requester_sector = policy.sector_of(request.requester)
    holder_sector = policy.sector_of(holder)
    candidates = [
        rule
        for rule in policy.rules
        if category in rule.categories
        and rule.valid_on(request.on)
        and holder is not None
        and _matches(holder, holder_sector, rule.provider_organisation, rule.provider_sector)
        and _matches(request.requester, requester_sector, rule.recipient_organisation, rule.recipient_sector)
        and rule.legal_basis in policy.bases
    ]
    if not candidates:
        return _no_rule(request, category, holder)
    for_purpose = [rule for rule in candidates if request.purpose in rule.purposes]
    if not for_purpose:
        return CategoryDecision(
            category=category,
            provider=holder,
            outcome=DENY,
            reasons=(
                Reason(
                    "purpose_not_allowed",
                    f"The sharing rules for {category} do not allow the purpose {request.purpose}.",
                ),
            ),
        )
    # Ordinary rules before emergency rules, so emergency access is used only where nothing else permits.
    ordered = sorted(
        for_purpose,
        key=lambda r: (r.emergency_only or policy.bases[r.legal_basis].emergency_only, r.code),
    )
    collected: list[Reason] = []
    for rule in ordered:
        basis = policy.bases[rule.legal_basis]
        reasons, met = _rule_conditions(request, category, holder, rule, basis, facts, policy, requester_sector)
        if reasons:
            collected.extend(r for r in reasons if r.code not in {c.code for c in collected})
            continue
        # The holder's judgement: its push is that judgement (and, for a consent not yet confirmed, its
        # confirmation); a pre-authorisation of the case gave it in advance (never a confirmation of a consent).
        holder_weighs = (rule.holder_decides or basis.holder_decides or basis.weighing_required) and not request.pushed
        preauthorisation = (
            _preauthorisation(request, category, holder, facts, requester_sector) if holder_weighs else None
        )
        waits = (holder_weighs and preauthorisation is None) or (met.needs_holder and not request.pushed)
        return CategoryDecision(
            category=category,
            provider=holder,
            outcome=PENDING if waits else PERMIT,
            rule=rule.code,
            rule_version=rule.version,
            legal_basis=basis.code,
            consent=met.consent,
            # every emergency access is reviewed, whatever rule permitted it
            emergency_access=request.emergency,
            preauthorisation=preauthorisation,
            urgent=waits and request.emergency,
        )
    return CategoryDecision(category=category, provider=holder, outcome=DENY, reasons=tuple(collected))


def decide_category(request: DecisionRequest, category: str, policy: Policy, facts: SubjectFacts) -> CategoryDecision:
    """Decide one category (see the module docstring for the order of the checks)."""
    holder = request.providers.get(category)
    requester_sector = policy.sector_of(request.requester)
    view = policy.categories.get(category)
    if view is not None and view.sensitivity == REPORTER_IDENTITY and requester_sector not in REPORTER_IDENTITY_SECTORS:
        # A reporter's identity stays with Veilig Thuis whatever a rule says (Wmo 2015 art. 5.2.6 protects the
        # reporter); a misconfigured rule cannot release it.
        return _no_rule(request, category, holder)
    if view is not None and view.sensitivity in CRIMINAL_SENSITIVITIES and requester_sector in NO_CRIMINAL_DATA_SECTORS:
        # Policy data only, so the same for every person: no oracle.
        return CategoryDecision(
            category=category,
            provider=holder,
            outcome=DENY,
            reasons=(Reason("no_recipient_authority", NO_RECIPIENT_AUTHORITY_MESSAGE),),
        )
    cover = _restriction_cover(request, view, facts, requester_sector)
    if cover is None:
        return _decide_by_rules(request, category, policy, facts)
    if not facts.shares_active_case:
        # The requester may not know that the restriction exists: it is shown what a person without any
        # restriction would get, and nothing is released (the gateway checks ``shielded``).
        face = _decide_by_rules(request, category, policy, replace(facts, restrictions=()))
        return replace(face, shielded=True, redact=())
    if cover == FULL:
        return CategoryDecision(
            category=category,
            provider=holder,
            outcome=DENY,
            reasons=(Reason("restricted", f"A restriction on the person keeps {category} from the requester."),),
        )
    decision = _decide_by_rules(request, category, policy, facts)
    if decision.outcome not in (PERMIT, PENDING) or view is None:
        return decision
    withheld = ", ".join(view.whereabouts)
    return replace(
        decision,
        redact=view.whereabouts,
        reasons=(
            Reason(
                "restricted",
                f"A restriction on the person withholds the fields that could reveal where they stay: {withheld}.",
            ),
        ),
    )


def decide(request: DecisionRequest, policy: Policy, facts: SubjectFacts) -> tuple[CategoryDecision, ...]:
    """Decide every category of the request separately, in the order asked."""
    return tuple(decide_category(request, category, policy, facts) for category in request.categories)


def overall_status(outcomes: Iterable[str]) -> str:
    """``pending`` while any category waits, else ``released``/``partial``/``denied`` (api.md)."""
    values = list(outcomes)
    if any(o == PENDING for o in values):
        return "pending"
    permitted = sum(1 for o in values if o == PERMIT)
    if permitted and permitted == len(values):
        return "released"
    return "partial" if permitted else "denied"
