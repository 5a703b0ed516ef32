"""The candidate pages' erasure: "Erase personal data" on a candidate's page and in the list's
actions, for owners and admins, behind a confirmation page like Django's delete. Deleting a
candidate from the console erases the same way (this app extends the candidate admin that
invitations extends; neither knows of it)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from interviews.models import ON_CALL_STATUSES, Candidate, InterviewSession
from invitations.admin import CandidateWithInvitationsAdmin

from . import selectors, services

admin.site.unregister(Candidate)


@admin.register(Candidate)
class CandidateAdmin(CandidateWithInvitationsAdmin):
    change_form_template = "admin/privacy/candidate_change_form.html"
    actions = [*CandidateWithInvitationsAdmin.actions, "erase_personal_data"]

    def get_urls(self):
        view = self.admin_site.admin_view(self.erase_view)
        erase = path("<path:object_id>/erase/", view, name="interviews_candidate_erase")
        return [erase, *super().get_urls()]

    def has_erase_permission(self, request, obj=None) -> bool:
        """Erasure deletes: owners, admins and operators (``delete_roles``)."""
        return self.has_delete_permission(request, obj)

    def erase_view(self, request, object_id):
        """One candidate's erasure: the confirmation page, and the erasure once confirmed."""
        candidate = self._require_object(request, object_id, page="erase")
        if not self.has_erase_permission(request, candidate):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("post") == "yes":
            if self._erase(request, [candidate]):
                return HttpResponseRedirect(reverse("admin:interviews_candidate_changelist"))
            return HttpResponseRedirect(
                reverse("admin:interviews_candidate_change", args=[candidate.pk])
            )
        return self._confirmation(request, [candidate], action=None)

    @admin.action(description="Erase personal data of selected candidates", permissions=["erase"])
    def erase_personal_data(self, request, queryset):
        candidates = list(queryset)
        if not candidates:
            return None
        if request.POST.get("post") == "yes":
            self._erase(request, candidates)
            return None
        return self._confirmation(request, candidates, action="erase_personal_data")

    def _confirmation(self, request, candidates, *, action):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Erase personal data",
            "subjects": [(c, selectors.candidate_data_counts(c)) for c in candidates],
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/privacy/erase_confirmation.html", context)

    def _erase(self, request, candidates) -> int:
        erased = 0
        for candidate in candidates:
            try:
                services.candidate_erase(candidate=candidate, actor=request.user)
            except services.InterviewInProgress as refused:
                self.message_user(request, f"{candidate}: {refused.message}", messages.ERROR)
            else:
                erased += 1
        if erased:
            self.message_user(
                request,
                f"Erased the personal data of {erased} candidate(s). The audit trail "
                "records what was erased, without names.",
                messages.SUCCESS,
            )
        return erased

    # Deleting a candidate is the same erasure, recorded as a deletion.

    def get_deleted_objects(self, objs, request):
        to_delete, counts, perms_needed, _ = super().get_deleted_objects(objs, request)
        # Django's collector sees each of the candidate's sessions protecting its consent (the
        # only protection inside a candidate's data) and would refuse to delete anyone who was
        # interviewed; the erasure deletes the sessions before the consents.
        # A candidate on a call right now is refused, as the erasure refuses it.
        in_progress = [
            f"Interview in progress: {session}"
            for session in InterviewSession.objects.filter(
                candidate__in=objs, status__in=ON_CALL_STATUSES
            ).select_related("template", "candidate")
        ]
        return to_delete, counts, perms_needed, in_progress

    def delete_model(self, request, obj):
        services.candidate_erase(candidate=obj, actor=request.user, action="candidate.deleted")

    def delete_queryset(self, request, queryset):
        for candidate in queryset:
            services.candidate_erase(
                candidate=candidate, actor=request.user, action="candidate.deleted"
            )
