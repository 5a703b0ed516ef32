"""The recruiter console's tenant wall.

``TenantScopedAdmin`` is the one place the console scopes querysets and permissions to the
request's tenant (resolved by tenants.middleware); every tenant-owned model's admin extends it.
``AccountField`` shows the accounts its rows point at, behind the database wall.
"""

from collections import Counter

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import ForeignKey
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from .. import selectors, services
from ..models import Role, Tenant

_READ_METHODS = {"GET", "HEAD"}


def _tenant_field_of(model) -> str | None:
    for field in model._meta.get_fields():
        if isinstance(field, ForeignKey) and field.related_model is Tenant:
            return field.name
    return None


class AccountField:
    """A read-only field showing the account a user foreign key points at: the person's name
    and address, linked to the account's page only for a viewer who may open it (operators;
    a member following the link would meet a 403). Used by ``TenantScopedAdmin``, which puts
    it in place of each name in its ``account_fields``."""

    def __init__(self, field, *, linked: bool):
        self.field = field
        self.linked = linked
        self.__name__ = field.name  # the row's CSS class, as for the field itself
        self.short_description = capfirst(field.verbose_name)

    def __eq__(self, other):
        return isinstance(other, AccountField) and (other.field, other.linked) == (
            self.field,
            self.linked,
        )

    def __hash__(self):
        return hash((self.field, self.linked))

    def __call__(self, obj):
        try:
            user = getattr(obj, self.field.name)
        except ObjectDoesNotExist:
            # Accounts are behind the database wall: a tenant reads those of its members and
            # candidates only, not a platform operator's or a removed member's. The tenant's
            # audit trail still names whoever acted in it.
            label = selectors.actor_label_in_trail(getattr(obj, self.field.attname))
            who = label or "someone"
            return f"{who} (not a member of this organisation: platform staff or a former member)"
        if user is None:
            return "-"
        name = user.get_full_name()
        label = f"{name} <{user.email}>" if name and user.email else user.email or name
        label = label or user.get_username()
        if not self.linked:
            return label
        url = reverse(
            f"admin:{user._meta.app_label}_{user._meta.model_name}_change", args=[user.pk]
        )
        return format_html('<a href="{}">{}</a>', url, label)


