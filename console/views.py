"""Pages of the privacy officers' console (product.md, "Privacy officers"): a login with a second factor, the
search over the trail, one entry with its inclusion proof, and the queue of emergency reviews.

Views stay thin: access through :mod:`console.access`, the search through :mod:`console.filters`,
verdicts through :func:`gateway.reviews.emergency_review_settle`. Reads of the trail are themselves audited
(audit.md, "What is recorded"): every search and every entry viewed writes one ``console_view`` entry in the
transaction that reads, so nothing is shown that was not recorded (fail closed).
"""

from __future__ import annotations

import datetime as dt
import re
from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import django_otp
import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import merkle
from audit.ledger import Actor, AuditWriteError, EntryDraft, audit_append
from audit.models import AuditEntry, AuditKind, Checkpoint, OfficerProfile
from audit.tree import inclusion
from consent.models import DataCategory, LegalBasis, Organisation, Purpose
from console.access import officer_of, officer_required, scoped_entries, two_factor_satisfied
from console.filters import EntryFilterForm, filtered_entries
from gateway.databases import read_on_standby
from gateway.models import EmergencyReview, ReviewStatus
from gateway.reviews import VERDICTS, ReviewError, emergency_review_settle

PAGE_SIZE = 50
MAX_INDEX = 2**63 - 1  # the largest value a BIGINT column holds; beyond it there is nothing to find
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(9998, 12, 31)  # the search adds a day to "until": date.max would overflow


# --- Helpers ------------------------------------------------------------------------------------------------


def in_english(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The console is in English (its pages say ``lang="en"``): Django's own messages (form errors) too, whatever
    language the browser asks for. Lazy responses are rendered while English is active."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with translation.override("en"):
            response = view(request, *args, **kwargs)
            if isinstance(response, TemplateResponse) and not response.is_rendered:
                response.render()
        return response

    return wrapped


def current_officer(request: HttpRequest) -> OfficerProfile:
    """The officer that :func:`console.access.officer_required` put on the request."""
    officer: OfficerProfile = request.officer  # type: ignore[attr-defined]
    return officer


def safe_next(request: HttpRequest, value: str | None) -> str:
    """Where to go after a login step: a console page on this host, else the search page."""
    if (
        value
        and value.startswith("/privacy/")
        and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False)
    ):
        return value
    return reverse("console:search")


def with_next(url: str, target: str) -> str:
    return f"{url}?{urlencode({'next': target})}"


def confirmed_totp_device(user: AbstractBaseUser | AnonymousUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def otp_login(request: HttpRequest, device: TOTPDevice) -> None:
    """Mark the session as verified with ``device``; a new session key, as the session gained a privilege."""
    request.session.cycle_key()
    django_otp.login(request, device)


def console_view_record(
    *,
    username: str,
    officer: OfficerProfile,
    outcome: str,
    filters: dict[str, Any],
    results: int,
    subject: str | None = None,
    reference: str | None = None,
) -> AuditEntry:
    """Write the ``console_view`` entry of one search or one entry viewed (audit.md: reads of the audit log are
    audited). Runs inside the caller's transaction, the one that reads what will be shown."""
    return audit_append(
        EntryDraft(
            kind=AuditKind.CONSOLE_VIEW.value,
            actor=Actor(user=username, organisation=officer.organisation.slug if officer.organisation else None),
            subject=subject,
            reference=reference,
            outcome=outcome,
            detail={"filters": filters, "results": results},
        )
    )


def audit_unavailable(request: HttpRequest) -> HttpResponse:
    """The view could not be recorded, so nothing is shown."""
    return render(request, "console/search.html", {"unavailable": True}, status=503)


# --- Login and the second factor ------------------------------------------------------------------------------


class TokenForm(forms.Form):
    """A six-digit code from the officer's authenticator app (TOTP, RFC 6238)."""

    token = forms.CharField(
        label="Code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]{6,8}", "size": 8}
        ),
    )

    def clean_token(self) -> str:
        value = re.sub(r"\s+", "", self.cleaned_data["token"])
        if not value.isdigit():
            raise forms.ValidationError("The code consists of digits only.")
        return value


