from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orderguard.core.models import TimeStampedModel


class Merchant(TimeStampedModel):
    """A merchant whose orders the warehouse ships. Every tenant-owned row points here."""

    code = models.SlugField(_("编码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("商家")
        verbose_name_plural = _("商家")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
