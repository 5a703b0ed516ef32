"""How the APIs page their lists."""

from django.conf import settings
from rest_framework import pagination


class Cursor(pagination.CursorPagination):
    """Lists page with an opaque cursor (stable under inserts), newest first;
    API_PAGE_SIZE a page, ``?page_size=`` up to API_MAX_PAGE_SIZE."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"

    def __init__(self):
        self.page_size = settings.API_PAGE_SIZE
        self.max_page_size = settings.API_MAX_PAGE_SIZE