def token_refused_message(device: TOTPDevice) -> str:
    device.refresh_from_db()
    allowed, info = device.verify_is_allowed()
    if not allowed and info and info.get("locked_until"):
        until = timezone.localtime(info["locked_until"]).strftime("%H:%M:%S")
        return f"Too many wrong codes. Wait until {until} before you try again."
    return "That code is not right. Enter the code your app shows now."


class ConsoleLoginView(auth_views.LoginView):
    """Username and password (django-axes locks an account out after repeated failures), then the second factor
    when it is required (``GATEWAY_CONSOLE_REQUIRE_2FA``), then the page asked for."""

    template_name = "console/login.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with translation.override("en"):
            if request.user.is_authenticated and officer_of(request) is not None:
                return HttpResponseRedirect(self.get_success_url())
            response = super().dispatch(request, *args, **kwargs)
            if isinstance(response, TemplateResponse) and not response.is_rendered:
                response.render()
        return response

    def get_success_url(self) -> str:
        target = safe_next(self.request, self.get_redirect_url())
        if not two_factor_satisfied(self.request):
            return with_next(settings.CONSOLE_OTP_URL, target)
        return target


class ConsoleLogoutView(auth_views.LogoutView):
    """Log out (POST only) and back to the console's login page."""

    next_page = "console:login"


def login_step_officer(request: HttpRequest) -> OfficerProfile | HttpResponse:
    """For the second-factor pages: a logged-in officer (not yet verified), or where to go instead."""
    if not request.user.is_authenticated:
        return redirect(with_next(settings.CONSOLE_LOGIN_URL, request.get_full_path()))
    officer = officer_of(request)
    if officer is None:
        raise Http404("not an officer")
    return officer


@in_english
@never_cache
@require_http_methods(["GET", "POST"])
def otp(request: HttpRequest) -> HttpResponse:
    """The second login step: a TOTP code from the officer's confirmed device (throttled by django-otp)."""
    officer = login_step_officer(request)
    if isinstance(officer, HttpResponse):
        return officer
    target = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if two_factor_satisfied(request):
        return redirect(target)
    device = confirmed_totp_device(request.user)
    if device is None:
        return redirect(with_next(reverse("console:otp-setup"), target))
    form = TokenForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        verified = django_otp.verify_token(request.user, device.persistent_id, form.cleaned_data["token"])
        if verified is not None:
            otp_login(request, verified)
            return redirect(target)
        form.add_error("token", token_refused_message(device))
    return render(request, "console/otp.html", {"form": form, "next": target}, status=400 if form.errors else 200)


