"""The admin for tenants, their members and the audit trail."""

from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .. import services
from ..models import AuditEvent, Membership, Tenant
from .tenant_scoped import TenantScopedAdmin

# --- Accounts -------------------------------------------------------------------------------

# Two-factor secrets are shown to nobody, operators included (allauth.mfa registers them).
if admin.site.is_registered(Authenticator):
    admin.site.unregister(Authenticator)

User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class ConsoleUserAdmin(UserAdmin):
    """Django's user admin (operators only), with a password an operator sets for someone in
    the audit trail like one a user changes themselves."""

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, unquote(id))
            services.console_account_record(
                action="account.password_changed",
                user=user,
                actor=request.user,
                details={"by_operator": True},
            )
        return response


# --- Tenants --------------------------------------------------------------------------------


class TenantSettingsForm(forms.ModelForm):
    """The tenant settings page, with the confirmation a member gives to save a network list
    that leaves out their own address: tenants.services.tenant_update_settings refuses it
    without, and its message is shown beside the list (TenantScopedAdmin)."""

    confirm_network_lockout = forms.BooleanField(
        required=False,
        label=services.LOCKOUT_CONFIRMATION,
        help_text="Needed only when the networks above leave out the address you are using.",
    )

    class Meta:
        model = Tenant
        fields = ("allowed_admin_networks",)  # the admin's `fields` below name the rest


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    form = TenantSettingsForm
    tenant_lookup = "pk"
    list_display = ("name", "slug", "status", "retention_days", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    fields = (
        "name",
        "slug",
        "status",
        "retention_days",
        "invitation_expiry_days",
        "allowed_admin_networks",
        "confirm_network_lockout",
        "require_two_factor",
        "branding",
        "video_enabled",
        "default_model",
        "default_voice",
        "default_language",
    )

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ()
        return ("slug", "status")

    def has_add_permission(self, request):
        # Tenants are provisioned with `manage.py create_tenant`, which creates the owner too.
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        membership = self._membership(request)
        return request.user.is_superuser or bool(membership and membership.can_manage)

    def save_model(self, request, obj, form, change):
        services.tenant_update_settings(
            tenant=obj,
            actor=request.user,
            changes={
                f: form.cleaned_data[f] for f in form.changed_data if f != "confirm_network_lockout"
            },
            operator=request.user.is_superuser,
            lockout_confirmed=form.cleaned_data.get("confirm_network_lockout", False),
        )


# --- Memberships ----------------------------------------------------------------------------


class MembershipAddForm(forms.ModelForm):
    email = forms.EmailField(help_text="They sign in to the console with this address.")

    class Meta:
        model = Membership
        fields = ("role",)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ("user_email", "role", "tenant", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "user__username")
    list_select_related = ("user", "tenant")
    ordering = ("user__email",)
    account_fields = ("user",)

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email or obj.user.get_username()

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            fields = ["email", "role"]
            return ["tenant", *fields] if request.user.is_superuser else fields
        return ["user", "role"]

    def get_readonly_fields(self, request, obj=None):
        return self.with_account_fields(request, ["user"] if obj is not None else [])

    def _can_manage(self, request):
        membership = self._membership(request)
        return request.user.is_superuser or bool(membership and membership.can_manage)

    def has_add_permission(self, request):
        return self._can_manage(request)

    def has_change_permission(self, request, obj=None):
        return self._can_manage(request)

    def has_delete_permission(self, request, obj=None):
        return self._can_manage(request)

    def save_model(self, request, obj, form, change):
        actor_membership = self._membership(request)
        if change:
            services.membership_change_role(
                membership=obj,
                role=form.cleaned_data["role"],
                actor=request.user,
                actor_membership=actor_membership,
            )
        else:
            created = services.membership_add(
                tenant=self.tenant_for(request, obj),
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                actor_membership=actor_membership,
            )
            obj.pk, obj.user, obj.tenant = created.pk, created.user, created.tenant
            obj._state.adding = False

    def delete_model(self, request, obj):
        services.membership_remove(
            membership=obj, actor=request.user, actor_membership=self._membership(request)
        )

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            self.delete_model(request, membership)


# --- Audit trail ----------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(TenantScopedAdmin):
    list_display = ("created_at", "actor_label", "action", "target_type", "target_repr", "ip")
    list_filter = ("action", "target_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("target_repr", "actor_label", "target_id", "request_id")
    date_hierarchy = "created_at"
    list_select_related = ()
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    account_fields = ("actor",)

    def get_exclude(self, request, obj=None):
        return []

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
