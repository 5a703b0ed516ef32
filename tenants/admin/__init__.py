"""The recruiter console's tenant wall (``tenant_scoped``), and the admin for tenants, members
and the audit trail (``organisation``). The apps' own admins import the wall from here."""

from .organisation import AuditEventAdmin, MembershipAdmin, TenantAdmin
from .tenant_scoped import (
    AccountField,
    ReadOnlyInline,
    TenantScopedAdmin,
    form_add_service_errors,
    is_console_member,
)

__all__ = [
    "AccountField",
    "AuditEventAdmin",
    "MembershipAdmin",
    "ReadOnlyInline",
    "TenantAdmin",
    "TenantScopedAdmin",
    "form_add_service_errors",
    "is_console_member",
]
