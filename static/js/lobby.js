// The lobby page: the live list of open rooms, drafts ("a room is being created"), create and join.
// Speaks docs/protocol.md's lobby protocol on /ws/lobby/. User text goes in with textContent.

import {SAVED_GAME_MAX_BYTES, errorText, forgetSeat, parseResumeCode, readSavedGame, storeSeat, storedSeats,
        tokenKey} from "./protocol.js";

const $ = (id) => document.getElementById(id);
const lobby = $("lobby");
const form = $("create-form");

let socket = null;
let lastMsgId = 0;
let backoff = 500;
let ownDraft = null;      // the draft this page opened with the create form
let waitingFor = null;    // the draft this page waits for
let openDrafts = [];
let searchTimer = null;
let draftAsked = false;   // START_ROOM_DRAFT went out and its answer has not come yet

const SEARCH_DELAY_MS = 300;  // typing pauses this long before the search goes out

/** The trimmed search box text; "" lists every open room. */
function searchText() { return $("room-search").value.trim(); }

/** Ask for the listing: filtered by the search box, if it holds anything. */
function getRooms() {
  const search = searchText();
  send("GET_ROOMS", search ? { search } : {});
}

function send(cmd, payload = {}) {
  if (cmd !== "GET_ROOMS" && cmd !== "GET_LIVE_GAMES") showError("");  // a new request: the last one's error no longer applies
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
  socket.addEventListener("open", () => { backoff = 500; getRooms(); send("GET_LIVE_GAMES"); });
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
  const { rooms, drafts, open_total: openTotal } = payload.data;
  // Our own draft is not news to us (nor one that may be ours, while its answer is on the way).
  openDrafts = drafts.filter((draft) => draft.draft_id !== ownDraft && !(draftAsked && draft === drafts[drafts.length - 1]));
  const creating = ownDraft !== null || draftAsked;
  $("lobby-prompt").textContent = creating && openDrafts.length === 0
    ? (rooms.length ? "Finish creating your room, or join an open one." : "Finish creating your room.")
    : payload.prompt;
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
  const searched = searchText() !== "";
  $("rooms-count").textContent = searched || openTotal > rooms.length
    ? `${openTotal} room${openTotal === 1 ? "" : "s"} open, ${rooms.length} listed` : "";
}

/** List the games being played that may be watched, each a link to its spectator page. */
function renderLiveGames(data) {
  $("live-games").replaceChildren(...data.games.map((game) => {
    const item = document.createElement("li");
    item.dataset.roomId = String(game.room_id);
    const link = document.createElement("a");
    link.href = `/rooms/${game.room_id}/watch/`;
    link.textContent = `Watch ${game.name}`;
    item.append(link, ` — ${game.players.join(", ")} · ${game.spectators} watching`);
    return item;
  }));
  $("live-games").dataset.total = String(data.total);
  $("no-live-games").hidden = data.games.length > 0;
}

function enterRoom(data) {
  storeSeat(data.room.room_id, data.player.seat, data.player.token, {name: data.player.name, roomName: data.room.name});
  openSeat(data.room.room_id, data.player.token);
}

/** Keep the seat's token where the room page reads it (this browser, and this tab's choice), and go there. */
function openSeat(roomId, token) {
  if (!storedSeats(roomId).some((seat) => seat.token === token)) storeSeat(roomId, "?", token);
  sessionStorage.setItem(tokenKey(roomId), token);
  location.assign(`/rooms/${roomId}/`);
}

/** List the seats this browser holds ("Your games"), each with a way back and a way to forget it. */
function renderYourGames() {
  const seats = storedSeats();
  $("your-games").hidden = seats.length === 0;
  $("your-games-list").replaceChildren(...seats.map((seat) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `/rooms/${seat.roomId}/`;
    link.dataset.roomId = String(seat.roomId);
    link.dataset.token = seat.token;
    link.textContent = `${seat.roomName || `Room ${seat.roomId}`}${seat.name ? ` — as ${seat.name}` : ""}`;
    const forget = document.createElement("button");
    forget.type = "button";
    forget.dataset.action = "forget";
    forget.dataset.roomId = String(seat.roomId);
    forget.dataset.seat = seat.seat === null ? "?" : String(seat.seat);
    forget.textContent = "Forget";
    forget.setAttribute("aria-label", `Forget ${link.textContent}`);
    item.append(link, " ", forget);
    return item;
  }));
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
      renderListing(frame.payload);
      break;
    case "ROOMS_CHANGED":
      // Pushes are unfiltered: while searching, ask again for the filtered list.
      if (searchText()) getRooms(); else renderListing(frame.payload);
      break;
    case "DRAFT_STARTED":
      ownDraft = data.draft_id;
      draftAsked = false;
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
    case "LIVE_GAMES_REP":
    case "LIVE_GAMES_CHANGED":
      renderLiveGames(data);
      break;
    case "CREATE_A_ROOM_REP":
    case "JOIN_ROOM_REP":
      enterRoom(data);
      break;
    case "ERROR":
      draftAsked = false;
      showError(errorText(frame));
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
  if (ownDraft === null && send("START_ROOM_DRAFT") !== null) draftAsked = true;
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
  forget(button) {
    forgetSeat(Number(button.dataset.roomId), button.dataset.seat);
    renderYourGames();
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

lobby.addEventListener("input", (event) => {
  if (event.target.id !== "room-search") return;
  clearTimeout(searchTimer);
  searchTimer = setTimeout(getRooms, SEARCH_DELAY_MS);
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
    watchable: form.elements.watchable ? form.elements.watchable.checked : true,
  };
  if (ownDraft !== null) payload.draft_id = ownDraft;
  send("CREATE_A_ROOM", payload);
});

// A link of "Your games" makes that seat this tab's choice.
lobby.addEventListener("click", (event) => {
  const link = event.target.closest("#your-games-list a[data-token]");
  if (link) sessionStorage.setItem(tokenKey(Number(link.dataset.roomId)), link.dataset.token);
});

renderYourGames();
connect();
