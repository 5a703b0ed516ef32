from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The console's player (interviews) reads fresh assets through the video provider.
        from interviews.playback import video_reader_register

        from .video.playback import fresh_play_url

        video_reader_register(fresh_play_url)
