from django.urls import path

from . import views

urlpatterns = [
    path("i/<str:token>", views.invitation_open, name="invitation_open"),
]
