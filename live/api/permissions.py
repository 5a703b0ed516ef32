"""Who may call the session API: the holder of the session's own token."""

from __future__ import annotations

from rest_framework import exceptions, permissions


class IsSessionOwner(permissions.BasePermission):
    """The token's session is the one in the URL (else 404, as for a missing session)."""

    def has_permission(self, request, view):
        claims = request.auth
        if claims is None:
            raise exceptions.NotAuthenticated("A session token is required.")
        if str(view.kwargs.get("session_id")) != claims.session_id:
            raise exceptions.NotFound("No such interview session.")
        return True
