"""Writes for tenants, memberships and the audit trail.

Callers use ``from tenants import services`` or ``from tenants.services import <name>``; each
module below does one job, and this package names everything public once.
"""

from .audit import acting_person, audit_events_prune, audit_record, audit_record_many
from .bypass import operator_bypass, operator_viewed_list, operator_viewed_object, system_bypass
from .maintenance import platform_maintenance_set
from .memberships import membership_add, membership_change_role, membership_remove
from .signin import (
    console_account_record,
    console_login_failed,
    console_login_retry_after,
    console_login_succeeded,
    console_logout_recorded,
    console_password_changed,
    console_username_normalize,
    user_record_login,
)
from .tenants import (
    LOCKOUT_CONFIRMATION,
    OPERATOR_ONLY_FIELDS,
    TENANT_EDITABLE_FIELDS,
    owner_setup_email,
    tenant_create,
    tenant_deletion_due_at,
    tenant_deletion_request,
    tenant_networks_exclude_address,
    tenant_resume,
    tenant_suspend,
    tenant_update_settings,
    validate_networks,
)
from .two_factor import (
    TwoFactorThrottled,
    two_factor_disable,
    two_factor_enrol,
    two_factor_recovery_codes_left,
    two_factor_reset,
    two_factor_retry_after,
    two_factor_secret_new,
    two_factor_setup_details,
    two_factor_verify,
)

__all__ = [
    "LOCKOUT_CONFIRMATION",
    "OPERATOR_ONLY_FIELDS",
    "TENANT_EDITABLE_FIELDS",
    "TwoFactorThrottled",
    "acting_person",
    "audit_events_prune",
    "audit_record",
    "audit_record_many",
    "console_account_record",
    "console_login_failed",
    "console_login_retry_after",
    "console_login_succeeded",
    "console_logout_recorded",
    "console_password_changed",
    "console_username_normalize",
    "membership_add",
    "membership_change_role",
    "membership_remove",
    "operator_bypass",
    "operator_viewed_list",
    "operator_viewed_object",
    "owner_setup_email",
    "platform_maintenance_set",
    "system_bypass",
    "tenant_create",
    "tenant_deletion_due_at",
    "tenant_deletion_request",
    "tenant_networks_exclude_address",
    "tenant_resume",
    "tenant_suspend",
    "tenant_update_settings",
    "two_factor_disable",
    "two_factor_enrol",
    "two_factor_recovery_codes_left",
    "two_factor_reset",
    "two_factor_retry_after",
    "two_factor_secret_new",
    "two_factor_setup_details",
    "two_factor_verify",
    "user_record_login",
    "validate_networks",
]
