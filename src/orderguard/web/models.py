from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserPreference(models.Model):
    """A user's own settings of the pages: the language they read them in (one of
    settings.LANGUAGES), whatever browser they sign in from."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(_("语言"), max_length=10, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("用户偏好")
        verbose_name_plural = _("用户偏好")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"
