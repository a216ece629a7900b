"""The domain of Veilig Delen: who shares what about whom, on which ground (``shared/spec/domain.md``).

Policy data (sectors, organisations, categories, purposes, the legal-basis catalogue and the sharing rules) is
data, edited in the admin and versioned by :func:`consent.selectors.policy_current`; the decision code never
hard-codes it.
Facts about families (persons, relations, cases, measures, consents, restrictions) are what the policy is
applied to.
"""

from __future__ import annotations

import datetime as dt

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from consent import choices
from consent.bsn import validate_bsn
from consent.choices import AgeBand, ConsentNeeded, ConsentRegime

slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9_-]{0,62}$", "Use lowercase letters, digits, '-' and '_'.")


class Sector(models.Model):
    """A kind of organisation in the network (veilig_thuis, police, ...); sharing rules often name sectors."""

    code = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    name_nl = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    may_record_consent = models.BooleanField(
        default=False, help_text="Organisations of this sector may record consents through the API."
    )
    special_data_exception = models.CharField(
        max_length=300,
        blank=True,
        help_text="The article that lets this sector RECEIVE special-category data (AVG art. 9(2) with its "
        "national ground, e.g. Wmo 2015 art. 5.1.6 lid 2 for Veilig Thuis); empty: none.",
    )
    criminal_data_exception = models.CharField(
        max_length=300,
        blank=True,
        help_text="The article that lets this sector RECEIVE criminal, police or justice data (AVG art. 10 with "
        "UAVG art. 30-33, e.g. UAVG art. 30 for the RvdK); empty: none (housing and schools have none).",
    )
    consent_regime = models.CharField(
        max_length=16,
        choices=ConsentRegime.choices,
        null=True,
        blank=True,
        help_text="The consent regime of the data this sector HOLDS (a school: AVG/UAVG art. 5); empty: the "
        "category's regime.",
    )
    consent_possible = models.BooleanField(
        default=True,
        help_text="Consent can be a basis for data this sector holds; false for police (Wpg) and prosecution "
        "(Wjsg), whose provision rests on the statute only.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Organisation(models.Model):  # type: ignore[django-manager-missing]  # swappable OAuth model
    """A partner organisation: the requester of information (through its OAuth clients) and a data holder."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="organisations")
    regime = models.CharField(max_length=8, choices=choices.Regime.choices, default=choices.Regime.AVG)
    professional_secrecy = models.BooleanField(default=False, help_text="Holds a professional duty of secrecy.")
    gpg_public_key = models.TextField(blank=True, help_text="Optional OpenPGP public key for encrypted delivery.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class DataCategory(models.Model):
    """A category of information that is decided and released as a whole (identity, address, ...).

    ``consent_regime`` names the law that decides who must consent for a minor (:class:`ConsentAgeRule`).
    """

    code = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    name_nl = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    sensitivity = models.CharField(max_length=24, choices=choices.Sensitivity.choices)
    regime = models.CharField(max_length=8, choices=choices.Regime.choices, default=choices.Regime.AVG)
    consent_regime = models.CharField(
        max_length=16,
        choices=ConsentRegime.choices,
        default=ConsentRegime.AVG,
        help_text="The law that decides who must consent for a minor (the consent age table).",
    )

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "data categories"

    def __str__(self) -> str:
        return self.code


class CategoryField(models.Model):
    """One field of a data category; only these fields ever leave the gateway for the category."""

    category = models.ForeignKey(DataCategory, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(max_length=64, validators=[slug_validator])
    type = models.CharField(max_length=16, choices=choices.FieldType.choices, default=choices.FieldType.STRING)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    reveals_whereabouts = models.BooleanField(
        default=False,
        help_text="The field may say where a person stays (a shelter, an address): a shielded address withholds "
        "it from recipients outside the shielding.",
    )

    class Meta:
        ordering = ["category", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="uniq_category_field")]

    def __str__(self) -> str:
        return f"{self.category.code}.{self.name}"


class Purpose(models.Model):
    """A purpose for which information may be asked (doelbinding): vt_safety_assessment, care_coordination..."""

    code = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    name_nl = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class LegalBasis(models.Model):
    """An entry of the legal-basis catalogue: a statutory ground or consent, with its article reference.

    ``needs_confirmation`` marks references that were not checked against the law text (``domain.md``).
    """

    code = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=32, choices=choices.BasisKind.choices)
    reference = models.CharField(max_length=300)
    description_nl = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    requires_consent = models.BooleanField(default=False)
    requires_explicit_consent = models.BooleanField(default=False)
    holder_decides = models.BooleanField(default=False)
    justification_required = models.BooleanField(default=False)
    emergency_only = models.BooleanField(default=False)
    needs_confirmation = models.BooleanField(default=False)
    weighing_required = models.BooleanField(
        default=False,
        help_text="The holder weighs each case (e.g. Wmo 2015 art. 4.1.1 lid 2 sub d/e, Wjsg art. 39f, Wpg art. "
        "19): approving a pending item under this basis needs a recorded weighing note.",
    )

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "legal bases"

    def __str__(self) -> str:
        return self.code


class SharingRule(models.Model):
    """One rule of the sharing agreement: holder → recipient, categories, purposes, the basis it cites. (The
    holder's columns keep their stored name, ``provider_sector`` and ``provider_organisation``.)

    A covenant is never a legal basis by itself: every rule cites an entry of the catalogue. ``version`` goes up
    with every change (through :func:`consent.services.sharing_rule_save`), and every decision records it.
    """

    code = models.SlugField(max_length=80, unique=True, help_text="Stable identifier cited in decisions.")
    description = models.TextField(blank=True)
    provider_sector = models.ForeignKey(
        Sector, null=True, blank=True, on_delete=models.PROTECT, related_name="rules_as_provider"
    )
    provider_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="rules_as_provider"
    )
    recipient_sector = models.ForeignKey(
        Sector, null=True, blank=True, on_delete=models.PROTECT, related_name="rules_as_recipient"
    )
    recipient_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="rules_as_recipient"
    )
    categories = models.ManyToManyField(DataCategory, related_name="rules")
    purposes = models.ManyToManyField(Purpose, related_name="rules")
    legal_basis = models.ForeignKey(LegalBasis, on_delete=models.PROTECT, related_name="rules")
    requires_case_participation = models.BooleanField(
        default=False, help_text="The recipient must take part in the active case the request names."
    )
    requires_supervision_order = models.BooleanField(
        default=False, help_text="An active supervision order on the subject, executed by the recipient."
    )
    supervision_order_covers_parents = models.BooleanField(
        default=False,
        help_text="The supervision order may also be on a child of the subject, executed by the recipient "
        "(Jeugdwet art. 7.3.11 lid 4: the GI may receive data about the child and about a parent or guardian).",
    )
    emergency_only = models.BooleanField(default=False)
    holder_decides = models.BooleanField(default=False, help_text="The data holder decides each request.")
    valid_from = models.DateField(default=dt.date(2025, 1, 1))
    valid_until = models.DateField(null=True, blank=True)
    covenant_reference = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(provider_sector__isnull=False) | models.Q(provider_organisation__isnull=False),
                name="rule_names_provider",
            ),
            models.CheckConstraint(
                condition=models.Q(recipient_sector__isnull=False) | models.Q(recipient_organisation__isnull=False),
                name="rule_names_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class ConfigurationState(models.Model):
    """The single row whose ``token`` changes whenever policy data or the holder directory changes.

    Database triggers (migration ``0008``, ``gateway`` ``0008``) set a fresh random token on every insert, update,
    delete or truncate of the tables the policy snapshot and the holder directory are read from, in the transaction
    that makes the change, so a change made through the admin, the catalogue import or plain SQL all count. A web
    process keeps what it built from that data under the token it read (:func:`consent.selectors.policy_current`)
    and compares the token on every request, so no decision is made on a policy that is no longer in force. A
    random token rather than a counter: a rolled-back change restores the old token, and the next change can never
    reuse a token that some process saw during the rolled-back one.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"configuration {self.token[:8]}"


class PolicyVersion(models.Model):
    """A frozen snapshot of all policy data; every decision cites the version it was made under.

    The snapshot is the exact input the pure decision function received, so a past decision can be replayed.
    """

    number = models.PositiveIntegerField(unique=True)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the canonical snapshot.")
    snapshot = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"policy v{self.number}"


class Person(models.Model):
    """A person known to the network. The BSN never leaves this table for the audit trail (pseudonymised)."""

    bsn = models.CharField(max_length=9, unique=True, validators=[validate_bsn])
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    able_to_judge = models.BooleanField(
        default=True,
        help_text="Able to judge their own interests (wilsbekwaam); if not, the younger band applies.",
    )

    class Meta:
        ordering = ["family_name", "given_name"]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day: dt.date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Relation(models.Model):
    """A relation from ``person`` to ``other``: ``person`` is the parent with custody of ``other``, etc."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relations")
    other = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relations_to")
    kind = models.CharField(max_length=32, choices=choices.RelationKind.choices)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "other", "kind"], name="uniq_relation")]

    def __str__(self) -> str:
        return f"{self.person} is {self.kind} of {self.other}"


class Case(models.Model):
    """A family system worked on by the network (casus), with its participants, persons and measures."""

    reference = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=100)
    phase = models.CharField(max_length=24, choices=choices.CasePhase.choices)
    lead_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="led_cases")
    case_director = models.CharField(max_length=200, blank=True)
    participants = models.ManyToManyField(Organisation, related_name="cases", blank=True)
    opened_on = models.DateField(default=dt.date.today)

    class Meta:
        ordering = ["reference"]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_active(self) -> bool:
        return self.phase != choices.CasePhase.CLOSED


class CasePerson(models.Model):
    """A person's role in a case (victim, suspect, child involved, ...)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="persons")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="case_roles")
    role = models.CharField(max_length=32, choices=choices.CaseRole.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "person", "role"], name="uniq_case_person_role")]

    def __str__(self) -> str:
        return f"{self.person} ({self.role}) in {self.case}"


