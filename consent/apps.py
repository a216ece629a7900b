from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent and policy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """The policy catalogue and the consent age rules are configuration: every change goes on the trail."""
        from audit.config_trail import register_configuration_model
        from consent import models

        register_configuration_model(models.ConsentAgeRule)
        for model in (models.Sector, models.Organisation, models.DataCategory, models.CategoryField):
            register_configuration_model(model)
        register_configuration_model(models.Purpose)
        register_configuration_model(models.LegalBasis)
        register_configuration_model(models.SharingRule, m2m_fields={"categories", "purposes"})
