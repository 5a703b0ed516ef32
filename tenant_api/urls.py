from django.urls import path

from .views import candidates, invitations, sessions, templates, token, webhooks

urlpatterns = [
    path("oauth/token", token.TokenView.as_view(), name="api_token"),
    path("candidates/", candidates.CandidateList.as_view(), name="api_candidates"),
    path(
        "candidates/by-external-id/<str:external_id>/",
        candidates.CandidateByExternalId.as_view(),
        name="api_candidate_upsert",
    ),
    path(
        "candidates/<uuid:candidate_id>/",
        candidates.CandidateDetail.as_view(),
        name="api_candidate",
    ),
    path("templates/", templates.TemplateList.as_view(), name="api_templates"),
    path("templates/<uuid:template_id>/", templates.TemplateDetail.as_view(), name="api_template"),
    path("invitations/", invitations.InvitationList.as_view(), name="api_invitations"),
    path(
        "invitations/<uuid:invitation_id>/",
        invitations.InvitationDetail.as_view(),
        name="api_invitation",
    ),
    path(
        "invitations/<uuid:invitation_id>/resend/",
        invitations.InvitationResend.as_view(),
        name="api_invitation_resend",
    ),
    path(
        "invitations/<uuid:invitation_id>/revoke/",
        invitations.InvitationRevoke.as_view(),
        name="api_invitation_revoke",
    ),
    path("sessions/", sessions.SessionList.as_view(), name="api_sessions"),
    path("sessions/<uuid:session_id>/", sessions.SessionRead.as_view(), name="api_session"),
    path(
        "sessions/<uuid:session_id>/decision/",
        sessions.SessionDecision.as_view(),
        name="api_session_decision",
    ),
    path("webhooks/", webhooks.WebhookEndpointList.as_view(), name="api_webhooks"),
    path(
        "webhooks/<uuid:endpoint_id>/",
        webhooks.WebhookEndpointDetail.as_view(),
        name="api_webhook",
    ),
    path(
        "webhooks/<uuid:endpoint_id>/test/",
        webhooks.WebhookEndpointTest.as_view(),
        name="api_webhook_test",
    ),
    path(
        "webhooks/<uuid:endpoint_id>/deliveries/",
        webhooks.WebhookDeliveryList.as_view(),
        name="api_webhook_deliveries",
    ),
]
