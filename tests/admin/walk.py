"""Every admin page a staff user can ask for, built from what is registered on the admin site, so a page added
later is swept as well."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.urls import reverse


def model_pages(model: type[Model]) -> list[str]:
    """The list, the add form and, for the first object, its change, history and delete pages."""
    meta = model._meta
    prefix = f"admin:{meta.app_label}_{meta.model_name}"
    pages = [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
    first = model._default_manager.order_by("pk").first()
    if first is not None:
        pages += [reverse(f"{prefix}_{page}", args=[first.pk]) for page in ("change", "history", "delete")]
    return pages


def admin_pages() -> list[str]:
    """The index, each app's index, the password change pages and every registered model's pages."""
    registry = admin.site._registry
    apps = sorted({model._meta.app_label for model in registry})
    pages = [reverse("admin:index"), reverse("admin:password_change"), reverse("admin:password_change_done")]
    pages += [reverse("admin:app_list", args=[app]) for app in apps]
    for model in sorted(registry, key=lambda m: m._meta.label):
        pages += model_pages(model)
    return pages
