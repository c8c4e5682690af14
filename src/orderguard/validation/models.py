"""A merchant's own choice of severity for a check (rules as configuration)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from orderguard.core.models import TimeStampedModel


class RuleSetting(models.TextChoices):
    """What a merchant may make of a rule: blocking, a warning only, or not checked at all."""

    BLOCKING = "blocking", _("阻断")
    WARNING = "warning", _("提示")
    OFF = "off", pgettext_lazy("rule level", "关闭")


class RuleOverride(TimeStampedModel):
    """One merchant's severity for one finding code (`validation.checks.RULES`), in place of the
    rule's default. No row: the default applies."""

    merchant = models.ForeignKey("tenancy.Merchant", on_delete=models.PROTECT, related_name="rule_overrides")
    code = models.CharField(_("规则编码"), max_length=60)
    severity = models.CharField(_("级别"), max_length=10, choices=RuleSetting.choices)
    changed_by = models.CharField(_("修改人"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("校验规则设置")
        verbose_name_plural = _("校验规则设置")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="rule_override_unique_code"),
            models.CheckConstraint(
                condition=models.Q(severity__in=["blocking", "warning", "off"]),
                name="rule_override_severity_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.severity}"
