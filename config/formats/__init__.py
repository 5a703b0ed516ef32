"""The project's own date and time formats (FORMAT_MODULE_PATH), ahead of Django's locale
formats, which would otherwise win over settings.DATETIME_FORMAT."""
