"""Which powerful browser features (camera, microphone...) a page may use: the
``Permissions-Policy`` header, set for every response by ``config.security_headers``. Every
page has them all off, except the few views marked here, which grant the camera and the
microphone to our own origin (never to a frame of another site)."""

from __future__ import annotations

from functools import wraps

#: The response attribute a marked view sets; read by config.security_headers.
CAPTURE_ATTRIBUTE = "permissions_policy_capture"


def camera_and_microphone(view):
    """Marks a view whose page records the candidate (the device check, the interview): its
    Permissions-Policy grants ``camera`` and ``microphone`` to our origin."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        response = view(*args, **kwargs)
        setattr(response, CAPTURE_ATTRIBUTE, True)
        return response

    return wrapped
