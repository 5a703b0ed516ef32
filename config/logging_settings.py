"""The LOGGING setting: one redacting JSON handler (config.logging) for every logger, in every
mode, Django's and the libraries' included."""


def logging_settings(level: str) -> dict:
    """Django's LOGGING dictionary, the root logger at ``level``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "config.logging.RequestContextFilter"}},
        "formatters": {
            "json": {
                "()": "config.logging.RedactingJsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # One handler, redacted, in every mode. Django's own logging (DEFAULT_LOGGING) gives
        # `django` a console handler when DEBUG and `django.server` one always, which print
        # request lines ("Not Found: /i/<raw token>") unredacted beside ours; listing a logger
        # here replaces its handlers, so these propagate to the root's JSON handler alone.
        # (Django's mail_admins goes too: ADMINS is not configured, errors are in the log.)
        "loggers": {
            "django": {"handlers": [], "propagate": True},
            # Errors only: each answer is already one "request" line with its status
            # (config.middleware), so a 404 is logged once.
            "django.request": {"handlers": [], "level": "ERROR", "propagate": True},
            "django.security": {"handlers": [], "propagate": True},
            "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
            # daphne's runserver access log ("HTTP GET /i/... 404").
            "django.channels.server": {"handlers": [], "level": "WARNING", "propagate": True},
            "daphne": {"handlers": [], "level": "WARNING", "propagate": True},
            "channels": {"handlers": [], "propagate": True},
            # At DEBUG, websockets logs every handshake header (the sideband's bearer key) and
            # every frame (transcripts, audio events): never below INFO.
            "websockets": {"level": "INFO"},
        },
    }
