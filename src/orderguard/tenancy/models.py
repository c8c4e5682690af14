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


class Role(models.TextChoices):
    """Who a user is. Warehouse staff see every merchant; a merchant user sees its own only."""

    OPERATOR = "operator", _("仓库操作员")
    SERVICE_AGENT = "cs_agent", _("客服")
    TECH_ONCALL = "tech_oncall", _("技术值班")
    MANAGER = "manager", _("仓库主管")
    ADMIN = "admin", _("管理员")
    MERCHANT = "merchant", _("商家用户")


# Warehouse staff: every role but the merchant user's.
STAFF_ROLES: frozenset[Role] = frozenset(r for r in Role if r != Role.MERCHANT)


class Membership(TimeStampedModel):
    """A user's role, and for a merchant user the one merchant it belongs to."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="membership")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    merchant = models.ForeignKey(
        Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    # S2: whom this person's overdue cases escalate to first (then the managers).
    lead = models.ForeignKey(
        "auth.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="team_memberships",
        verbose_name=_("组长"),
    )

    class Meta:
        verbose_name = _("用户角色")
        verbose_name_plural = _("用户角色")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(role="merchant") & models.Q(merchant__isnull=False))
                | (~models.Q(role="merchant") & models.Q(merchant__isnull=True)),
                name="membership_merchant_iff_merchant_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.role}"


class ApiToken(models.Model):
    """A bearer token for an integration or a merchant's system. Only its SHA-256 is kept; the
    token itself is shown once, when it is made (`orderguard token create`)."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
