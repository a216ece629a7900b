from django.apps import AppConfig
from django.db.backends.signals import connection_created


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Partner gateway"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oauth2_provider.models import get_application_model

        from audit.config_trail import register_configuration_model
        from gateway import (
            checks,  # noqa: F401  (registers the system checks)
            models,
        )
        from gateway.api import schema  # noqa: F401  (registers the OpenAPI security scheme)
        from gateway.databases import standby_guard_install

        # A connection to the standby refuses queries made inside an action (gateway/databases.py).
        connection_created.connect(standby_guard_install, dispatch_uid="gateway.standby_guard")

        # The partner edge's configuration goes on the trail: holder endpoints, webhooks and OAuth clients.
        register_configuration_model(models.HolderEndpoint, m2m_fields={"categories"})
        register_configuration_model(models.WebhookEndpoint)
        # Hashed on save, and still never logged: neither the value nor that it changed.
        register_configuration_model(get_application_model(), exclude_fields=["client_secret"])
