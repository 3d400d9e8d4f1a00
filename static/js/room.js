// The room page: the waiting room, then the game table, driven by the game socket.
//
// The page keeps one model. Snapshots (GAME_BEGIN, RESUME, GAME_STATUS, PLAYER_STATE)
// replace its view; events and draw notices update it; prompts become controls. Frames are
// shown one after another through a queue that pauses after each computer's event, so a
// person can follow what the computers (which play inline on the server) did.

import {cardName, cardsText, specialHelp} from "./cards.js";
import {dispatch} from "./dispatch.js";
import {ClientCmd, Flag, OPENED_ELSEWHERE_CLOSE, Outbox, ROOM_CLOSED_CLOSE, SILENCE_MS, answers, errorText,
        forgetSeat, isPrompt, leavingEndsTheGame, promptFromFrame, promptFromView, resumeCode, savedGame,
        storeSeat, storedSeats, tokenKey} from "./protocol.js";
import {render} from "./render.js";
import {GameSocket} from "./socket.js";

const PACE_MS = 500;
// While paused, ask for the view this often: other players' choices send no frame, and the
// page shows who has yet to choose.
const VOTE_POLL_MS = 3000;
const LOG_LIMIT = 200;
const SNAPSHOTS = new Set(["GAME_BEGIN", "RESUME", "GAME_STATUS", "PLAYER_STATE"]);
// Snapshots the server sends in the numbered stream, right after the frames they reflect (a
// `paused` event before its PLAYER_STATE): they wait their turn in the queue instead of
// superseding it, so those frames are still shown.
const IN_STREAM = new Set(["GAME_BEGIN", "PLAYER_STATE"]);

const TOAST_MS = 7000;
const HINT_KEY = "discard:hint-dismissed";
const SOUND_KEY = "discard:sound";

const root = document.getElementById("room-page");
const roomId = Number(root.dataset.roomId);

// The seat: kept in this browser (localStorage, by room and seat); this tab's choice (the seat
// the lobby opened, or the one picked here) in sessionStorage. Two seats of this room in this
// browser and no choice yet: the page asks which to play.
const held = storedSeats(roomId);
const tabToken = sessionStorage.getItem(tokenKey(roomId));
if (tabToken && !held.some((s) => s.token === tabToken)) held.push({roomId, seat: null, token: tabToken, name: ""});
let token = held.length === 1 ? held[0].token : held.find((s) => s.token === tabToken)?.token ?? null;

const model = {
  roomId,
  lobbyUrl: root.dataset.lobbyUrl,
  noToken: held.length === 0,
  choices: token ? null : held,  // seats to choose from when this browser holds several here
  elsewhere: null,  // "open": the seat is open in another tab; "taken": another tab took it over
  roomClosed: false,
  toasts: [],
  fresh: new Set(),  // ids of cards just drawn, marked until the next turn answer
  lastPlay: {},  // seat -> what it did last, in words
  motion: null,  // {seat, cards} laid since the last render, for the card's travel to the pile
  hintShown: localStorage.getItem(HINT_KEY) === null,
  sound: localStorage.getItem(SOUND_KEY) === "on",
  roomStatus: root.dataset.roomStatus,  // at page load: tells a paused game from a lost seat
  unauthorized: false,
  pausedOut: false,  // refused because the game is paused: this seat can come back after it
  connection: "connecting",
  retryInMs: 0,
  room: null,
  mySeat: null,
  roommates: null,
  view: null,
  prompt: null,
  selected: [],
  lastCard: false,
  sentAnswer: null,
  log: [],
  chat: [],
  result: null,
  voted: false,  // this seat chose a computer in the current vote
  confirmingLeave: false,
  leaveRequestId: null,  // msg_id of our LEAVE_REQUEST while a leave is under way
  leaveSent: false,  // LEAVE went out (once, though every PLAYER_STATE of the seat comes to every tab)
  download: null,  // {url, filename, code}: the saved game kept when leaving a running game
  lastOne: false,  // this seat left as the last person in the game, which ended it
  left: false,
  names: {},  // seat -> the last person's name seen there, for a seat a computer holds
  justDrew: null,
  notice: "",
  rematch: null,  // {room_id, from}: someone offered a rematch of this game
  rematchJoining: false,  // this tab asked for the rematch (REMATCH or JOIN_REMATCH) and waits for its seat
};

const outbox = new Outbox();
let received = 0;  // the highest msg_id heard, for gap detection
let applied = 0;  // the msg_id the model reflects
let statusAskedAt = 0;
let refreshWanted = false;  // ask for the view once the queue has shown what it holds
const quietStatus = new Set();  // msg_ids of GET_GAME_STATUS refreshes (not recoveries)
const queue = [];
let draining = false;
const seenEvents = [];  // each event's key, in order, so a snapshot's recent events are logged once
const earlyChat = new Map();  // msg_id -> chat line shown before the paced queue reached it
let toastId = 0;