class Measure(models.Model):
    """A measure on a person, such as a supervision order (ondertoezichtstelling, BW 1:255) executed by a GI."""

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="measures")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="measures")
    kind = models.CharField(max_length=32, choices=choices.MeasureKind.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="measures")
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} on {self.person} by {self.organisation}"

    def active_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class Consent(models.Model):
    """Consent a family member gave, recorded by an organisation or given in the family portal; it permits only
    what it names (AVG art. 6(1)(a), 7; explicit under art. 9(2)(a)).

    Keyed by the subject's BSN (``subject_bsn``), not by a :class:`Person`: a holder may record a consent for
    someone the gateway does not know, gets exactly the answer it would get for a known person, and the consent
    counts once that person becomes known. ``subject`` links the person when the gateway knew them at recording.
    A consent recorded by an organisation is ``awaiting_confirmation`` until the person (for a child: the legal
    representatives, none a suspect) confirms it in the portal (:func:`consent.consents.consent_confirm`).
    Withdrawal works for the future only (AVG art. 7(3)); a dispute ("I did not give this") ends it like a
    withdrawal and sets ``disputed_at``.
    """

    subject_bsn = models.CharField(
        max_length=9, db_index=True, validators=[validate_bsn], help_text="BSN of the person the consent is about."
    )
    subject = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consents",
        help_text="The person, when the gateway knew them at recording; subject_bsn is what counts.",
    )
    explicit = models.BooleanField(default=False, help_text="Explicit consent (AVG art. 9(2)(a)).")
    purposes = models.ManyToManyField(Purpose, related_name="consents")
    categories = models.ManyToManyField(DataCategory, related_name="consents")
    recipient_organisations = models.ManyToManyField(Organisation, related_name="consents_received", blank=True)
    recipient_sectors = models.ManyToManyField(Sector, related_name="consents_received", blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="consents")
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    evidence = models.TextField()
    recorded_by = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="consents_recorded")
    recorded_by_user = models.CharField(max_length=128, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=24,
        choices=choices.ConsentStatus.choices,
        default=choices.ConsentStatus.AWAITING_CONFIRMATION,
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)
    disputed_at = models.DateTimeField(
        null=True, blank=True, help_text="The person said in the portal that they did not give this consent."
    )

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"consent {self.pk}"


