// Turn-taking on the data channel: who is speaking, the "will speak first" message, and typed
// answers, which ask the interviewer to reply - at once, or once its current response is done.

const WAITING_FOR_INTERVIEWER = "Connected. The interviewer will speak first.";
// Any of these means the interviewer has begun: the first one may be missed (sound can start
// before the data channel opens, and the events sent before it are not delivered).
const INTERVIEWER_SIGNS = new Set([
  "response.output_item.added",
  "response.output_audio_transcript.delta",
  "response.output_audio_transcript.done",
  "output_audio_buffer.started",
  "output_audio_buffer.stopped",
]);

function randomId(prefix) {
  return prefix + crypto.randomUUID().replaceAll("-", "").slice(0, 20);
}

function endsWithToolCall(response) {
  const output = response?.output || [];
  return output.length > 0 && output[output.length - 1].type === "function_call";
}

// The provider refuses a response.create while a response is in progress: a typed answer sent
// while the interviewer speaks waits for that response to finish. A response begun after the
// answer reached the conversation (the server's, or turn detection's) answers it too.
export class TurnTaking {
  constructor({ send, view }) {
    this.send = send; // sends an event on the data channel; false when there is none open
    this.view = view;
    this.replyEventId = null;
    this.reset();
  }

  // A new connection: no response is in progress and nothing is waiting for one.
  reset() {
    this.responding = false;
    this.candidateSpeaking = false;
    this.replyWanted = false;
    this.typedItemId = null;
    this.typedItemAdded = false;
    this.responseSeesTyped = false; // the current response began after the typed answer was added
  }

  // The channel is open: the interviewer speaks first, and the status line says so until it does.
  begin() {
    this.view.setState("live", WAITING_FOR_INTERVIEWER);
  }

  handle(event) {
    const view = this.view;
    if (INTERVIEWER_SIGNS.has(event.type) && view.statusText === WAITING_FOR_INTERVIEWER) {
      view.showConnected();
    }
    switch (event.type) {
      case "output_audio_buffer.started":
        view.showSpeaking("interviewer", true);
        view.showConnected(); // what the status line said before (a typed answer sent...) is over
        break;
      case "output_audio_buffer.stopped":
      case "output_audio_buffer.cleared": // cut short (the candidate spoke over it)
        view.showSpeaking("interviewer", false);
        break;
      case "conversation.item.added":
        if (event.item?.id && event.item.id === this.typedItemId) this.typedItemAdded = true;
        break;
      case "response.created":
        this.responding = true;
        this.responseSeesTyped = this.typedItemAdded;
        if (this.responseSeesTyped) this.replyWanted = false; // this response answers the typed answer
        break;
      case "response.done":
        this.responding = false;
        // After a tool call the server asks the interviewer to go on, and that answers too.
        if (this.replyWanted && !endsWithToolCall(event.response)) this.requestReply();
        break;
      case "input_audio_buffer.speech_started":
        this.candidateSpeaking = true;
        view.showSpeaking("candidate", true);
        break;
      case "input_audio_buffer.speech_stopped":
        this.candidateSpeaking = false; // turn detection responds, and that answers too
        view.showSpeaking("candidate", false);
        break;
      case "error":
        // The page's only requests on the channel are these turns, so errors answer them.
        if (
          event.error?.code === "conversation_already_has_active_response" &&
          event.error.event_id === this.replyEventId
        ) {
          // Our request met a response that had just begun: ask after it, unless that one
          // already answers the typed answer.
          if (!this.responseSeesTyped) this.replyWanted = true;
          break;
        }
        console.warn("interviewer service error", event.error);
        break;
    }
  }

  // Sends a typed answer and asks for a reply; answers the item's id, or null if not sent.
  sendTypedAnswer(text) {
    const itemId = randomId("item_typed_");
    const sent = this.send({
      type: "conversation.item.create",
      item: { id: itemId, type: "message", role: "user", content: [{ type: "input_text", text }] },
    });
    if (!sent) {
      this.view.showStatus("Not connected; your answer was not sent.");
      return null;
    }
    this.typedItemId = itemId;
    this.typedItemAdded = false;
    this.requestReply();
    this.view.showStatus(
      this.replyWanted
        ? "Your answer was sent. The interviewer will reply when it has finished speaking."
        : "Your answer was sent.",
    );
    return itemId;
  }

  requestReply() {
    // Ask the interviewer to answer what was typed: now, or once its current response is done
    // (or the candidate has stopped talking, when turn detection answers anyway).
    if (this.responding || this.candidateSpeaking) {
      this.replyWanted = true;
      return;
    }
    this.replyWanted = false;
    this.replyEventId = randomId("event_reply_");
    this.send({ type: "response.create", event_id: this.replyEventId });
  }
}
