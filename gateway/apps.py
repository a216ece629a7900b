from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Partner gateway"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gateway import checks  # noqa: F401  (registers the system checks)
        from gateway.api import schema  # noqa: F401  (registers the OpenAPI security scheme)