// --- names and words -------------------------------------------------------------------

function seatName(seat) {
  if (seat === model.mySeat) return "You";
  const player = model.view?.players.find((p) => p.seat === seat);
  return player ? player.name : `Seat ${seat}`;
}

/** Return the name of the person who sat at `seat`, even while a computer holds it. */
function personName(seat) {
  return model.names[seat] ?? seatName(seat);
}

function isComputer(seat) {
  return Boolean(model.view?.players.find((p) => p.seat === seat)?.is_computer);
}

const DRAW_REASONS = {draw: "", pick: " (the pick total)", wrong_play: " (wrong play)",
                      last_card: " (no last-card call)", question: " (the question)",
                      combination: " (combination)"};
const PENALTIES = {wrong_play: "made a wrong play", last_card: "forgot the last-card call"};

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** Return an event in words, or null for one that needs no line in the log. */
function describe(event) {
  const who = seatName(event.seat);
  switch (event.event) {
    case "turn": return event.seat === model.mySeat ? "Your turn." : `${who}'s turn.`;
    case "played": return `${who} played ${cardsText(event.cards)}.`;
    case "drew": {
      const what = event.cards ? cardsText(event.cards) : plural(event.count, "card");
      return `${who} drew ${event.count === 0 ? "nothing" : what}${DRAW_REASONS[event.reason] ?? ""}.`;
    }
    case "penalty": return `${who} ${PENALTIES[event.reason] ?? `got a penalty (${event.reason})`}.`;
    case "pick_pending": return `${who} must pick ${event.total} (${event.symbol === "pick_two" ? "pick two" : "pick one"}) or answer with the same.`;
    case "skipped": return `${who} ${event.seat === model.mySeat ? "are" : "is"} skipped.`;
    case "question": return `${who} asked for ${event.colour ?? event.shape}.`;
    case "gave": return `${who} gave ${cardName(event.card)}.`;
    case "lost_special": return `${who} lost ${cardName(event.card)}.`;
    case "discarded": return `${who} discarded ${cardsText(event.cards)}.`;
    case "last_card": return `${who} called last card.`;
    case "reshuffled": return `The pile was shuffled into the market (${plural(event.count, "card")}).`;
    case "game_over": return `The game is over: ${seatName(event.winner)} ${event.winner === model.mySeat ? "win" : "wins"}.`;
    case "disconnected": return `${who} lost the connection.`;
    case "reconnected": return `${who} reconnected.`;
    case "autoplay": return event.seat === model.mySeat ? "The computer played for you while you were away."
      : `${who} is away: the computer played for them.`;
    case "paused": return `${who} asked to leave: the game is paused.`;
    case "left": return `${event.name ?? who} left the game.`;
    case "computer_joined": return `A computer took ${event.name ?? personName(event.seat)}'s seat.`;
    case "reclaimed": return `${personName(event.seat)} came back and took their seat back from the computer.`;
    case "resumed": {
      if (typeof event.seat !== "number") return "The game goes on.";
      return `The game goes on. ${event.seat === model.mySeat ? "Your move." : `${who} to move.`}`;
    }
    default: return null;
  }
}

let logId = 0;

function logLine(text, kind = "event") {
  logId += 1;
  model.log.push({text, kind, id: logId});
  if (model.log.length > LOG_LIMIT) model.log.splice(0, model.log.length - LOG_LIMIT);
}

function eventKey(event) {
  return JSON.stringify(event);
}

function seen(event) {
  seenEvents.push(eventKey(event));
  if (seenEvents.length > LOG_LIMIT) seenEvents.splice(0, seenEvents.length - LOG_LIMIT);
}

/** Log a snapshot's recent events that the log does not show yet (after a reload, a gap or a silence). */
function mergeRecent(events) {
  const keys = events.map(eventKey);
  // The longest run of the log's last events that starts the snapshot's list is already shown.
  let k = Math.min(seenEvents.length, keys.length);
  for (; k > 0; k -= 1) {
    const tail = seenEvents.slice(-k);
    if (tail.every((key, i) => key === keys[i])) break;
  }
  for (const event of events.slice(k)) {
    seen(event);
    const text = event.event === "chat" ? null : describe(event);
    if (text) logLine(text, "recent");
  }
}

function toast(text, kind = "info") {
  toastId += 1;
  const id = toastId;
  model.toasts.push({id, text, kind});
  if (model.toasts.length > 3) model.toasts.shift();
  setTimeout(() => {
    model.toasts = model.toasts.filter((t) => t.id !== id);
    show();
  }, TOAST_MS);
}

