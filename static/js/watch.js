// The spectator's page: the watch socket (no token), the public view, then every public event;
// when the players make a rematch, the socket follows the table to it (follow=1, WATCH_MOVED).
import {eventText, renderTable, tableApply} from "./replay.js";

const page = document.getElementById("watch-page");

function watch() {
  const status = document.getElementById("watch-status");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/rooms/${page.dataset.roomId}/watch/?batch=1&follow=1`);
  let view = null;
  let last = 0;
  const setStatus = (state, text) => { status.dataset.state = state; status.textContent = text; };
  const names = () => view.players.map(p => p.name);
  const addEvent = text => {
    const li = document.createElement("li");
    li.textContent = text;
    document.getElementById("events").append(li);
  };
  const handle = frame => {
    const data = frame.payload.data;
    switch (frame.cmd) {
      case "ROOMMATES":
        setStatus("waiting", frame.payload.prompt);
        document.getElementById("roommates").textContent = data.players.map(p => p.name).join(", ");
        break;
      case "WATCHING": case "WATCH_STATUS":
        view = data; last = frame.msg_id;
        setStatus(view.outcome ? "over" : "watching", frame.payload.prompt);
        document.getElementById("spectators").textContent = `${data.spectators} watching`;
        renderTable(view, document.getElementById("table"));
        break;
      case "GAME_EVENT":
        if (frame.msg_id !== last + 1) socket.send(JSON.stringify({cmd: "GET_GAME_STATUS", msg_id: 1}));
        last = frame.msg_id;
        addEvent(eventText(data, names()));
        if (data.event === "spectators") document.getElementById("spectators").textContent = `${data.count} watching`;
        view = tableApply(view, data);  // the table moves on locally: no request per event
        renderTable(view, document.getElementById("table"));
        break;
      case "WATCH_MOVED":  // the table's rematch: the same socket watches it, numbered afresh
        page.dataset.roomId = data.room_id;
        history.replaceState(null, "", `/rooms/${data.room_id}/watch/`);
        view = null; last = 0;
        for (const id of ["events", "table", "roommates"]) document.getElementById(id).replaceChildren();
        document.getElementById("outcome").hidden = true;
        setStatus("waiting", frame.payload.prompt);
        break;
      case "GAME_OVER": {
        last = frame.msg_id;
        const outcome = document.getElementById("outcome");
        outcome.hidden = false;
        outcome.textContent = frame.payload.prompt;
        setStatus("over", frame.payload.prompt);
        break;
      }
      default:
        console.log("unknown frame", frame);
    }
  };
  socket.addEventListener("message", e => {
    const decoded = JSON.parse(e.data);
    for (const frame of Array.isArray(decoded) ? decoded : [decoded]) handle(frame);
  });
  socket.addEventListener("close", e => {
    if (e.code === 4403) setStatus("refused", "This game cannot be watched.");
    else if (e.code === 4404) setStatus("refused", "There is no such room.");
    else if (status.dataset.state !== "over") setStatus("closed", "The connection closed.");
  });
}

if (page) watch();