class ConsentAgeRule(models.Model):
    """One cell of the consent age table (``domain.md``, "Consent by age"): for a regime and an age band, whose
    consent is needed.

    The defaults (data migration ``0002``) follow Jeugdwet art. 7.3.4 (youth care), WGBO, BW art. 7:450 and
    7:465 (medical treatment), Wmo 2015 art. 5.3.3 (Veilig Thuis and the municipality) and UAVG art. 5 (consent
    under the AVG). A privacy officer changes a cell in the admin; every change raises ``version``
    (:func:`consent.consents.consent_age_rule_save`), and each consent's audit entry cites the versions it was
    assessed under. A missing cell never loosens anything: the strictest requirement applies.
    """

    regime = models.CharField(max_length=16, choices=ConsentRegime.choices)
    band = models.CharField(max_length=8, choices=AgeBand.choices)
    consent_needed = models.CharField(max_length=48, choices=ConsentNeeded.choices)
    reference = models.CharField(max_length=300, blank=True, help_text="The article the cell rests on.")
    note = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["regime", "band"]
        constraints = [models.UniqueConstraint(fields=["regime", "band"], name="uniq_consent_age_rule")]

    def __str__(self) -> str:
        return f"{self.regime}/{self.band}: {self.consent_needed} (v{self.version})"


