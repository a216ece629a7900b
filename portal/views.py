"""Pages of the family portal: validate, call one selector or action, render. Every view of a person's entries
writes a ``portal_view`` audit entry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from consent.consents import OPEN_STATUSES, ConsentError, confirming_capacity
from consent.models import Consent, Person
from portal import selectors, services
from portal.models import ConsentRequest, PortalAccount


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True


def _viewer(request: HttpRequest) -> Person:
    account = PortalAccount.objects.select_related("person").filter(user_id=int(request.user.pk or 0)).first()
    if account is None:
        raise Http404("no portal account")
    return account.person


def _visible(request: HttpRequest) -> tuple[Person, list[tuple[Person, str]]]:
    viewer = _viewer(request)
    return viewer, selectors.family_visible(viewer)


def _subject(request: HttpRequest, person_id: int) -> tuple[Person, Person, str]:
    viewer, family = _visible(request)
    for person, why in family:
        if person.pk == person_id:
            return viewer, person, why
    raise Http404("not visible")  # the same answer whether the person exists or not


@login_required(login_url="portal:login")
def home(request: HttpRequest) -> HttpResponse:
    viewer, family = _visible(request)
    subjects = [p for p, _why in family]
    return render(
        request,
        "portal/home.html",
        {
            "viewer": viewer,
            "family": family,
            "open_requests": selectors.consent_requests_for(subjects).count(),
            "active_consents": selectors.consents_for(viewer, subjects).filter(status="active").count(),
        },
    )


@login_required(login_url="portal:login")
@require_http_methods(["POST"])
def parent_access(request: HttpRequest) -> HttpResponse:
    """The child (from 12, able to judge) objects to parent access, or withdraws the objection; audited by the
    action."""
    viewer = _viewer(request)
    username = request.user.get_username()
    try:
        if request.POST.get("answer") == "object":
            services.parent_access_object(viewer=viewer, username=username)
            messages.success(request, _("Your parents can no longer see what was shared about you here."))
        elif request.POST.get("answer") == "withdraw":
            services.parent_access_withdraw_objection(viewer=viewer, username=username)
            messages.success(request, _("Your parents can see what was shared about you here again."))
        else:
            messages.error(request, _("Choose one of the two answers."))
    except services.PortalError:
        messages.error(request, _("This could not be changed."))
    return redirect("portal:person", person_id=viewer.pk)


@login_required(login_url="portal:login")
def person_timeline(request: HttpRequest, person_id: int) -> HttpResponse:
    viewer, person, why = _subject(request, person_id)
    timeline = selectors.timeline(person, viewer=viewer, why=why)
    fact = selectors.person_fact(person)
    own = bool(settings.GATEWAY_CONSENT_12_15_OWN)
    context = {
        "viewer": viewer,
        "person": person,
        "why": why,
        "timeline": timeline,
        # Said for every child of 12 to 15 who can judge, whether or not anything was kept (no oracle).
        "childs_own_note": why == "parent" and own and 12 <= fact.age < 16 and fact.able_to_judge,
        "may_object": why == "self" and services.may_object_to_parents(person) and fact.age < 18,
        "objects": fact.objects_to_parents,
    }
    services.portal_view_record(
        username=request.user.get_username(),
        subject=person,
        view="timeline",
        shown=len(timeline.entries),
        withheld=timeline.withheld_count,
    )
    return render(request, "portal/person.html", context)


@login_required(login_url="portal:login")
def entry_detail(request: HttpRequest, person_id: int, entry_id: str) -> HttpResponse:
    viewer, person, why = _subject(request, person_id)
    entry = selectors.entry_for(person, entry_id[:40], viewer=viewer, why=why)
    if entry is None:
        raise Http404("no such entry")
    services.portal_view_record(
        username=request.user.get_username(), subject=person, view="entry", entry=entry.id, shown=1
    )
    return render(request, "portal/entry.html", {"viewer": viewer, "person": person, "entry": entry})


@dataclass(frozen=True)
class GiverLine:
    """A giver as the portal shows them: a name only for the viewer and persons the viewer may see."""

    name: str | None
    capacity: str
    confirmed: bool


@dataclass(frozen=True)
class ConsentCard:
    """One consent on the consents page: the consent, whom it is about, its givers, and what the viewer may do."""

    consent: Consent
    subject: Person
    givers: list[GiverLine]
    can_act: bool
    confirmed_by_viewer: bool

    @property
    def is_open(self) -> bool:
        return self.consent.status in OPEN_STATUSES


def _cards(viewer: Person, subjects: list[Person], consents: Iterable[Consent]) -> list[ConsentCard]:
    by_bsn = {p.bsn: p for p in [viewer, *subjects]}
    cards = []
    for consent in consents:
        givers = sorted(consent.givers.all(), key=lambda g: (g.given_at, g.pk))
        cards.append(
            ConsentCard(
                consent=consent,
                subject=by_bsn[consent.subject_bsn],
                givers=[
                    GiverLine(
                        name=str(by_bsn[g.bsn]) if g.bsn in by_bsn else None,
                        capacity=g.confirmed_capacity or g.capacity,
                        confirmed=g.confirmed_at is not None,
                    )
                    for g in givers
                ],
                can_act=services.may_act(viewer=viewer, consent=consent),
                confirmed_by_viewer=any(g.bsn == viewer.bsn and g.confirmed_at is not None for g in givers),
            )
        )
    return cards


@login_required(login_url="portal:login")
def consents(request: HttpRequest) -> HttpResponse:
    viewer, family = _visible(request)
    subjects = [p for p, _why in family]
    return render(
        request,
        "portal/consents.html",
        {
            "viewer": viewer,
            "cards": _cards(viewer, subjects, selectors.consents_for(viewer, subjects)),
            "requests": selectors.consent_requests_for(subjects),
        },
    )


def _consent_for(request: HttpRequest, consent_id: int) -> tuple[Person, ConsentCard]:
    viewer, family = _visible(request)
    subjects = [p for p, _why in family]
    consent = selectors.consents_for(viewer, subjects).filter(pk=consent_id).first()
    if consent is None:
        raise Http404("no such consent")  # the same whether it does not exist or is not the viewer's to see
    (card,) = _cards(viewer, subjects, [consent])
    return viewer, card


@login_required(login_url="portal:login")
@require_http_methods(["GET", "POST"])
def consent_confirm(request: HttpRequest, consent_id: int) -> HttpResponse:
    """Is this right? The person (or a legal representative) confirms or disputes a consent recorded in their
    name (issue "leaks", item 2). Both answers are audited by the actions they call."""
    viewer, card = _consent_for(request, consent_id)
    if request.method == "POST":
        answer = request.POST.get("answer", "")
        username = request.user.get_username()
        try:
            if answer == "yes":
                confirmed = services.portal_consent_confirm(viewer=viewer, username=username, consent=card.consent)
            elif answer == "no":
                services.portal_consent_dispute(viewer=viewer, username=username, consent=card.consent)
            else:
                messages.error(request, _("Choose one of the two answers."))
                return redirect("portal:consent-confirm", consent_id=consent_id)
        except services.PortalError:
            messages.error(request, _("You cannot answer for this consent (any more)."))
            return redirect("portal:consents")
        if answer == "no":
            messages.success(
                request,
                _(
                    "Thank you. The consent has been ended and can no longer be used. "
                    "A privacy officer can look into it."
                ),
            )
        elif confirmed.status == "active":
            messages.success(request, _("Thank you. You confirmed this consent; it can now be used."))
        else:
            messages.info(
                request,
                _("Thank you. You confirmed this consent; someone else must also confirm it before it can be used."),
            )
        return redirect("portal:consents")
    return render(request, "portal/consent_confirm.html", {"viewer": viewer, "card": card})


@login_required(login_url="portal:login")
@require_http_methods(["GET", "POST"])
def consent_withdraw(request: HttpRequest, consent_id: int) -> HttpResponse:
    viewer, card = _consent_for(request, consent_id)
    if request.method == "POST":
        try:
            services.portal_consent_withdraw(
                viewer=viewer,
                username=request.user.get_username(),
                consent=card.consent,
                reason=request.POST.get("reason", "")[:2000],
            )
        except services.PortalError:
            messages.error(request, _("This consent can no longer be withdrawn."))
        else:
            messages.success(request, _("Your consent has been withdrawn. From now on it is no longer used."))
        return redirect("portal:consents")
    return render(request, "portal/consent_withdraw.html", {"viewer": viewer, "consent": card.consent, "card": card})


@login_required(login_url="portal:login")
@require_http_methods(["GET", "POST"])
def consent_give(request: HttpRequest, request_id: int) -> HttpResponse:
    viewer, family = _visible(request)
    by_subject = {p.pk: why for p, why in family}
    consent_request = get_object_or_404(
        ConsentRequest.objects.select_related("subject", "requested_by"),
        pk=request_id,
        subject_id__in=list(by_subject),
    )
    capacity = confirming_capacity(viewer=viewer, subject_bsn=consent_request.subject.bsn, on=timezone.localdate())
    if request.method == "POST":
        try:
            result = services.portal_consent_give(
                viewer=viewer, username=request.user.get_username(), request=consent_request
            )
        except (ConsentError, services.PortalError):  # the request or the viewer's capacity do not allow it
            messages.error(request, _("Your consent could not be recorded. Please contact the organisation."))
        else:
            if result.consent.status == "active":
                messages.success(request, _("Thank you. Your consent has been recorded."))
            else:
                messages.info(
                    request,
                    _(
                        "Thank you. Your consent has been recorded; someone else must also "
                        "give consent before it can be used."
                    ),
                )
        return redirect("portal:consents")
    return render(
        request,
        "portal/consent_give.html",
        {"viewer": viewer, "consent_request": consent_request, "capacity": capacity},
    )