const PENALTY_WHY = {
  wrong_play: (mine, top) => (mine
    ? `Wrong play: those cards could not go on ${cardName(top)} (R9). They went back to your hand and you draw 2.`
    : "made a wrong play (R9): the cards went back to the hand and they draw 2."),
  last_card: (mine) => (mine
    ? "You forgot to call \"Last card!\" with one card left (R13): you draw 1."
    : "forgot to call last card (R13) and draws 1."),
};

function penaltyToast(event) {
  const why = PENALTY_WHY[event.reason];
  const mine = event.seat === model.mySeat;
  const text = why ? why(mine, model.view?.top_card) : `${seatName(event.seat)} got a penalty (${event.reason}).`;
  toast(mine ? text : `${seatName(event.seat)} ${text}`, mine ? "penalty" : "info");
}

// --- the model ---------------------------------------------------------------------------

function player(seat) {
  return model.view.players.find((p) => p.seat === seat);
}

function addToHand(cards) {
  const hand = model.view.you.hand;
  for (const card of cards) {
    if (!hand.some((held) => held.id === card.id)) hand.push(card);
  }
  hand.sort((a, b) => a.id - b.id);
}

function removeFromHand(cards) {
  const gone = new Set(cards.map((card) => card.id));
  model.view.you.hand = model.view.you.hand.filter((card) => !gone.has(card.id));
}

function cardsLeft(seat, delta) {
  const p = player(seat);
  if (p) p.cards_left = Math.max(0, p.cards_left + delta);
}

function laid(seat, cards) {
  cardsLeft(seat, -cards.length);
  if (seat === model.mySeat) removeFromHand(cards);
  model.view.pile_count += cards.length;
  if (cards.length) model.view.top_card = cards[cards.length - 1];
}

function setConnected(seat, connected) {
  const p = player(seat);
  if (p) p.connected = connected;
}

function dropMyPrompt() {
  model.prompt = null;
  model.selected = [];
}

// How each event changes the view; events not listed only go to the log.
const APPLY = {
  turn(e) {
    model.view.current_seat = e.seat;
    model.view.deadline = e.deadline ?? null;
    model.view.awaiting_seat = e.seat;
    model.view.question = null;
  },
  played(e) { lastPlay(e.seat, e.cards); laid(e.seat, e.cards); },
  discarded(e) { lastPlay(e.seat, e.cards, "discarded"); laid(e.seat, e.cards); },
  gave(e) { lastPlay(e.seat, [e.card], "gave"); laid(e.seat, [e.card]); model.view.question = null; },
  lost_special(e) { lastPlay(e.seat, [e.card], "lost"); laid(e.seat, [e.card]); },
  penalty(e) { penaltyToast(e); },
  last_card(e) { if (e.seat === model.mySeat) toast("Last card called: one card to go."); },
  drew(e) {
    if (e.seat !== model.mySeat) model.lastPlay[e.seat] = e.count ? `drew ${plural(e.count, "card")}` : "drew nothing";
    cardsLeft(e.seat, e.count);
    model.view.market_count = Math.max(0, model.view.market_count - e.count);
    if (e.seat === model.mySeat && e.cards) addToHand(e.cards);
    if (e.reason === "pick" || e.reason === "wrong_play") model.view.pending_pick = null;
  },
  pick_pending(e) { model.view.pending_pick = {symbol: e.symbol, total: e.total}; },
  question(e) {
    model.view.question = e.colour ? {seat: e.seat, colour: e.colour} : {seat: e.seat, shape: e.shape};
  },
  reshuffled(e) { model.view.market_count = e.count; model.view.pile_count = 1; },
  chat(e) { model.chat.push(chatLine(e)); },
  game_over() { model.view.status = "over"; model.view.awaiting_seat = null; model.view.deadline = null; dropMyPrompt(); },
  disconnected(e) { setConnected(e.seat, false); },
  reconnected(e) { setConnected(e.seat, true); },
  autoplay(e) { if (e.seat === model.mySeat) dropMyPrompt(); },
  // Leaving (docs/protocol.md "Leaving a game"): the vote in the view follows the events, and the
  // whole view is asked for once they are shown (a computer's name, who has yet to choose).
  paused(e) {
    model.view.status = "paused";
    dropMyPrompt();
    const vote = pauseVote();
    if (!vote.leaving.includes(e.seat)) vote.leaving.push(e.seat);
  },
  left(e) {
    const vote = pauseVote();
    vote.leaving = vote.leaving.filter((seat) => seat !== e.seat);
    if (!vote.seats.includes(e.seat)) vote.seats.push(e.seat);
    if (e.name) model.names[e.seat] = e.name;
    setConnected(e.seat, false);
    refreshWanted = true;
  },
  computer_joined(e) {
    const p = player(e.seat);
    // Named as the server names it (the lowest free "Computer k"), so the paced log of its
    // first moves does not credit them to the person who left; the refresh confirms it.
    if (p) { p.is_computer = true; p.connected = true; p.name = freeComputerName(); }
    if (e.name) model.names[e.seat] = e.name;
    refreshWanted = true;
  },
  reclaimed(e) {
    const p = player(e.seat);
    if (p) { p.is_computer = false; p.connected = true; p.name = model.names[e.seat] ?? p.name; }
    refreshWanted = true;
  },
  resumed(e) {
    model.view.status = "playing";
    model.view.vote = null;
    model.voted = false;
    if (typeof e.seat === "number") model.view.awaiting_seat = e.seat;
  },
};