class ConsentGiver(models.Model):
    """Who gave a consent and in which capacity (self, parent with custody, guardian), as a claim.

    The recording organisation names the giver by BSN; the gateway never confirms the claim to it. ``person``
    links the giver when the gateway knows them. ``confirmed_at`` and ``confirmed_by`` (the portal user) say
    that this giver confirmed in the portal that they gave it, in ``confirmed_capacity``: the one their relation to
    the subject had then. ``capacity`` stays the claim as named, because showing a corrected one would tell the
    recorder the relation.
    """

    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="givers")
    bsn = models.CharField(max_length=9, validators=[validate_bsn])
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="consents_given")
    capacity = models.CharField(max_length=24, choices=choices.ConsentCapacity.choices)
    given_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.CharField(max_length=150, blank=True)
    confirmed_capacity = models.CharField(
        max_length=24,
        choices=choices.ConsentCapacity.choices,
        blank=True,
        help_text="The capacity the confirmation counts in: the relation to the subject on the day of confirming.",
    )
    added_in_portal = models.BooleanField(
        default=False,
        help_text="The person added themselves in the portal (not named by an organisation); never shown through "
        "the API, so that no organisation learns from it who else has custody.",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consent", "bsn"], name="uniq_consent_giver_bsn")]

    def __str__(self) -> str:
        return f"giver ({self.capacity}) of consent {self.consent_id}"


class Preauthorisation(models.Model):
    """A holder's decision, taken once for one case, that a recipient may receive categories for purposes until
    a date: it stands in for the holder's per-request judgement where the basis lets the holder weigh (e.g.
    Veilig Thuis in a high-risk case lets police and the OM receive the risk picture, Wmo 2015 art. 4.1.1 lid 2
    sub d). The decision cites it (:attr:`consent.policy.CategoryDecision.preauthorisation`).

    Granted and withdrawn only through :mod:`consent.preauthorisations`, each with its audit entry; the
    ``weighing`` text stays here, the entry carries its SHA-256.
    """

    holder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="preauthorisations_granted")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="preauthorisations")
    recipient_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="preauthorisations_received"
    )
    recipient_sector = models.ForeignKey(
        Sector, null=True, blank=True, on_delete=models.PROTECT, related_name="preauthorisations_received"
    )
    categories = models.ManyToManyField(DataCategory, related_name="preauthorisations")
    purposes = models.ManyToManyField(Purpose, related_name="preauthorisations")
    valid_from = models.DateField()
    valid_until = models.DateField()
    weighing = models.TextField(help_text="The holder's recorded weighing (why, for this case, in advance).")
    granted_by_user = models.CharField(max_length=150, blank=True)
    granted_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by_user = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient_sector__isnull=False) | models.Q(recipient_organisation__isnull=False),
                name="preauthorisation_names_recipient",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")),
                name="preauthorisation_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"preauthorisation {self.pk} by {self.holder_id} in case {self.case_id}"

    def active_on(self, day: dt.date) -> bool:
        return self.withdrawn_at is None and self.valid_from <= day <= self.valid_until


class Restriction(models.Model):
    """A restriction on a person that keeps them safe: a shielded address, a confidential reporter, ...

    For a shielded address the categories are released only to the organisations and sectors allowed.
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="restrictions")
    kind = models.CharField(max_length=32, choices=choices.RestrictionKind.choices)
    categories = models.ManyToManyField(DataCategory, related_name="restrictions", blank=True)
    allowed_organisations = models.ManyToManyField(Organisation, related_name="restriction_allowances", blank=True)
    allowed_sectors = models.ManyToManyField(Sector, related_name="restriction_allowances", blank=True)
    reason = models.TextField()
    legal_ground = models.CharField(max_length=300, blank=True)
    set_by = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="restrictions_set")
    set_at = models.DateTimeField(default=timezone.now)
    review_date = models.DateField(null=True, blank=True)
    request_reference = models.CharField(
        max_length=40,
        blank=True,
        help_text="Withheld from the subject: the information request (req_...) kept from the person's portal. "
        "Empty: every entry about the person in the restriction's categories.",
    )
    active = models.BooleanField(default=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} on {self.person}"