def qr_svg(text: str) -> SafeString:
    """``text`` as a QR code in inline SVG: nothing loaded from elsewhere (the console's CSP)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=16, border=4)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    svg = svg.replace("<svg ", '<svg role="img" aria-label="QR code to add the console to your authenticator app" ', 1)
    return mark_safe(svg)  # noqa: S308  # generated by qrcode from our own URL: paths and numbers only


@in_english
@never_cache
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """TOTP enrolment for an officer without a confirmed device: a QR code (and the secret for typing it in), then
    a code from the app to confirm it. An officer who has a device uses it; a lost device is replaced by an
    administrator, not here."""
    officer = login_step_officer(request)
    if isinstance(officer, HttpResponse):
        return officer
    target = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if confirmed_totp_device(request.user) is not None:
        return redirect(with_next(settings.CONSOLE_OTP_URL, target))
    if not settings.GATEWAY_CONSOLE_SELF_ENROL:
        return render(request, "console/otp_issued_by_admin.html", status=403)
    device = TOTPDevice.objects.filter(user_id=request.user.pk, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user_id=request.user.pk, name="Privacy console", confirmed=False)
    form = TokenForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        with transaction.atomic(durable=True):
            locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            confirmed = locked.verify_token(form.cleaned_data["token"])
            if confirmed:
                locked.confirmed = True
                locked.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user_id=request.user.pk, confirmed=False).delete()
        if confirmed:
            otp_login(request, locked)
            messages.success(request, "Your authenticator app is set up. You will need a code from it at each login.")
            return redirect(target)
        form.add_error("token", token_refused_message(device))
    secret = b32encode(device.bin_key).decode("ascii")
    context = {
        "form": form,
        "next": target,
        "qr": qr_svg(device.config_url),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "device": device,
    }
    return render(request, "console/otp_setup.html", context, status=400 if form.errors else 200)


# --- Search ------------------------------------------------------------------------------------------------


class SearchForm(EntryFilterForm):
    """The trail's filters plus the page position (keyset: entries with an index below ``before``)."""

    before = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_INDEX, widget=forms.HiddenInput, label="Page position"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, datalist in (
            ("organisation", "vd-organisations"),
            ("requester", "vd-organisations"),
            ("holder", "vd-organisations"),
            ("category", "vd-categories"),
            ("purpose", "vd-purposes"),
            ("legal_basis", "vd-bases"),
        ):
            self.fields[name].widget.attrs["list"] = datalist
        self.fields["bsn"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("date_from", "date_to"):
            value = data.get(name)
            if value and not EARLIEST_DATE <= value <= LATEST_DATE:
                self.add_error(name, f"Give a date between {EARLIEST_DATE.year} and {LATEST_DATE.year}.")
        return data


@dataclass
class EntryRow:
    """One line of the search results."""

    index: int
    at: dt.datetime
    kind: str
    requester: str | None
    holders: list[str]
    categories: list[tuple[str, str]]
    purpose: str | None
    outcome: str | None
    emergency: bool


def entry_row(entry: AuditEntry) -> EntryRow:
    decisions = [d for d in entry.decisions if isinstance(d, dict)]
    requester = entry.organisation or (entry.detail.get("requester") if isinstance(entry.detail, dict) else None)
    return EntryRow(
        index=entry.index,
        at=entry.at,
        kind=entry.get_kind_display(),
        requester=requester,
        holders=sorted({str(d["provider"]) for d in decisions if d.get("provider")}),
        categories=[(str(d.get("category") or "?"), str(d.get("outcome") or "?")) for d in decisions],
        purpose=entry.purpose,
        outcome=entry.outcome,
        emergency=entry.emergency,
    )


def search_choices() -> dict[str, Any]:
    """Suggestions for the filter fields (HTML datalists) from the catalogue."""
    return {
        "organisations": Organisation.objects.order_by("slug").values_list("slug", "name"),
        "categories": DataCategory.objects.order_by("code").values_list("code", "name_en"),
        "purposes": Purpose.objects.order_by("code").values_list("code", "name_en"),
        "bases": LegalBasis.objects.order_by("code").values_list("code", "reference"),
    }


BSN_IN_ADDRESS = (
    "A BSN is never put in a page address (addresses end up in logs). Search for a person with the form: it sends "
    "the BSN in the body and the results carry the person's pseudonym."
)


@in_english
@officer_required
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    """Filter the trail (the officer's part of it), 50 entries a page, newest first; one ``console_view`` each.

    The form is posted (so a BSN travels in the body) and answered with a redirect to the same filters in the
    address, the person as the pseudonym (``subject``): paging, reloading and the back button then work without the
    BSN ever reaching a URL. A BSN in the address is refused, not used."""
    officer = current_officer(request)
    if request.method == "POST":
        form = SearchForm(request.POST)
        if not form.is_valid():
            return render(request, "console/search.html", {"form": form, **search_choices()}, status=400)
        filters = {key: value for key, value in form.active_filters().items() if key != "before"}
        return HttpResponseRedirect(f"{reverse('console:search')}?{urlencode(filters)}", status=303)
    form = SearchForm(request.GET)
    context: dict[str, Any] = {"form": form, **search_choices()}
    if request.GET.get("bsn"):
        form.is_valid()
        form.add_error("bsn", BSN_IN_ADDRESS)
        return render(request, "console/search.html", context, status=400)
    if not form.is_valid():
        return render(request, "console/search.html", context, status=400)
    before = form.cleaned_data.get("before")
    entries = filtered_entries(officer, form, before)
    filters = form.active_filters()
    try:
        with transaction.atomic(durable=True):
            page = list(entries[: PAGE_SIZE + 1])
            console_view_record(
                username=request.user.get_username(),
                officer=officer,
                outcome="search",
                filters=filters,
                results=min(len(page), PAGE_SIZE),
                subject=filters.get("subject"),
            )
    except AuditWriteError:
        return audit_unavailable(request)
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    query = {key: value for key, value in filters.items() if key != "before"}
    person_query = {key: value for key, value in query.items() if key != "subject"}
    context.update(
        rows=[entry_row(e) for e in page],
        newest_query=urlencode(query),
        without_person_query=urlencode(person_query),
        paged=before is not None,
    )
    if more:
        context["older_query"] = urlencode({**query, "before": str(page[-1].index)})
    return render(request, "console/search.html", context)


# --- One entry and its proof ---------------------------------------------------------------------------------


@dataclass
class InclusionView:
    """An entry's inclusion in the latest checkpoint: ``status`` is proven, pending (not yet in a checkpoint) or
    failed (the proof or the leaf bytes do not agree with the signed root)."""

    status: str
    leaf_hash: str
    bytes_match: bool
    checkpoint: Checkpoint | None = None
    proof: list[str] = field(default_factory=list)
    problem: str = ""


def inclusion_view(entry: AuditEntry) -> InclusionView:
    """Prove the entry's stored leaf bytes into the latest checkpoint's root (RFC 9162 §2.1.3)."""
    computed = merkle.leaf_hash(entry.leaf.encode("utf-8"))
    bytes_match = computed.hex() == entry.leaf_hash
    checkpoint = Checkpoint.objects.order_by("-tree_size").first()
    if checkpoint is None or entry.index >= checkpoint.tree_size:
        return InclusionView("pending", computed.hex(), bytes_match, checkpoint)
    try:
        path = inclusion(entry.index, checkpoint.tree_size)
    except (KeyError, ValueError) as exc:
        return InclusionView("failed", computed.hex(), bytes_match, checkpoint, problem=f"No proof: {exc}")
    proven = merkle.verify_inclusion(
        computed, entry.index, checkpoint.tree_size, path, bytes.fromhex(checkpoint.root_hash)
    )
    status = "proven" if proven and bytes_match else "failed"
    view = InclusionView(status, computed.hex(), bytes_match, checkpoint, [p.hex() for p in path])
    if not bytes_match:
        view.problem = "The stored leaf bytes do not hash to the stored leaf hash."
    elif not proven:
        view.problem = "The proof does not lead to the checkpoint's root."
    return view


def decision_views(entry: AuditEntry) -> list[dict[str, Any]]:
    """The entry's decisions with the legal basis's article from the catalogue."""
    decisions = [d for d in entry.decisions if isinstance(d, dict)]
    codes = {str(d["legal_basis"]) for d in decisions if d.get("legal_basis")}
    references = dict(LegalBasis.objects.filter(code__in=codes).values_list("code", "reference"))
    return [{**d, "basis_reference": references.get(str(d.get("legal_basis") or ""), "")} for d in decisions]


@in_english
@officer_required
@require_GET
def entry_detail(request: HttpRequest, index: int) -> HttpResponse:
    """The whole entry: actor, subject pseudonym, every decision, the leaf bytes and the proof. Outside the
    officer's part of the trail it does not exist (404, as for an index never written)."""
    officer = current_officer(request)
    if index > MAX_INDEX:
        raise Http404("no such entry")
    try:
        with transaction.atomic(durable=True):
            entry = scoped_entries(officer).filter(index=index).first()
            if entry is None:
                raise Http404("no such entry")
            console_view_record(
                username=request.user.get_username(),
                officer=officer,
                outcome="entry",
                filters={},
                results=1,
                subject=entry.subject,
                reference=str(entry.index),
            )
    except AuditWriteError:
        return audit_unavailable(request)
    context = {
        "entry": entry,
        "decisions": decision_views(entry),
        "proof": inclusion_view(entry),
        "detail_items": sorted(entry.detail.items()) if isinstance(entry.detail, dict) else [],
    }
    return render(request, "console/entry.html", context)


# --- Emergency reviews ---------------------------------------------------------------------------------------


class VerdictForm(forms.Form):
    """A privacy officer's verdict on one emergency access."""

    verdict = forms.ChoiceField(
        choices=[(v, ReviewStatus(v).label) for v in VERDICTS], widget=forms.RadioSelect, label="Verdict"
    )
    note = forms.CharField(label="Note (why)", max_length=4000, widget=forms.Textarea(attrs={"rows": 3, "cols": 40}))


def reviews_in_scope(officer: OfficerProfile) -> QuerySet[EmergencyReview]:
    """The reviews this officer sees: all, or those of their own organisation's requests."""
    reviews = EmergencyReview.objects.select_related("request", "organisation").prefetch_related("request__decisions")
    if officer.organisation_id is not None:
        reviews = reviews.filter(organisation_id=officer.organisation_id)
    return reviews


def review_form(review: EmergencyReview, data: Any = None) -> VerdictForm:
    return VerdictForm(data, prefix=f"review-{review.pk}")


def reviews_listed(officer: OfficerProfile, db: str) -> tuple[list[EmergencyReview], list[EmergencyReview]]:
    """The open reviews in the officer's scope and the last 200 decided, read from ``db``."""
    scope = reviews_in_scope(officer).using(db)
    return (
        list(scope.filter(status=ReviewStatus.OPEN).order_by("due_at", "pk")),
        list(scope.exclude(status=ReviewStatus.OPEN).order_by("-decided_at", "-pk")[:200]),
    )


def reviews_page(
    request: HttpRequest, officer: OfficerProfile, bound: VerdictForm | None = None, bound_pk: int | None = None
) -> HttpResponse:
    """The list may come from the standby (gateway/databases.py): it decides nothing, and a verdict is given on the
    review as the primary has it (:func:`review_decide`); after one, this browser reads the primary for a while."""
    now = timezone.now()
    open_reviews, decided = read_on_standby(lambda db: reviews_listed(officer, db))
    open_items = [
        {
            "review": r,
            "overdue": r.due_at < now,
            "form": bound if bound is not None and r.pk == bound_pk else review_form(r),
        }
        for r in open_reviews
    ]
    context = {
        "open_items": open_items,
        "overdue_count": sum(1 for item in open_items if item["overdue"]),
        "decided": decided,
    }
    return render(request, "console/reviews.html", context, status=400 if bound is not None else 200)


@in_english
@officer_required
@require_GET
def reviews(request: HttpRequest) -> HttpResponse:
    """Open emergency reviews first (overdue ones marked), each with a verdict form; decided ones below."""
    return reviews_page(request, current_officer(request))


@in_english
@officer_required
@require_POST
def review_decide(request: HttpRequest, review_id: int) -> HttpResponse:
    """Give the verdict on one review (written to the trail as a ``review`` entry by the service)."""
    officer = current_officer(request)
    if review_id > MAX_INDEX:
        raise Http404("no such review")
    review = get_object_or_404(reviews_in_scope(officer), pk=review_id)
    form = review_form(review, request.POST)
    if not form.is_valid():
        return reviews_page(request, officer, bound=form, bound_pk=review.pk)
    try:
        emergency_review_settle(
            review=review,
            verdict=form.cleaned_data["verdict"],
            note=form.cleaned_data["note"],
            reviewer=request.user.get_username(),
        )
    except ReviewError as exc:
        messages.error(request, f"Request {review.request_id}: {exc}.")
    else:
        messages.success(request, f"Verdict on request {review.request_id} recorded in the audit trail.")
    return redirect("console:reviews")