function lastPlay(seat, cards, verb = "played") {
  model.lastPlay[seat] = `${verb} ${cardsText(cards)}`;
  if (cards.length) model.motion = {seat, cards};
}

function chatLine(e) {
  return {name: e.name, text: e.text, mine: e.seat === model.mySeat};
}

function freeComputerName() {
  const taken = new Set(model.view.players.map((p) => p.name.toLowerCase()));
  let k = 1;
  while (taken.has(`computer ${k}`)) k += 1;
  return `Computer ${k}`;
}

/** Return the view's vote, made empty first if the view has none yet. */
function pauseVote() {
  model.view.vote ??= {seats: [], waiting_for: [], leaving: []};
  model.view.vote.leaving ??= [];
  return model.view.vote;
}

/** Remember the people at the table, so a seat a computer takes is still named after them. */
function rememberNames(view) {
  for (const p of view.players) {
    if (!p.is_computer) model.names[p.seat] = p.name;
  }
}

/** Keep the saved game as a file in the page and start its download (the "you left" screen offers it again). */
function offerDownload(view) {
  const blob = new Blob([JSON.stringify(savedGame(view, roomId, token), null, 2)], {type: "application/json"});
  if (model.download) URL.revokeObjectURL(model.download.url);
  model.download = {url: URL.createObjectURL(blob), filename: `discard-room-${roomId}-seat-${view.you.seat}.json`,
                    code: resumeCode(roomId, token)};
  show();
  // Started at once: a tab closed after leaving would lose the token, and the file is the way back.
  root.querySelector("#download-state").click();
}

/** Return GAME_OVER's data from a finished view's outcome (the engine's, without names). */
function resultFromOutcome(view) {
  const name = (seat) => view.players.find((p) => p.seat === seat)?.name ?? `Seat ${seat}`;
  return {winner: view.outcome.winner,
          ranking: view.outcome.ranking.map((r) => ({seat: r.seat, name: name(r.seat), cards_left: r.cards_left}))};
}

function applyTopCard(frame) {
  if (model.view && frame.payload?.top_card) model.view.top_card = frame.payload.top_card;
}

