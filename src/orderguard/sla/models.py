from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.core.choices import ExceptionType
from orderguard.core.models import TimeStampedModel


class SlaPolicy(TimeStampedModel):
    """S1: how long a step of a case type may take. Defaults come from REQUIREMENTS.md S1
    (merchant notified of a stock-out in 1 h, buyer contacted in 2 h, outage triaged in 30 min);
    all are editable in admin."""

    case_type = models.CharField(_("异常类型"), max_length=2, choices=ExceptionType.choices)
    step = models.CharField(_("环节"), max_length=50)
    minutes = models.PositiveIntegerField(_("时限(分钟)"))
    warn_before_minutes = models.PositiveIntegerField(_("提前预警(分钟)"), default=15)

    class Meta:
        verbose_name = _("时效标准")
        verbose_name_plural = _("时效标准")
        constraints = [models.UniqueConstraint(fields=["case_type", "step"], name="slapolicy_unique")]

    def __str__(self) -> str:
        return f"{self.case_type}/{self.step}: {self.minutes} min"
