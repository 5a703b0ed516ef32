"""The server's own connection to each live call: the source of truth for the transcript and
for the interviewer's tool calls, and the guard of the session configuration.

``session`` follows one call (attach, re-attach, start, end); ``dispatch`` maps each event
type to its handlers; ``conversation`` keeps the items in order, writes the transcript and
hands the stored transcript to a replacement call; ``config_guard`` re-asserts the session
configuration; ``tools`` answers the interviewer's tool calls; ``deadline`` ends the interview
at its time limit; ``store`` is the follower's access to its session in the database.
"""

from .conversation import ConversationOrder, resume_items
from .session import SidebandSession
from .store import CallGone

__all__ = ["CallGone", "ConversationOrder", "SidebandSession", "resume_items"]