// Handlers of the frames, by command (dispatch.js). Each returns true to pause afterwards.
const handlers = {
  connected(frame) {
    model.room = frame.payload.data.room;
    model.mySeat = frame.payload.data.player.seat;
    model.unauthorized = false;
    // The seat is this browser's: any tab may open it again, and the lobby lists it.
    forgetSeat(roomId, "?");
    storeSeat(roomId, model.mySeat, token, {name: frame.payload.data.player.name, roomName: model.room.name});
    tabs.postMessage({type: "have", token});
  },
  roommates(frame) {
    if (!model.view) model.roommates = frame.payload.data;
  },
  snapshot(frame) {
    const view = frame.payload.data;
    const keepSelection = model.prompt && view.prompt && model.prompt.msgId === view.prompt.msg_id;
    model.view = view;
    model.view.deadline = view.prompt?.payload?.data?.deadline ?? null;
    model.mySeat = view.you.seat;
    model.prompt = promptFromView(view.prompt);
    if (!keepSelection) model.selected = [];
    rememberNames(view);
    if (view.outcome && !model.result) model.result = resultFromOutcome(view);  // came back after the end
    if (model.voted && view.vote) {
      // A view asked for before our ADD_COMPUTER went out does not know of it yet.
      view.vote.waiting_for = view.vote.waiting_for.filter((seat) => seat !== model.mySeat);
    }
    if (frame.cmd === "PLAYER_STATE" && model.leaveRequestId !== null && !model.leaveSent) {
      model.lastOne = leavingEndsTheGame(view, model.mySeat);
      // The last person's saved game cannot be resumed: the room closes when they leave.
      if (!model.lastOne) offerDownload(view);
      model.leaveSent = send(outbox.frame(ClientCmd.LEAVE));
    }
    if (frame.cmd === "GAME_BEGIN") logLine("The game begins.");
    quietStatus.delete(frame.reply_to);
    mergeRecent(view.recent_events ?? []);
    if (Array.isArray(view.chat)) {
      for (const id of earlyChat.keys()) if (id <= frame.msg_id) earlyChat.delete(id);
      model.chat = [...view.chat.map(chatLine), ...earlyChat.values()];
    }
    return false;
  },
  event(frame) {
    let event = frame.payload.data;
    if (!model.view) return false;
    if (event.event === "drew" && event.seat === model.mySeat && !event.cards && model.justDrew) {
      // The public event lists no cards; the draw notice just before it did.
      event = {...event, cards: model.justDrew};
    }
    if (event.event === "drew") model.justDrew = null;
    seen(frame.payload.data);
    if (event.event === "chat" && earlyChat.delete(frame.msg_id)) return false;  // shown when it came
    APPLY[event.event]?.(event);
    applyTopCard(frame);
    const text = event.event === "chat" ? null : describe(event);
    if (text) logLine(text);
    return "seat" in event && event.seat !== model.mySeat && isComputer(event.seat);
  },
  message(frame) {
    if (!model.view) return false;
    applyTopCard(frame);
    if (isPrompt(frame)) {
      model.prompt = promptFromFrame(frame);
      model.selected = [];
      model.lastCard = false;
      model.view.awaiting_seat = model.mySeat;
      if (model.prompt.kind === "turn") model.view.pending_pick = model.prompt.data.pending_pick ?? null;
      if (model.prompt.data.deadline) model.view.deadline = model.prompt.data.deadline;
      beep();
    } else if (frame.payload.flag === Flag.GAME_CONTINUE && Array.isArray(frame.payload.extra_data)) {
      addToHand(frame.payload.extra_data);
      for (const card of frame.payload.extra_data) model.fresh.add(card.id);
      model.drawnMotion = frame.payload.extra_data.map((card) => card.id);
      model.justDrew = frame.payload.extra_data;  // the drew event that follows logs them
    }
    return false;
  },
  gameOver(frame) {
    model.result = frame.payload.data;
    if (model.view) { model.view.status = "over"; model.view.deadline = null; }
    dropMyPrompt();
    // The socket stays open after the end: a rematch is asked for and offered on it.
    return false;
  },
  rematchOffer(frame) {
    model.rematch = frame.payload.data;
    // Our own "Play again" raced someone else's, or answered with their offer: take the seat.
    if (model.rematchJoining) send(outbox.frame(ClientCmd.JOIN_REMATCH));
    return false;
  },
  rematchJoined(frame) {
    // The seat in the rematch: kept like the lobby keeps a seat it joins, then the new room opens.
    const {room, player} = frame.payload.data;
    storeSeat(room.room_id, player.seat, player.token, {name: player.name, roomName: room.name});
    sessionStorage.setItem(tokenKey(room.room_id), player.token);
    location.assign(`/rooms/${room.room_id}/`);
    return false;
  },
  roomClosed() {
    closedByOperator();
    return false;
  },
  vote(frame) {
    // CREATE_A_COMPUTER: someone left and this seat must choose; a new leave asks again.
    if (!model.view) return false;
    const vote = pauseVote();
    const {seat} = frame.payload.data;
    if (!vote.seats.includes(seat)) vote.seats.push(seat);
    if (!vote.waiting_for.includes(model.mySeat)) vote.waiting_for.push(model.mySeat);
    model.voted = false;
    refreshWanted = true;
    return false;
  },
  left(frame) {
    model.left = true;
    model.leaveRequestId = null;
    dropMyPrompt();
    // Before the game the seat is freed, so its token is worth nothing; in a game it can
    // take the seat back once the game resumes, so the tab keeps it.
    if (!model.view) {
      sessionStorage.removeItem(tokenKey(roomId));
      forgetSeat(roomId, model.mySeat);
    }
    socket.stop();
    return false;
  },
  error(frame) {
    const {code} = frame.payload.data;
    if (code === "UNAUTHORIZED") {
      model.unauthorized = true;
      // A seat left (or taken by a computer) opens again only once the game goes on.
      model.pausedOut = model.roomStatus === "paused";
      if (!model.pausedOut) {
        model.notice = "";
        // The seat is gone for good: the lobby should not offer it any more.
        if (model.mySeat !== null) forgetSeat(roomId, model.mySeat);
      }
      return false;
    }
    model.notice = errorText(frame);
    model.rematchJoining = false;
    if (frame.reply_to !== null && frame.reply_to === model.leaveRequestId) model.leaveRequestId = null;
    const sent = model.sentAnswer;
    if (sent && frame.reply_to === sent.msgId) {
      model.sentAnswer = null;
      if (code === "INVALID" || code === "NOT_IN_HAND") {
        if (!model.prompt) model.prompt = sent.prompt;  // the prompt stays current
      } else if (code === "STALE_PROMPT" || code === "NOT_YOUR_TURN") {
        askStatus();
      }
    }
    return false;
  },
};

