// The browser's copy of the transcript, with the speech timings it saw: a fallback for the
// server's own capture, posted in batches (the server keeps one entry per item).

import { ApiError } from "./api.js";

const BATCH_SIZE = 50; // the most the transcript call accepts at once
const MAX_LATER = 50; // the most entries one entry may name as coming after it

export class ClientTranscript {
  constructor(api) {
    this.api = api;
    this.seen = new Set();
    this.pending = [];
    this.speechTimes = new Map(); // item id -> where the candidate's speech is in the call's audio
    this.order = []; // this call's items in conversation order (each names its previous_item_id)
  }

  // A new call: its items are ordered among themselves, not against the last call's.
  newCall() {
    this.order = [];
  }

  place(itemId, previous) {
    if (!itemId || this.order.includes(itemId)) return;
    const after = previous === null ? -1 : this.order.indexOf(previous);
    const at = previous !== null && after < 0 ? this.order.length : after + 1;
    this.order.splice(at, 0, itemId);
  }

  handle(event) {
    switch (event.type) {
      case "conversation.item.added":
        this.place(event.item?.id, event.previous_item_id ?? null);
        break;
      case "response.output_audio_transcript.done":
        this.add("interviewer", event.item_id, event.transcript);
        break;
      case "conversation.item.input_audio_transcription.completed":
        this.add("candidate", event.item_id, event.transcript);
        break;
      case "input_audio_buffer.speech_started":
        if (Number.isInteger(event.audio_start_ms)) {
          this.speechTimes.set(event.item_id, { started_ms: event.audio_start_ms });
        }
        break;
      case "input_audio_buffer.speech_stopped":
        if (Number.isInteger(event.audio_end_ms)) {
          this.speechTimes.set(event.item_id, { ...this.speechTimes.get(event.item_id), ended_ms: event.audio_end_ms });
        }
        break;
    }
  }

  add(speaker, itemId, text) {
    if (!itemId || !text || this.seen.has(itemId)) return;
    this.seen.add(itemId);
    const { started_ms = null, ended_ms = null } = this.speechTimes.get(itemId) || {};
    // Text can arrive out of conversation order (a candidate's transcription finishing after
    // the interviewer's next question): name the entries already taken that came after it.
    const rank = this.order.indexOf(itemId);
    // The nearest 50 are plenty (the server places it before the first it has) and what the
    // API takes: more would have the whole batch refused.
    const later = rank < 0 ? [] : this.order.slice(rank + 1).filter((id) => this.seen.has(id));
    later.splice(MAX_LATER);
    this.pending.push({ item_id: itemId, speaker, text, started_ms, ended_ms, before_item_ids: later });
  }

  async flush() {
    if (!this.pending.length) return;
    const batch = this.pending.splice(0, BATCH_SIZE);
    try {
      await this.api.transcript(batch);
    } catch (error) {
      // A refusal (4xx) will not change on a second try; anything else may.
      if (!(error instanceof ApiError && error.status < 500)) this.pending.unshift(...batch);
    }
  }
}
