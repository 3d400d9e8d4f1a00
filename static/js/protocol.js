// The frame shapes of the game socket (docs/protocol.md "Envelope" and "Game handler").

export const ClientCmd = Object.freeze({
  HELLO: "HELLO",
  GAME_MESSAGE: "GAME_MESSAGE",
  GET_ROOMMATES: "GET_ROOMMATES",
  GET_GAME_STATUS: "GET_GAME_STATUS",
  CHAT: "CHAT",
  LEAVE_REQUEST: "LEAVE_REQUEST",
  LEAVE: "LEAVE",
  ADD_COMPUTER: "ADD_COMPUTER",
  REMATCH: "REMATCH",
  JOIN_REMATCH: "JOIN_REMATCH",
});

export const Flag = Object.freeze({
  USER_INPUT_CONTINUE: "USER_INPUT_CONTINUE",
  GAME_CONTINUE: "GAME_CONTINUE",
});

export const CHAT_MAX = 200;
export const UNAUTHORIZED_CLOSE = 4401;
// A running game that has been silent this long may have lost a frame (docs/architecture.md).
export const SILENCE_MS = 15000;

/** Return the session-storage key under which the lobby keeps a room's token. */
export function tokenKey(roomId) {
  return `discard:token:${roomId}`;
}

// The saved game a leaver downloads (docs/protocol.md "Browser client"): its state and the
// resume code, "<room_id>.<token>" like lobby_site.wire.resume_code, that takes the seat back.
export const SAVED_GAME_FORMAT = "discard-saved-game";
const RESUME_CODE_SEPARATOR = ".";  // tokens are URL-safe base64: never a "."
const TOKEN_MAX = 200;
export const SAVED_GAME_MAX_BYTES = 1024 * 1024;  // a saved game is a few KiB

/** Return the resume code of a seat: "<room_id>.<token>". */
export function resumeCode(roomId, token) {
  return `${roomId}${RESUME_CODE_SEPARATOR}${token}`;
}

/**
 * Return {roomId, token} of a resume code, or null if it is not one. Mirrors
 * lobby_site.wire.parse_resume_code, so the lobby refuses what the server would.
 */
export function parseResumeCode(code) {
  if (typeof code !== "string") return null;
  const text = code.trim();
  const at = text.indexOf(RESUME_CODE_SEPARATOR);
  if (at < 0) return null;
  const room = text.slice(0, at);
  const token = text.slice(at + 1);
  if (!/^[0-9]+$/.test(room) || !token || token.length > TOKEN_MAX) return null;
  return {roomId: Number(room), token};
}

/** Return the saved game a leaver downloads: the view at the pause and the resume code. */
export function savedGame(view, roomId, token) {
  return {format: SAVED_GAME_FORMAT, saved_at: new Date().toISOString(),
          resume_code: resumeCode(roomId, token), state: view};
}

/** Return {roomId, token} from a saved game file's text; throw an Error saying what is wrong. */
export function readSavedGame(text) {
  let saved;
  try {
    saved = JSON.parse(text);
  } catch {
    throw new Error("That file is not a saved Discard game: it is not JSON.");
  }
  if (saved === null || typeof saved !== "object" || saved.format !== SAVED_GAME_FORMAT) {
    throw new Error("That file is not a saved Discard game: choose the file you downloaded when you left.");
  }
  const code = parseResumeCode(saved.resume_code);
  if (!code) throw new Error("That saved game has no valid resume code: the file may be damaged.");
  return code;
}

/**
 * True when `seat` leaving leaves no person in the game: everyone else is a computer, has left
 * or is leaving, so the server ends the game and closes the room (docs/protocol.md).
 */
export function leavingEndsTheGame(view, seat) {
  const vote = view?.vote ?? {};
  const gone = new Set([...(vote.seats ?? []), ...(vote.leaving ?? []), seat]);
  return !(view?.players ?? []).some((p) => !p.is_computer && !gone.has(p.seat));
}

/** Number client frames: every frame gets the next msg_id, so errors can name it. */
export class Outbox {
  constructor() {
    this.lastId = 0;
  }

  frame(cmd, payload = {}) {
    this.lastId += 1;
    return {cmd, msg_id: this.lastId, payload};
  }

  hello(token, lastMsgId) {
    // batch: the frames of one change arrive as one message (a JSON array).
    return this.frame(ClientCmd.HELLO, {token, last_msg_id: lastMsgId, batch: true});
  }

  answer(replyTo, data) {
    return this.frame(ClientCmd.GAME_MESSAGE, {reply_to: replyTo, data});
  }

  chat(text) {
    return this.frame(ClientCmd.CHAT, {text});
  }

  status() {
    return this.frame(ClientCmd.GET_GAME_STATUS);
  }
}

/** Return the answer `data` of each prompt kind (docs/protocol.md "Prompts"). */
export const answers = {
  play: (cards, lastCard) => ({cards: [...cards], last_card: Boolean(lastCard)}),
  draw: () => ({cards: [], last_card: false}),
  name: (value) => value,
  give: (card) => ({cards: [card]}),
  discard: (cards, lastCard) => ({cards: [...cards], last_card: Boolean(lastCard)}),
};