// --- the queue ---------------------------------------------------------------------------

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

/** Return where a laid card comes from on screen (your hand, or the player's seat), before the render. */
function motionSource(motion) {
  if (motion.seat === model.mySeat) {
    const card = root.querySelector(`#hand [data-card-id="${motion.cards[motion.cards.length - 1].id}"]`);
    if (card) return card.getBoundingClientRect();
  }
  return root.querySelector(`#players [data-seat="${motion.seat}"]`)?.getBoundingClientRect() ?? null;
}

function travel(node, from) {
  const to = node.getBoundingClientRect();
  if (!from || !to.width) return;
  const dx = from.left + from.width / 2 - (to.left + to.width / 2);
  const dy = from.top + from.height / 2 - (to.top + to.height / 2);
  node.animate([{transform: `translate(${dx}px, ${dy}px) scale(0.7)`, opacity: 0.6}, {transform: "none", opacity: 1}],
               {duration: 350, easing: "cubic-bezier(.2,.7,.3,1)"});
  node.dataset.moved = String(Number(node.dataset.moved || 0) + 1);
}

function show() {
  const motion = reduceMotion.matches ? null : model.motion;
  const drawn = reduceMotion.matches ? null : model.drawnMotion;
  model.motion = null;
  model.drawnMotion = null;
  const from = motion && model.view ? motionSource(motion) : null;
  const market = drawn ? root.querySelector("#top-card")?.getBoundingClientRect() : null;
  render(model, root);
  if (from) travel(root.querySelector("#top-card"), from);
  for (const id of drawn ?? []) {
    const card = root.querySelector(`#hand [data-card-id="${id}"]`);
    if (card) travel(card, market);
  }
}

let audio = null;

/** A short tone when a prompt arrives, if the person turned the sound on. */
function beep() {
  if (!model.sound) return;
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 660;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
  } catch {
    // No audio here: the prompt is on screen anyway.
  }
}

function closedByOperator() {
  model.roomClosed = true;
  dropMyPrompt();
  sessionStorage.removeItem(tokenKey(roomId));
  if (model.mySeat !== null) forgetSeat(roomId, model.mySeat);
  socket.stop();
}

async function drain() {
  draining = true;
  while (queue.length) {
    const frame = queue.shift();
    if (!SNAPSHOTS.has(frame.cmd) && frame.msg_id <= applied) continue;  // heard twice
    applied = SNAPSHOTS.has(frame.cmd) ? frame.msg_id : Math.max(applied, frame.msg_id);
    const pause = dispatch(frame, handlers);
    show();
    if (pause) await sleep(PACE_MS);
  }
  draining = false;
  if (refreshWanted && running()) askStatus({quiet: true});
  refreshWanted = false;
}

function receive(frame) {
  if (typeof frame?.cmd !== "string" || typeof frame.payload !== "object" || frame.payload === null) {
    console.warn("discard: ignoring a frame without cmd and payload");
    return;
  }
  // The server closes the socket after LEAVE_REP: do not reconnect, even before it is shown.
  if (frame.cmd === "LEAVE_REP") socket.stop();
  if (typeof frame.msg_id !== "number") {
    // CONNECTED, ROOMMATES, ERROR and pre-game frames are not part of the numbered stream.
    dispatch(frame, handlers);
    show();
    return;
  }
  if (SNAPSHOTS.has(frame.cmd) && !IN_STREAM.has(frame.cmd)) {
    // A snapshot supersedes every frame it already reflects.
    for (let i = queue.length - 1; i >= 0; i -= 1) {
      if (queue[i].msg_id <= frame.msg_id) queue.splice(i, 1);
    }
    received = Math.max(received, frame.msg_id);
  } else {
    if (frame.msg_id > received + 1) askStatus();  // a gap: something was lost
    received = Math.max(received, frame.msg_id);
  }
  if (frame.cmd === "GAME_EVENT" && frame.payload.data?.event === "chat" && model.view
      && frame.msg_id > applied && !earlyChat.has(frame.msg_id)) {
    // Chat is not paced behind the computers' moves: shown now, skipped when the queue gets there.
    const line = chatLine(frame.payload.data);
    earlyChat.set(frame.msg_id, line);
    model.chat.push(line);
    show();
  }
  queue.push(frame);
  if (!draining) drain();
}

// --- sending -----------------------------------------------------------------------------

function send(frame) {
  if (socket.send(frame)) return true;
  model.notice = "Not connected: wait for the connection to come back, then try again.";
  show();
  return false;
}

/** Ask for the view; `quiet` for a refresh, whose recent events the log already shows. */
function askStatus({quiet = false} = {}) {
  statusAskedAt = Date.now();
  const frame = outbox.status();
  if (socket.send(frame) && quiet) quietStatus.add(frame.msg_id);
}

