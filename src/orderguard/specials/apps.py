from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpecialsConfig(AppConfig):
    name = "orderguard.specials"
    verbose_name = _("特殊需求")
    default_auto_field = "django.db.models.BigAutoField"
