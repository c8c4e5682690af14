from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from orderguard.specials.models import CourierContract


class CourierContractForm(forms.ModelForm):
    class Meta:
        model = CourierContract
        fields = [
            "warehouse",
            "courier",
            "active",
            "regions",
            "designated_fee",
            "expedited_fee",
            "cutoff",
            "expedited_capacity",
            "note",
        ]

    def clean_regions(self) -> list[str]:
        """A list of province or city names (empty: nationwide); anything else names the field."""
        value: Any = self.cleaned_data.get("regions")
        if value in (None, ""):
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise forms.ValidationError(_('服务地区应为省份或城市名称的列表，如 ["广东省", "杭州市"]'))
        return [v.strip() for v in value]


@admin.register(CourierContract)
class CourierContractAdmin(admin.ModelAdmin):
    """Courier contracts per warehouse (H5.1): managers and admins keep them here."""

    form = CourierContractForm
    list_display = (
        "warehouse",
        "courier",
        "active",
        "regions",
        "designated_fee",
        "expedited_fee",
        "cutoff",
        "expedited_capacity",
    )
    list_filter = ("warehouse", "courier", "active")
    list_select_related = ("warehouse",)
