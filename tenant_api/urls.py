from django.urls import path

from .views import candidates, templates, token

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
]
