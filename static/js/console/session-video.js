// The session page's recordings: a player whose source cannot be loaded (the provider is
// unreachable, the console view answered 503) says so, and a transcript line's link
// (a.video-seek, data-segment and data-at in seconds) plays that moment of its recording.

"use strict";

(function () {
  function unavailable(video) {
    const note = video.nextElementSibling;
    if (note && note.classList.contains("video-unavailable")) note.hidden = false;
  }

  function playerFor(segment) {
    return document.querySelector(`#video video[data-segment="${CSS.escape(segment)}"]`);
  }

  function seek(video, at) {
    const go = () => {
      video.currentTime = Math.min(at, Number.isFinite(video.duration) ? video.duration : at);
      video.play().catch(() => {}); // a browser may refuse to autoplay: the position is set
    };
    if (video.readyState >= 1) go();
    else video.addEventListener("loadedmetadata", go, { once: true });
    if (video.preload === "none" || video.readyState === 0) video.load();
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const video of document.querySelectorAll("#video video[data-segment]")) {
      if (video.error) unavailable(video);
      video.addEventListener("error", () => unavailable(video));
    }
  });

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.video-seek");
    if (!link) return;
    const video = playerFor(link.dataset.segment);
    if (!video) return; // let the link scroll to the section
    event.preventDefault();
    video.scrollIntoView({ block: "center" });
    video.focus({ preventScroll: true });
    seek(video, Number(link.dataset.at) || 0);
  });
})();
