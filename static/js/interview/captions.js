// The captions: both sides' words in conversation order, in a list that is an ARIA live
// region, and the interviewer's words as they are spoken on a line of their own.
//
// A caption's place is its item's place in the conversation, not when its text arrived: the
// candidate's words are transcribed after they stop speaking, often once the interviewer has
// already moved on. Each item gets a hidden slot when it appears; its text fills it. When the
// item joins the conversation the provider names the item before it (previous_item_id), and
// the slot moves there: speech that began before the interviewer's greeting is committed, and
// joins the conversation, after it.

export class Captions {
  constructor({ list, draftLine }) {
    this.list = list;
    this.draftLine = draftLine; // hidden from assistive technology: the list reads it out
    this.nodes = new Map(); // item id -> its caption (hidden until its text arrives)
    this.conversation = []; // item ids in conversation order, as the provider placed them
    this.shown = new Set(); // items whose text is in: each is captioned once
    this.drafts = new Map(); // interviewer item id -> its words so far
  }

  handle(event) {
    switch (event.type) {
      case "response.output_audio_transcript.delta": {
        const draft = (this.drafts.get(event.item_id) || "") + event.delta;
        this.drafts.set(event.item_id, draft);
        this.draftLine.textContent = draft;
        break;
      }
      case "response.output_audio_transcript.done":
        this.drafts.delete(event.item_id);
        this.draftLine.textContent = "";
        this.show("interviewer", event.item_id, event.transcript);
        break;
      case "conversation.item.input_audio_transcription.completed":
        this.show("candidate", event.item_id, event.transcript);
        break;
      case "conversation.item.added":
      case "conversation.item.done":
        if (event.item?.type === "message") this.reserve(event.item.id);
        this.place(event.item?.id, event.previous_item_id);
        break;
      case "input_audio_buffer.committed":
        this.place(event.item_id, event.previous_item_id);
        break;
      case "response.output_item.added":
        if (event.item?.type === "message") this.reserve(event.item.id);
        break;
      case "input_audio_buffer.speech_started":
        this.reserve(event.item_id);
        break;
    }
  }

  show(speaker, itemId, text) {
    if (!itemId || !text || this.shown.has(itemId)) return;
    this.shown.add(itemId);
    let item = this.nodes.get(itemId);
    if (!item) {
      item = document.createElement("li");
      this.nodes.set(itemId, item);
    }
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = speaker === "interviewer" ? "Interviewer:" : "You:";
    item.replaceChildren(who, document.createTextNode(text));
    item.hidden = false;
    if (!item.isConnected) this.list.append(item);
    // Keep the newest caption in view, also when a late one fills an earlier place.
    const shown = this.list.querySelectorAll("li:not([hidden])");
    shown[shown.length - 1].scrollIntoView({ block: "nearest" });
  }

  reserve(itemId) {
    if (!itemId || this.nodes.has(itemId)) return;
    const slot = document.createElement("li");
    slot.hidden = true;
    this.nodes.set(itemId, slot);
    this.list.append(slot);
  }

  place(itemId, previous) {
    const { conversation, nodes } = this;
    if (!itemId || previous === undefined || conversation.includes(itemId)) return;
    const after = previous === null ? -1 : conversation.indexOf(previous);
    const at = previous !== null && after < 0 ? conversation.length : after + 1;
    conversation.splice(at, 0, itemId);
    const node = nodes.get(itemId);
    if (!node) return;
    for (let i = at - 1; i >= 0; i--) {
      const before = nodes.get(conversation[i]);
      if (before) return before.after(node);
    }
    // The first item with a caption: before every caption still waiting for its place.
    const waiting = [...nodes].find(([id, other]) => other !== node && !conversation.includes(id));
    if (waiting && waiting[1].compareDocumentPosition(node) & Node.DOCUMENT_POSITION_FOLLOWING) {
      waiting[1].before(node);
    }
  }
}