/**
 * Return a prompt in one shape, whether it came as a GAME_MESSAGE_REP frame or inside a
 * view: {msgId, kind, text, data, options}.
 */
export function promptFromFrame(frame) {
  const payload = frame.payload;
  return {msgId: frame.msg_id, kind: payload.data?.kind, text: payload.prompt,
          data: payload.data ?? {}, options: payload.extra_data ?? null};
}

export function promptFromView(viewPrompt) {
  if (!viewPrompt) return null;
  // The view holds the prompt's msg_id and payload; an engine-style prompt has its fields flat.
  const payload = viewPrompt.payload ?? viewPrompt;
  const data = payload.data ?? payload;
  return {msgId: viewPrompt.msg_id, kind: data.kind, text: payload.prompt ?? "",
          data, options: payload.extra_data ?? data.options ?? null};
}

/** True for a frame that is a prompt for this seat. */
export function isPrompt(frame) {
  return frame.payload?.flag === Flag.USER_INPUT_CONTINUE;
}

// --- seats kept in this browser (localStorage), for every tab -------------------------------

export const OPENED_ELSEWHERE_CLOSE = 4409;  // a newer connection of the seat took over
export const ROOM_CLOSED_CLOSE = 4410;  // an operator closed the room
const SEAT_PREFIX = "discard:seat:";

function seatStorageKey(roomId, seat) {
  return `${SEAT_PREFIX}${roomId}:${seat}`;
}

/** Keep a seat's token in this browser: {token, name, roomName, at}; `seat` may be "?" until known. */
export function storeSeat(roomId, seat, token, {name = "", roomName = ""} = {}) {
  try {
    localStorage.setItem(seatStorageKey(roomId, seat),
                         JSON.stringify({token, name, roomName, at: new Date().toISOString()}));
  } catch {
    // Storage full or refused (private mode): the seat lives as long as the tab.
  }
}

export function forgetSeat(roomId, seat) {
  try { localStorage.removeItem(seatStorageKey(roomId, seat)); } catch { /* nothing kept */ }
}

/** Return every seat this browser holds, [{roomId, seat, token, name, roomName, at}], optionally of one room. */
export function storedSeats(roomId = null) {
  const seats = [];
  let storage;
  try { storage = localStorage; } catch { return seats; }
  for (let i = 0; i < storage.length; i += 1) {
    const key = storage.key(i);
    if (!key?.startsWith(SEAT_PREFIX)) continue;
    const [room, seat] = key.slice(SEAT_PREFIX.length).split(":");
    if (roomId !== null && Number(room) !== roomId) continue;
    try {
      const value = JSON.parse(storage.getItem(key));
      if (typeof value?.token !== "string") continue;
      seats.push({roomId: Number(room), seat: seat === "?" ? null : Number(seat), ...value});
    } catch {
      // Not ours, or damaged: ignored.
    }
  }
  return seats.sort((a, b) => (a.roomId - b.roomId) || ((a.seat ?? -1) - (b.seat ?? -1)));
}

// --- errors in words for people (docs/protocol.md "Errors": code and field) -----------------------

const FIELD_TEXT = {
  room_name: "The room name must be 1 to 40 characters, without control characters.",
  user_name: "Your name must be 1 to 24 characters, without control characters.",
  num_of_players: "A room has 2 to 8 players.",
  computers: "Computers can fill at most all the seats but yours.",
  draft_id: "That room draft has ended: create the room again.",
  search: "That search is too long.",
  level: "Choose a computer level: easy, normal or hard.",
};

const CODE_TEXT = {
  ROOM_NOT_FOUND: "That room no longer exists: choose another one.",
  ROOM_FULL: "That room has just filled up: choose another one, or create your own.",
  NAME_TAKEN: "Someone in that room already has that name: choose another name.",
  RATE_LIMITED: "Slow down a little: too many requests at once.",
  LIMIT_REACHED: "You already have as many open rooms or drafts as allowed: finish or cancel one first.",
  TOO_LARGE: "That message is too long.",
  GAME_NOT_STARTED: "The game has not begun yet.",
  GAME_PAUSED: "The game is paused: moves wait until it goes on.",
  NOT_YOUR_TURN: "It is not your turn.",
  STALE_PROMPT: "That answer came too late: the game moved on.",
  NOT_IN_HAND: "You do not hold that card any more.",
  NO_PENDING_PROMPT: "There is nothing to answer right now.",
};

/** Return an ERROR frame's words for a person: by field for INVALID, else by code. */
export function errorText(frame) {
  const {code, field} = frame.payload?.data ?? {};
  if (code === "INVALID" || code === "LIMIT_REACHED") {
    if (code === "LIMIT_REACHED") return CODE_TEXT.LIMIT_REACHED;
    return FIELD_TEXT[field] ?? "That request was not accepted: check what you entered and try again.";
  }
  return CODE_TEXT[code] ?? "Something went wrong: try again.";
}
