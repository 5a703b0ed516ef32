"""What the operator API reads and writes about a tenant."""

from __future__ import annotations

from rest_framework import serializers

from tenants.services import tenant_deletion_due_at


class TenantOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    retention_days = serializers.IntegerField()
    invitation_expiry_days = serializers.IntegerField()
    allowed_admin_networks = serializers.ListField(child=serializers.CharField())
    require_two_factor = serializers.BooleanField()
    branding = serializers.DictField()
    video_enabled = serializers.BooleanField()
    default_model = serializers.CharField()
    default_voice = serializers.CharField()
    default_language = serializers.CharField()
    deletion_requested_at = serializers.DateTimeField(allow_null=True)
    deletion_due_at = serializers.SerializerMethodField()
    deleted_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_deletion_due_at(self, tenant) -> str | None:
        due = tenant_deletion_due_at(tenant)
        return serializers.DateTimeField().to_representation(due) if due else None


class TenantSettingsSerializer(serializers.Serializer):
    """Limits and settings an operator may set (all optional; the service validates ranges)."""

    name = serializers.CharField(max_length=200, required=False)
    retention_days = serializers.IntegerField(required=False)
    invitation_expiry_days = serializers.IntegerField(required=False)
    allowed_admin_networks = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=100
    )
    require_two_factor = serializers.BooleanField(required=False)
    branding = serializers.DictField(required=False)
    video_enabled = serializers.BooleanField(required=False)
    default_model = serializers.CharField(max_length=64, required=False)
    default_voice = serializers.CharField(max_length=32, required=False)
    default_language = serializers.CharField(max_length=16, required=False)


class TenantUpdateSerializer(TenantSettingsSerializer):
    slug = serializers.SlugField(max_length=63, required=False)


class TenantCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=63, required=False, default="")
    owner_email = serializers.EmailField()
    settings = TenantSettingsSerializer(required=False)


class SuspendSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="")
