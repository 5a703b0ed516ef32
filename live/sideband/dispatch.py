"""From the type of each event the provider sends on a call to what the follower does with it.
Every event first tells the conversation where its item sits; then the handlers listed for its
type run, in order."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from interviews.models import Speaker
from interviews.services import live_updates

if TYPE_CHECKING:
    from .session import SidebandSession

logger = logging.getLogger(__name__)

Handler = Callable[["SidebandSession", dict, Any], Awaitable[None]]


async def sound_flowing(follower: SidebandSession, event: dict, sideband) -> None:
    # The call is live even if the browser's heartbeat is late.
    if not follower.live:
        await follower.store.mark_live()
        follower.live = True


def speaking(who: str | None) -> Handler:
    """Tell the recruiters watching who is speaking now (not stored; see live_updates)."""

    async def handler(follower: SidebandSession, event: dict, sideband) -> None:
        live_updates.live_speaking(follower.store.session_id, who)

    return handler


async def speech_timing(follower: SidebandSession, event: dict, sideband) -> None:
    follower.conversation.note_timing(event)


async def interviewer_said(follower: SidebandSession, event: dict, sideband) -> None:
    await follower.conversation.write(
        Speaker.INTERVIEWER, event.get("transcript"), event.get("item_id")
    )


async def candidate_said(follower: SidebandSession, event: dict, sideband) -> None:
    await follower.conversation.write(
        Speaker.CANDIDATE, event.get("transcript"), event.get("item_id")
    )


async def item_done(follower: SidebandSession, event: dict, sideband) -> None:
    await follower.conversation.item_done(event.get("item") or {})


async def tool_called(follower: SidebandSession, event: dict, sideband) -> None:
    await follower.tools.answer(follower.config, event, sideband)


async def response_done(follower: SidebandSession, event: dict, sideband) -> None:
    await follower.tools.response_done(event.get("response") or {}, sideband)


async def session_updated(follower: SidebandSession, event: dict, sideband) -> None:
    await follower.config_guard.session_updated(
        follower.config, event.get("session") or {}, sideband
    )


async def provider_error(follower: SidebandSession, event: dict, sideband) -> None:
    # The timeline (which every member of the tenant reads) gets the code; the message can
    # name the platform's own account (an organisation in a rate-limit message), so it goes
    # to the operators' log only.
    error = event.get("error") or {}
    logger.warning(
        "provider error",
        extra={
            "call": follower.call_id,
            "code": error.get("code"),
            "error": str(error.get("message"))[:300],
        },
    )
    await follower.store.event(
        "provider.error", {"code": error.get("code"), "type": error.get("type")}
    )


HANDLERS: dict[str, tuple[Handler, ...]] = {
    "input_audio_buffer.speech_started": (
        sound_flowing,
        speech_timing,
        speaking(Speaker.CANDIDATE),
    ),
    "input_audio_buffer.speech_stopped": (speech_timing, speaking(None)),
    "output_audio_buffer.started": (sound_flowing, speaking(Speaker.INTERVIEWER)),
    "output_audio_buffer.stopped": (speaking(None),),
    "output_audio_buffer.cleared": (speaking(None),),
    "response.output_audio_transcript.done": (interviewer_said,),
    "conversation.item.input_audio_transcription.completed": (candidate_said,),
    "conversation.item.done": (item_done,),
    "response.function_call_arguments.done": (tool_called,),
    "response.done": (response_done,),
    "session.updated": (session_updated,),
    "error": (provider_error,),
}


def began_responding(kind: str) -> bool:
    """Whether an event of this type shows a response under way on the call."""
    return kind.startswith("response.") or kind == "output_audio_buffer.started"


async def dispatch(follower: SidebandSession, event: dict, sideband) -> None:
    kind = event.get("type", "")
    follower.conversation.observe(kind, event)
    if began_responding(kind):
        follower.responded = True
    for handler in HANDLERS.get(kind, ()):
        await handler(follower, event, sideband)
