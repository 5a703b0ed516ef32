// "Live now": the tenant's interviews in progress. The rows are the server's; the page
// reloads them when its tenant's socket says a session changed status (operators, who see
// every tenant, have no socket: their page reloads the rows every few seconds), and ticks
// the elapsed times in between.
(function () {
  "use strict";
  const box = document.getElementById("live-now");
  if (!box) return;
  const status = document.querySelector('[data-live="socket"]');
  const POLL_MS = box.dataset.socket ? 30000 : 5000;
  let attempts = 0;

  function two(n) {
    return String(n).padStart(2, "0");
  }

  function tick() {
    box.querySelectorAll("[data-started]").forEach((cell) => {
      if (!cell.dataset.started) return;
      const seconds = Math.max(0, Math.floor((new Date() - new Date(cell.dataset.started)) / 1000));
      cell.textContent = two(Math.floor(seconds / 60)) + ":" + two(seconds % 60) +
        " of " + cell.dataset.maxMinutes + ":00";
    });
  }

  let loading = null;
  function reload() {
    if (loading) return loading;
    loading = fetch(box.dataset.rowsUrl, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        box.innerHTML = html;
        tick();
      })
      .catch(() => {})
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + box.dataset.socket);
    socket.onopen = () => {
      if (attempts) reload(); // what changed while the socket was away
      attempts = 0;
      status.textContent = "Following interviews live.";
    };
    socket.onmessage = () => reload();
    socket.onclose = (event) => {
      if (event.code >= 4400 && event.code < 4500) {
        status.textContent = "Live updates are not available here; the list refreshes itself.";
        return;
      }
      attempts += 1;
      status.textContent = "Live updates interrupted; reconnecting…";
      setTimeout(connect, Math.min(30000, 500 * 2 ** attempts) * (0.75 + Math.random() / 2));
    };
  }

  if (box.dataset.socket) connect();
  setInterval(reload, POLL_MS);
  setInterval(tick, 1000);
  tick();
})();
