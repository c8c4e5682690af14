from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from orderguard.validation.checks import RULES
from orderguard.validation.models import RuleOverride
from orderguard.validation.rules import FIXED_CODES


class RuleOverrideForm(forms.ModelForm):
    # only the rules a merchant may change (no stock or order-line codes)
    code = forms.ChoiceField(
        label=_("规则编码"), choices=[(code, code) for code in RULES if code not in FIXED_CODES]
    )

    class Meta:
        model = RuleOverride
        fields = ("merchant", "code", "severity")


@admin.register(RuleOverride)
class RuleOverrideAdmin(admin.ModelAdmin):
    form = RuleOverrideForm
    list_display = ("merchant", "code", "severity", "changed_by", "updated_at")
    list_filter = ("merchant", "severity")
    search_fields = ("code",)
    list_select_related = ("merchant",)

    def save_model(
        self, request: HttpRequest, obj: RuleOverride, form: forms.ModelForm, change: bool
    ) -> None:
        obj.changed_by = f"user:{request.user.get_username()}"[:150]
        super().save_model(request, obj, form, change)