function answer(data) {
  const prompt = model.prompt;
  if (!prompt || model.view?.status === "paused") return;
  const frame = outbox.answer(prompt.msgId, data);
  if (!send(frame)) return;
  if (prompt.kind === "turn") model.fresh.clear();
  model.sentAnswer = {msgId: frame.msg_id, prompt};
  model.notice = "";
  dropMyPrompt();
  show();
}

function running() {
  return Boolean(model.view) && !model.result && ["playing", "paused"].includes(model.view.status);
}

// --- controls: listeners delegated from the page -----------------------------------------

function selectable(cardId) {
  const prompt = model.prompt;
  if (!prompt) return false;
  if (prompt.kind === "turn" || prompt.kind === "discard") return true;
  if (prompt.kind === "give") return (prompt.options ?? []).includes(cardId);
  return false;
}

function toggleCard(cardId) {
  if (!selectable(cardId)) return;
  const at = model.selected.indexOf(cardId);
  if (at >= 0) {
    model.selected.splice(at, 1);
  } else if (model.prompt.kind === "give") {
    model.selected = [cardId];
  } else if (model.prompt.kind === "discard" && model.selected.length >= model.prompt.data.count) {
    return;
  } else {
    model.selected.push(cardId);  // click order is laying order
  }
  show();
}

const ACTIONS = {
  play: () => answer(answers.play(model.selected, model.lastCard)),
  draw: () => answer(answers.draw()),
  give: () => answer(answers.give(model.selected[0])),
  discard: () => answer(answers.discard(model.selected, model.lastCard)),
  "clear-selection": () => { model.selected = []; show(); },
  leave: () => { model.confirmingLeave = true; show(); },
  "cancel-leave": () => { model.confirmingLeave = false; show(); },
  "confirm-leave": () => { model.confirmingLeave = false; startLeave(); },
  "leave-too": () => startLeave(),
  "add-computer": () => {
    if (!send(outbox.frame(ClientCmd.ADD_COMPUTER))) return;
    model.voted = true;
    const vote = model.view?.vote;
    if (vote) vote.waiting_for = vote.waiting_for.filter((seat) => seat !== model.mySeat);
    show();
  },
  // The tab keeps the token of a seat it left: a fresh page says HELLO with it again.
  rejoin: () => location.reload(),
  retry: () => location.reload(),
  "use-here": () => {
    tabs.postMessage({type: "take", token});
    model.elsewhere = null;
    show();
    if (socket.stopped || !socket.ws) socket.restart();
  },
  "dismiss-hint": () => {
    localStorage.setItem(HINT_KEY, "1");
    model.hintShown = false;
    show();
  },
  sound: () => {
    model.sound = !model.sound;
    localStorage.setItem(SOUND_KEY, model.sound ? "on" : "off");
    beep();
    show();
  },
  "dismiss-toast": () => { model.toasts = []; show(); },
  "play-again": () => {
    if (!send(outbox.frame(model.rematch ? ClientCmd.JOIN_REMATCH : ClientCmd.REMATCH))) return;
    model.rematchJoining = true;
    show();
  },
  "join-rematch": () => {
    if (!send(outbox.frame(ClientCmd.JOIN_REMATCH))) return;
    model.rematchJoining = true;
    show();
  },
};

/** Send LEAVE_REQUEST; PLAYER_STATE (in a game) or LEAVE_REP (before it) carries on. */
function startLeave() {
  const frame = outbox.frame(ClientCmd.LEAVE_REQUEST);
  if (send(frame)) { model.leaveRequestId = frame.msg_id; show(); }
}

root.addEventListener("click", (event) => {
  const target = event.target.closest("button");
  if (!target || target.disabled || !root.contains(target)) return;
  if (target.dataset.cardId !== undefined) {
    if (target.getAttribute("aria-disabled") !== "true") toggleCard(Number(target.dataset.cardId));
  } else if (target.dataset.choose !== undefined) {
    token = target.dataset.choose;
    sessionStorage.setItem(tokenKey(roomId), token);
    model.choices = null;
    start();
  } else if (target.dataset.name !== undefined) {
    if (model.prompt?.kind === "name") answer(answers.name(target.dataset.name));
  } else if (target.dataset.action in ACTIONS) {
    ACTIONS[target.dataset.action]();
  }
});

// Escape closes the confirmation dialog without a click: keep the model in step.
root.addEventListener("close", (event) => {
  if (event.target.id === "leave-dialog" && model.confirmingLeave) { model.confirmingLeave = false; show(); }
}, true);

