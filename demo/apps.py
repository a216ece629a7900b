from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo world (``shared/spec/demo-world.md``) and its history, and ``manage.py seed_demo`` that writes them.
    Installed in demo mode and in the tests only; nothing but the tests and ``seed_demo`` imports it."""

    name = "demo"
    verbose_name = "Demo world"
    default_auto_field = "django.db.models.BigAutoField"
