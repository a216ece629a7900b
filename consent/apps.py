from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent and policy"
    default_auto_field = "django.db.models.BigAutoField"