// Keyboard play: arrows move along the hand, Space selects (a button's own key), Enter plays,
// D draws. Focus stays on the hand's cards even while they cannot be chosen (aria-disabled).
const ENTER_ACTION = {turn: "play", give: "give", discard: "discard"};

root.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, dialog") || event.ctrlKey || event.metaKey || event.altKey) return;
  const card = event.target.closest("#hand [data-card-id]");
  if (card && (event.key === "ArrowRight" || event.key === "ArrowLeft" || event.key === "Home" || event.key === "End")) {
    const cards = [...root.querySelectorAll("#hand [data-card-id]")];
    const at = cards.indexOf(card);
    const next = {ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: cards.length - 1}[event.key];
    cards[Math.max(0, Math.min(cards.length - 1, next))]?.focus();
    event.preventDefault();
  } else if (card && event.key === "Enter") {
    event.preventDefault();
    const button = root.querySelector(`#${ENTER_ACTION[model.prompt?.kind]}`);
    if (button && !button.disabled) button.click();
  } else if ((event.key === "d" || event.key === "D") && model.prompt?.kind === "turn") {
    event.preventDefault();
    ACTIONS.draw();
  }
});

// A long press (touch) or right click on a special card says what it does.
root.addEventListener("contextmenu", (event) => {
  const card = event.target.closest("[data-card-id]");
  const help = card && specialHelp(Number(card.dataset.cardId));
  if (!help) return;
  event.preventDefault();
  toast(help);
  show();
});

root.addEventListener("change", (event) => {
  if (event.target.id === "last-card") model.lastCard = event.target.checked;
});

root.addEventListener("submit", (event) => {
  if (event.target.id !== "chat-form") return;
  event.preventDefault();
  const input = root.querySelector("#chat-input");
  const text = input.value.trim();
  if (!text || !running()) return;
  if (send(outbox.chat(text))) input.value = "";
});

// --- start ---------------------------------------------------------------------------------

const socket = new GameSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/rooms/${roomId}/`, {
  hello: () => outbox.hello(token, received),
  onFrame: receive,
  onState(state, detail) {
    model.connection = state;
    model.retryInMs = state === "waiting" ? detail : 0;
    if (state === "open") model.notice = "";
    if (state === "stopped" && detail === OPENED_ELSEWHERE_CLOSE) model.elsewhere = "taken";
    if (state === "stopped" && detail === ROOM_CLOSED_CLOSE && !model.roomClosed) closedByOperator();
    show();
  },
});

// Tabs of this browser tell each other which seat they play: a second tab on an open seat
// says so and offers "use here"; the tab it takes the seat from stops without reconnecting.
const tabs = "BroadcastChannel" in window ? new BroadcastChannel(`discard:room:${roomId}`)
  : {postMessage() {}, addEventListener() {}};
tabs.addEventListener("message", (event) => {
  const message = event.data ?? {};
  if (!token || message.token !== token) return;
  const active = !socket.stopped && !model.elsewhere;
  if (message.type === "who" && active) {
    tabs.postMessage({type: "have", token});
  } else if (message.type === "have" && starting) {
    model.elsewhere = "open";
    show();
  } else if (message.type === "take" && active) {
    socket.stop();
    model.elsewhere = "taken";
    show();
  }
});

let starting = false;

/** Open the seat's socket, unless another tab of this browser plays it already. */
function start() {
  if (!token) { show(); return; }
  starting = true;
  tabs.postMessage({type: "who", token});
  setTimeout(() => {
    starting = false;
    if (!model.elsewhere) socket.connect();
    show();
  }, 300);
}

/**
 * After leaving a running game the socket is closed, so the page asks the room's status now and
 * then: once the others have left too (room closed) or the game ended, there is no seat to take back.
 */
async function checkRoomAfterLeaving() {
  if (!model.left || !model.view || model.lastOne || model.roomEnded) return;
  try {
    const page = await (await fetch(`/rooms/${roomId}/`, {cache: "no-store"})).text();
    const status = page.match(/data-room-status="(\w+)"/)?.[1];
    if (status === "closed" || status === "finished") {
      model.roomEnded = true;
      forgetSeat(roomId, model.mySeat);
      show();
    }
  } catch {
    // Offline for now: asked again later.
  }
}
setInterval(checkRoomAfterLeaving, 4000);

if (token) start();
// A running game that stays silent may have lost a frame: ask for the whole picture.
setInterval(() => {
    const now = Date.now();
    if (model.view?.deadline && running()) show();  // the countdown
    if (running() && model.connection === "open" && now - socket.lastHeardAt > SILENCE_MS
        && now - statusAskedAt > SILENCE_MS) {
      askStatus();
    } else if (model.view?.status === "paused" && !model.left && model.connection === "open"
               && !draining && now - statusAskedAt > VOTE_POLL_MS) {
      askStatus({quiet: true});
    }
}, 1000);
show();
