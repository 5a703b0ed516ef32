"""Keeps the call on the server's session configuration: a session.updated that reports a
change to a guarded part (instructions, tools, voice, ...) is answered with the server's
configuration again."""

from __future__ import annotations

import json
import logging

from interviews.session_config import drifted, guarded_parts

logger = logging.getLogger(__name__)

MAX_REASSERTS = 3  # corrections in a row the provider may answer with the same difference


class ConfigGuard:
    """Put the server's configuration back when a session.updated shows it changed. If the
    provider keeps reporting the same difference after our corrections, it is normalising a
    value rather than being tampered with: stop after a few tries instead of trading
    session.update for session.updated for the rest of the call (a different change is
    corrected again)."""

    def __init__(self, store):
        self.store = store
        self.reasserts = 0  # corrections sent for the current difference
        self.last_drift = ""  # that difference, as reported

    async def session_updated(self, config: dict, reported: dict, sideband) -> None:
        changed = drifted(config, reported)
        # The same difference means the same reported values, not just the same keys: a new
        # change to a key whose correction was given up on is corrected again.
        drift = json.dumps([changed, guarded_parts(reported)], sort_keys=True, default=str)
        if drift != self.last_drift:
            self.reasserts, self.last_drift = 0, drift
        if not changed:
            return
        if self.reasserts >= MAX_REASSERTS:
            if self.reasserts == MAX_REASSERTS:
                self.reasserts += 1
                logger.warning("session config not accepted", extra={"changed": changed})
                await self.store.event("session.reassert_stopped", {"changed": changed})
            return
        self.reasserts += 1
        await sideband.send({"type": "session.update", "session": config})
        await self.store.event("session.reasserted", {"changed": changed})