class TenantScopedAdmin(admin.ModelAdmin):
    """Members see and change only their tenant's rows; viewers only read; owners and admins
    may delete; platform operators (superusers) see every tenant and pick it on forms.

    Objects of another tenant answer 404, never a redirect that would confirm they exist.
    An operator's reads of a tenant's objects (their pages, and list pages showing its rows)
    are recorded in that tenant's audit trail, so the tenant sees them.
    """

    #: Path from this model to its tenant's id, for the queryset filter.
    tenant_lookup = "tenant"
    #: Who may delete: by default only owners and admins.
    delete_roles = frozenset({Role.OWNER, Role.ADMIN})

    # --- Django's own change log: not written ---
    # The services record every change in the audit trail, without names or addresses. The
    # admin's log would keep each object's name (a candidate's name and email) in a table of
    # its own, beyond erasure and retention.

    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletion(self, request, obj, object_repr):
        return None

    def log_deletions(self, request, queryset):
        return None

    # --- scoping ---

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if request.tenant is None:
            return queryset.none()
        return queryset.filter(**{self.tenant_lookup: request.tenant.pk})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if not request.user.is_superuser:
            if related is Tenant:
                kwargs["queryset"] = Tenant.objects.filter(pk=getattr(request.tenant, "pk", None))
            elif _tenant_field_of(related):
                kwargs["queryset"] = related._default_manager.filter(
                    **{_tenant_field_of(related): request.tenant}
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and "tenant" not in exclude:
            exclude.append("tenant")  # set from the request by the service
        return exclude

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        hidden = () if request.user.is_superuser else ("tenant",)
        return [
            (
                name,
                {
                    **options,
                    "fields": self.with_account_fields(
                        request, [f for f in options["fields"] if f not in hidden]
                    ),
                },
            )
            for name, options in fieldsets
        ]

    # --- accounts shown read-only ---

    #: User foreign keys shown read-only: shown as the person, linked only for those who may
    #: open account pages (``AccountField``).
    account_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        return self.with_account_fields(request, super().get_readonly_fields(request, obj))

    def with_account_fields(self, request, names):
        """``names`` with each of ``account_fields`` replaced by its ``AccountField``."""
        if not self.account_fields:
            return list(names)
        user_admin = self.admin_site.get_model_admin(get_user_model())
        linked = user_admin.has_view_or_change_permission(request)
        return [
            AccountField(self.model._meta.get_field(n), linked=linked)
            if n in self.account_fields
            else n
            for n in names
        ]

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the index with "doesn't exist" for a missing object; for a
        # guessed id of another tenant's object the honest answer is a plain 404.
        raise Http404("No such object.")

    def _require_object(self, request, object_id, *, page: str):
        # Before any permission check, so that a role without e.g. delete rights also gets
        # 404 (not 403) for ids outside its tenant, like everyone else.
        if not object_id:
            return None
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such object.")
        self._record_operator_read(request, obj, page=page)
        return obj

    def tenant_id_of(self, obj):
        """The id of the tenant ``obj`` belongs to (None for platform-level rows)."""
        if self.tenant_lookup == "pk":
            return obj.pk
        *path, field = self.tenant_lookup.split("__")
        for name in path:
            obj = getattr(obj, name)
        return getattr(obj, f"{field}_id")

    def _record_operator_read(self, request, obj, *, page: str) -> None:
        # Writes are recorded as they happen; reads of a tenant's data by an operator are
        # recorded here, in the tenant's own trail.
        tenant_id = self.tenant_id_of(obj)
        if request.user.is_superuser and request.method in _READ_METHODS and tenant_id:
            services.operator_viewed_object(
                actor=request.user, target=obj, tenant_id=tenant_id, page=page
            )

    def history_view(self, request, object_id, extra_context=None):
        self._require_object(request, object_id, page="history")
        return super().history_view(request, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.user.is_superuser and request.method in _READ_METHODS and changelist:
            # The page's own rows (already fetched for it), counted per tenant.
            shown = Counter(self.tenant_id_of(obj) for obj in changelist.result_list)
            shown.pop(None, None)
            services.operator_viewed_list(actor=request.user, model=self.model, shown=shown)
        return response

    # --- permissions (roles, not Django's per-model permission rows) ---

    def _membership(self, request):
        return getattr(request, "membership", None)

    def has_module_permission(self, request):
        return is_console_member(request)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        membership = self._membership(request)
        return request.user.is_superuser or bool(membership and membership.can_edit)

    def has_change_permission(self, request, obj=None):
        membership = self._membership(request)
        return request.user.is_superuser or bool(membership and membership.can_edit)

    def has_delete_permission(self, request, obj=None):
        membership = self._membership(request)
        return request.user.is_superuser or bool(
            membership and membership.role in self.delete_roles
        )

    # --- service errors ---
    # Services raise ValidationError for a rule the form could not know (a duplicate address,
    # the last owner, a cross-tenant reference...). The whole admin view runs in one
    # transaction, so nothing is half-written. A refused form is shown again as Django shows
    # its own errors: with what was typed, each message beside the field it names. A refused
    # delete or action lands back on the page with the reason.

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self._require_object(request, object_id, page="change")
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            # The view's transaction is rolled back. The same POST is processed again with
            # the refusal attached to the form (get_form), so the form is invalid and Django
            # renders it - typed values, inlines and all - without saving.
            request.console_form_refusal = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, "console_form_refusal", None)
        if refusal is None:
            return form_class

        class RefusedForm(form_class):
            def _post_clean(self):
                super()._post_clean()
                form_add_service_errors(self, refusal)

        return RefusedForm

    def delete_view(self, request, object_id, extra_context=None):
        self._require_object(request, object_id, page="delete")
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            self.report_validation_error(request, error)
            return HttpResponseRedirect(request.get_full_path())

    def response_action(self, request, queryset):
        try:
            with transaction.atomic():
                return super().response_action(request, queryset)
        except ValidationError as error:
            self.report_validation_error(request, error)
            return HttpResponseRedirect(request.get_full_path())

    # --- helpers for subclasses ---

    def tenant_for(self, request, obj):
        """The tenant a new object belongs to: the request's, or the operator's choice."""
        if request.user.is_superuser:
            return obj.tenant
        return request.tenant

    def report_validation_error(self, request, error: ValidationError) -> None:
        for message in error.messages:
            self.message_user(request, message, level=messages.ERROR)


def form_add_service_errors(form, error: ValidationError) -> None:
    """Put a service's refusal on ``form``: each message beside the field it names (a
    ValidationError raised with a dict of field names), the rest above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, ValidationError(errors))
    else:
        form.add_error(None, error)


def is_console_member(request) -> bool:
    """Whether the request may see the console's pages at all: an operator, or a member of
    the request's tenant (roles decide the rest; Django's per-model permission rows do not)."""
    return request.user.is_superuser or getattr(request, "membership", None) is not None


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None):
        return is_console_member(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
