"""Pages of the family portal: validate, call one selector or action, render. Every view of a person's entries
writes a ``portal_view`` audit entry."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from consent.consents import ConsentError
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
def person_timeline(request: HttpRequest, person_id: int) -> HttpResponse:
    viewer, person, why = _subject(request, person_id)
    timeline = selectors.timeline(person)
    services.portal_view_record(
        username=request.user.get_username(),
        subject=person,
        view="timeline",
        shown=len(timeline.entries),
        withheld=timeline.withheld_count,
    )
    return render(request, "portal/person.html", {"viewer": viewer, "person": person, "why": why, "timeline": timeline})


@login_required(login_url="portal:login")
def entry_detail(request: HttpRequest, person_id: int, entry_id: str) -> HttpResponse:
    viewer, person, _why = _subject(request, person_id)
    entry = selectors.entry_for(person, entry_id[:40])
    if entry is None:
        raise Http404("no such entry")
    services.portal_view_record(
        username=request.user.get_username(), subject=person, view="entry", entry=entry.id, shown=1
    )
    return render(request, "portal/entry.html", {"viewer": viewer, "person": person, "entry": entry})


@login_required(login_url="portal:login")
def consents(request: HttpRequest) -> HttpResponse:
    viewer, family = _visible(request)
    subjects = [p for p, _why in family]
    return render(
        request,
        "portal/consents.html",
        {
            "viewer": viewer,
            "consents": [
                (c, services.may_withdraw(viewer=viewer, consent=c)) for c in selectors.consents_for(viewer, subjects)
            ],
            "requests": selectors.consent_requests_for(subjects),
        },
    )


def _consent_for(request: HttpRequest, consent_id: int) -> tuple[Person, Consent]:
    viewer, family = _visible(request)
    subjects = [p for p, _why in family]
    consent = selectors.consents_for(viewer, subjects).filter(pk=consent_id).first()
    if consent is None:
        raise Http404("no such consent")
    return viewer, consent


@login_required(login_url="portal:login")
@require_http_methods(["GET", "POST"])
def consent_withdraw(request: HttpRequest, consent_id: int) -> HttpResponse:
    viewer, consent = _consent_for(request, consent_id)
    if request.method == "POST":
        try:
            services.portal_consent_withdraw(
                viewer=viewer,
                username=request.user.get_username(),
                consent=consent,
                reason=request.POST.get("reason", "")[:2000],
            )
        except services.PortalError:
            messages.error(request, _("This consent can no longer be withdrawn."))
        else:
            messages.success(request, _("Your consent has been withdrawn. From now on it is no longer used."))
        return redirect("portal:consents")
    return render(request, "portal/consent_withdraw.html", {"viewer": viewer, "consent": consent})


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
    capacity = "self" if by_subject[consent_request.subject_id] == "self" else "parent_with_custody"
    if request.method == "POST":
        try:
            result = services.portal_consent_give(
                viewer=viewer, username=request.user.get_username(), request=consent_request, capacity=capacity
            )
        except (ConsentError, services.PortalError):  # the age rules or capacity do not allow it
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
