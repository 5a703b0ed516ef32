"""Interview video: recordings at the video provider (api.video), one ``VideoSegment`` per
recording. ``provider`` is the provider interface and its api.video client; ``segments`` the
segment writes (a new segment with its upload token, the webhook's and the reconciliation's
"ready"); ``deletion`` hands recordings over for deletion (erasure, retention); ``api`` the
candidate's token view and the provider's webhook. See docs/video.md.
"""

from .deletion import deletion_failed_record, provider_delete, video_recordings_delete

__all__ = ["deletion_failed_record", "provider_delete", "video_recordings_delete"]
