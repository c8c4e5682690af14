from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orderguard.tenancy.models import ApiToken, Membership, Merchant
from orderguard.tenancy.services import user_role_apply, user_sessions_end


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "contact_email", "active")
    search_fields = ("code", "name")
    list_filter = ("active",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Setting or removing a role here also sets the user's role group and `is_staff`."""

    list_display = ("user", "role", "merchant", "lead")
    list_filter = ("role", "merchant")
    raw_id_fields = ("user", "lead")

    # as on the user page: only a superuser changes a superuser (a role would demote it)
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.user.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.user.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if obj.user.is_superuser and not request.user.is_superuser:
            raise PermissionDenied
        super().save_model(request, obj, form, change)
        user_role_apply(user_id=obj.user_id)
        if change and "user" in form.changed_data and form.initial.get("user"):
            # the role moved to another user: the first one no longer has it
            user_role_apply(user_id=int(form.initial["user"]))

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        super().delete_model(request, obj)
        user_role_apply(user_id=obj.user_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        user_ids = list(queryset.values_list("user_id", flat=True))
        super().delete_queryset(request, queryset)
        for user_id in user_ids:
            user_role_apply(user_id=user_id)


class MembershipInline(admin.StackedInline):
    model = Membership
    fk_name = "user"
    fields = ("role", "merchant", "lead")
    raw_id_fields = ("lead",)
    max_num = 1
    can_delete = True


admin.site.unregister(User)


@admin.register(User)
class OrderGuardUserAdmin(UserAdmin):
    """Users with their role. Role group and `is_staff` follow the role and cannot be set by
    hand; only a superuser makes, changes or deletes superusers. Disabling a user ends its
    sessions at once."""

    inlines = [MembershipInline]
    list_display = ("username", "role", "is_active", "is_staff", "last_login")
    list_filter = ("membership__role", "is_active", "is_superuser")
    list_select_related = ("membership",)

    @admin.display(description=Membership._meta.get_field("role").verbose_name, ordering="membership__role")
    def role(self, obj: User) -> str:
        membership = getattr(obj, "membership", None)
        return membership.get_role_display() if membership is not None else "-"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # an administrator who is no superuser could otherwise set a superuser's password and
        # sign in as it
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [*super().get_readonly_fields(request, obj), "is_staff", "groups", "user_permissions"]
        if not request.user.is_superuser:
            fields.append("is_superuser")
        return fields

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_sessions_end(user_id=obj.pk)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user_role_apply(user_id=form.instance.pk)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made with `orderguard token create` (the token is shown once); here they can
    be seen by prefix and revoked."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    # revoking is one way: a revoked token is never brought back (make a new one)
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    actions = ["revoke"]

    @admin.action(description=gettext_lazy("吊销所选令牌"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, _("已吊销 %(count)s 个令牌") % {"count": count})

    def has_add_permission(self, request):
        return False
