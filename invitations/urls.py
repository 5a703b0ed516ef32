from django.urls import path

from . import views

urlpatterns = [
    path("i/<str:token>", views.invitation_open, name="invitation_open"),
    path("interview/consent/", views.consent, name="interview_consent"),
    path("interview/accommodation/", views.accommodation, name="interview_accommodation"),
    path("interview/sign-in/", views.sign_in, name="interview_sign_in"),
    path("interview/device-check/", views.device_check, name="interview_device_check"),
    path("interview/start/", views.start, name="interview_start"),
    path("interview/signed-out/", views.signed_out, name="interview_signed_out"),
]
