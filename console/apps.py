from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The privacy officers' console (``/privacy/``): search, oversight, exports and verification over the trail."""

    name = "console"
    verbose_name = "Privacy console"
    default_auto_field = "django.db.models.BigAutoField"
