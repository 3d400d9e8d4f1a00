// The lobby page: the live list of open rooms, drafts ("a room is being created"), create and join.
// Speaks docs/protocol.md's lobby protocol on /ws/lobby/. User text goes in with textContent.

import {SAVED_GAME_MAX_BYTES, parseResumeCode, readSavedGame, tokenKey} from "./protocol.js";

const $ = (id) => document.getElementById(id);
const lobby = $("lobby");
const form = $("create-form");

let socket = null;
let lastMsgId = 0;
let backoff = 500;
let ownDraft = null;      // the draft this page opened with the create form
let waitingFor = null;    // the draft this page waits for
let openDrafts = [];

function send(cmd, payload = {}) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    showError("Not connected to the lobby yet: try again in a moment.");
    return null;
  }
  lastMsgId += 1;
  socket.send(JSON.stringify({ cmd, msg_id: lastMsgId, payload }));
  return lastMsgId;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/lobby/`);
  socket.addEventListener("open", () => { backoff = 500; send("GET_ROOMS"); });
  socket.addEventListener("message", (event) => dispatch(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    // A new connection has no draft: the server ended ours with the old one.
    ownDraft = null;
    waitingFor = null;
    $("lobby-prompt").textContent = "Connection lost: reconnecting…";
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10000);
  });
}

function showError(text) { $("lobby-error").textContent = text; }

function showNotice(text, roomId = null) {
  const notice = $("draft-notice");
  notice.replaceChildren();
  const p = document.createElement("p");
  p.textContent = text;
  notice.append(p);
  if (roomId !== null) {
    const join = document.createElement("button");
    join.type = "button";
    join.dataset.action = "join";
    join.dataset.roomId = String(roomId);
    join.textContent = "Join it";
    notice.append(join);
  }
  notice.hidden = false;
}

function renderListing(payload) {
  const { rooms, drafts } = payload.data;
  openDrafts = drafts.filter((draft) => draft.draft_id !== ownDraft);
  $("lobby-prompt").textContent = payload.prompt;
  $("draft-banner").hidden = openDrafts.length === 0 || waitingFor !== null;
  const body = $("rooms").tBodies[0];
  body.replaceChildren(...rooms.map((room) => {
    const row = document.createElement("tr");
    row.dataset.roomId = String(room.room_id);
    for (const text of [room.name, `${room.seated}/${room.num_of_players}`, room.players.join(", ")]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    const cell = document.createElement("td");
    const join = document.createElement("button");
    join.type = "button";
    join.dataset.action = "join";
    join.dataset.roomId = String(room.room_id);
    join.textContent = "Join";
    cell.append(join);
    row.append(cell);
    return row;
  }));
  $("no-rooms").hidden = rooms.length > 0;
}

function enterRoom(data) {
  openSeat(data.room.room_id, data.player.token);
}

/** Keep the seat's token where the room page reads it (this tab only), and go there. */
function openSeat(roomId, token) {
  sessionStorage.setItem(tokenKey(roomId), token);
  location.assign(`/rooms/${roomId}/`);
}

// --- Load a saved game: the resume code of a seat left, from the file or pasted ---------

function showLoadError(text) { $("load-error").textContent = text; }

async function loadSavedFile(input) {
  const file = input.files?.[0];
  if (!file) return;
  showLoadError("");
  try {
    if (file.size > SAVED_GAME_MAX_BYTES) throw new Error("That file is too large to be a saved Discard game.");
    const {roomId, token} = readSavedGame(await file.text());
    openSeat(roomId, token);
  } catch (error) {
    showLoadError(error.message);
    input.value = "";  // the same file chosen again fires "change" again
  }
}

function loadResumeCode() {
  const code = parseResumeCode($("load-code").value);
  if (!code) {
    showLoadError("That is not a resume code: it looks like 12.AbC… (the room number, a dot, then your token).");
    return;
  }
  openSeat(code.roomId, code.token);
}

function dispatch(frame) {
  const { data, prompt } = frame.payload;
  switch (frame.cmd) {
    case "GET_ROOMS_REP":
    case "ROOMS_CHANGED":
      renderListing(frame.payload);
      break;
    case "DRAFT_STARTED":
      ownDraft = data.draft_id;
      break;
    case "DRAFT_CANCELLED":
      if (data.draft_id === ownDraft) {
        ownDraft = null;  // timed out: "Create" still works, without a draft
      } else if (data.draft_id === waitingFor) {
        waitingFor = null;
        showNotice("That room will not be created: create your own, or join another.");
      }
      break;
    case "WAITING_FOR_DRAFT":
      waitingFor = data.draft_id;
      $("draft-banner").hidden = true;
      showNotice("Waiting for the room to be created…");
      break;
    case "DRAFT_RESOLVED":
      waitingFor = null;
      showNotice(`The room "${data.room.name}" is ready.`, data.room.room_id);
      break;
    case "CREATE_A_ROOM_REP":
    case "JOIN_ROOM_REP":
      enterRoom(data);
      break;
    case "ERROR":
      showError(prompt);
      break;
    default:
      console.warn("lobby: unexpected frame", frame);
  }
}

function userName() {
  const name = $("user-name").value.trim();
  if (!name) {
    showError("Enter your name first.");
    $("user-name").focus();
  }
  return name;
}

function openCreate() {
  form.hidden = false;
  $("create-open").hidden = true;
  if (ownDraft === null) send("START_ROOM_DRAFT");
  form.elements.room_name.focus();
}

function closeCreate() {
  form.hidden = true;
  $("create-open").hidden = false;
  if (ownDraft !== null) send("CANCEL_ROOM_DRAFT", { draft_id: ownDraft });
}

const actions = {
  "open-create": openCreate,
  "cancel-create": closeCreate,
  wait() {
    if (openDrafts.length) send("WAIT_FOR_DRAFT", { draft_id: openDrafts[0].draft_id });
  },
  join(button) {
    const name = userName();
    if (name) send("JOIN_ROOM", { room_id: Number(button.dataset.roomId), user_name: name });
  },
};

lobby.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button && actions[button.dataset.action]) {
    showError("");
    actions[button.dataset.action](button);
  }
});

lobby.addEventListener("change", (event) => {
  if (event.target.id === "saved-file") loadSavedFile(event.target);
});

lobby.addEventListener("submit", (event) => {
  if (event.target.id !== "resume-form") return;
  event.preventDefault();
  loadResumeCode();
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  showError("");
  const name = userName();
  if (!name) return;
  const payload = {
    room_name: form.elements.room_name.value,
    num_of_players: Number(form.elements.num_of_players.value),
    user_name: name,
    computers: Number(form.elements.computers.value || 0),
  };
  if (ownDraft !== null) payload.draft_id = ownDraft;
  send("CREATE_A_ROOM", payload);
});

connect();
