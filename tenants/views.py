from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .middleware import ACTIVE_TENANT_SESSION_KEY


@require_POST
@staff_member_required
def tenant_switch(request):
    """Switch the console to another tenant the user is a member of."""
    tenant_id = request.POST.get("tenant_id", "")
    membership = next((m for m in request.memberships if str(m.tenant_id) == tenant_id), None)
    if membership is None:
        raise Http404("No such organisation.")
    request.session[ACTIVE_TENANT_SESSION_KEY] = str(membership.tenant_id)
    messages.info(request, f"You are now working in {membership.tenant.name}.")
    return redirect("admin:index")
