// Draw the page from the model: one render() call updates every part.
// User text (names, chat) goes in with textContent only.

import {cardName, cardSvg, optionSvg, specialHelp} from "./cards.js";
import {leavingEndsTheGame} from "./protocol.js";

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key.startsWith("aria-")) node.setAttribute(key, String(value));
    else if (value === false) continue;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function fill(container, ...children) {
  container.replaceChildren(...children.filter((child) => child !== null && child !== undefined));
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

const CONNECTION_TEXT = {
  connecting: () => "Connecting…",
  open: () => "Connected",
  waiting: (ms) => `Connection lost: trying again in ${Math.max(1, Math.round(ms / 1000))} s…`,
  stopped: () => "Not connected",
};

function renderConnection(model, root) {
  const status = root.querySelector("#connection");
  // After the result or a leave the page closes its socket on purpose: that is no lost connection.
  const done = model.result ? "Game over" : model.left ? "You left" : model.roomClosed ? "Room closed"
    : model.elsewhere ? "Open in another tab" : null;
  status.textContent = done ?? CONNECTION_TEXT[model.connection](model.retryInMs);
  status.dataset.state = done ? "done" : model.connection;
}

function renderWaiting(model, root) {
  const section = root.querySelector("#waiting");
  section.hidden = Boolean(model.view) || model.noToken || model.unauthorized || model.left || blocked(model);
  if (section.hidden) return;
  const mates = model.roommates;
  root.querySelector("#needed").textContent = !mates ? "Taking your seat…"
    : mates.needed > 0 ? `Waiting for ${plural(mates.needed, "more player")}.`
      : "Everyone is here: the game is about to begin.";
  fill(root.querySelector("#roommates"), ...(mates?.players ?? []).map((p) => h("li",
    {class: "roommate", dataset: {seat: p.seat, connected: p.connected}},
    h("span", {class: "name", text: p.name}),
    h("span", {class: "tags", text: [p.seat === model.mySeat ? "you" : null, computerTag(p),
      p.is_computer ? null : p.connected ? "connected" : "not connected"].filter(Boolean).join(" · ")}))));
}

/** True while the page shows no game for another reason: a seat to choose, another tab, a closed room. */
function blocked(model) {
  return Boolean(model.choices) || Boolean(model.elsewhere) || model.roomClosed;
}

function over(model) {
  return Boolean(model.result) || model.view?.status === "over" || model.view?.status === "finished";
}

/** Return the seconds left before the deadline (ISO 8601), or null. */
function secondsLeft(deadline) {
  if (!deadline) return null;
  const ms = Date.parse(deadline) - Date.now();
  return Number.isNaN(ms) ? null : Math.max(0, Math.ceil(ms / 1000));
}

function renderPlayers(model, root) {
  const view = model.view;
  const vote = view.status === "paused" ? view.vote : null;
  const current = over(model) ? null : view.current_seat;
  const left = view.status === "playing" ? secondsLeft(view.deadline) : null;
  fill(root.querySelector("#players"), ...view.players.map((p) => {
    const gone = vote?.seats?.includes(p.seat) ? "left" : vote?.leaving?.includes(p.seat) ? "leaving" : null;
    const tags = [computerTag(p), gone, gone || p.connected ? null : "away"].filter(Boolean);
    const theirs = p.seat === current;
    return h("li", {class: "player", dataset: {seat: p.seat, current: theirs,
                                                 connected: p.connected, you: p.seat === model.mySeat},
                    "aria-current": theirs ? "true" : null},
      h("span", {class: "turn-marker", "aria-hidden": "true", text: theirs ? "▶" : ""}),
      h("span", {class: "name", text: p.seat === model.mySeat ? `${p.name} (you)` : p.name}),
      h("span", {class: "count", "data-testid": `cards-left-${p.seat}`, text: plural(p.cards_left, "card")}),
      theirs && left !== null ? h("span", {class: "countdown", "data-testid": "countdown", text: `${left} s`}) : null,
      tags.length ? h("span", {class: "tags", text: tags.join(" · ")}) : null,
      model.lastPlay[p.seat] && p.seat !== model.mySeat
        ? h("span", {class: "last-play", "data-testid": `last-play-${p.seat}`, text: model.lastPlay[p.seat]}) : null);
  }));
}

function seatLabel(model, seat) {
  if (seat === model.mySeat) return "you";
  return model.view.players.find((p) => p.seat === seat)?.name ?? `seat ${seat}`;
}

/** Return "Ada", "Ada and Bob", "Ada, Bob and you" for a list of seats. */
function seatList(model, seats) {
  const names = seats.map((seat) => seatLabel(model, seat));
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

function capital(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Return why the game is paused and what it waits for, in words. */
function pauseText(model) {
  const vote = model.view.vote ?? {};
  const leaving = vote.leaving ?? [];
  const vacant = vote.seats ?? [];
  const waiting = vote.waiting_for ?? [];
  const verb = (seats, one) => (seats.length === 1 && seats[0] !== model.mySeat ? one : "are");
  const lines = ["The game is paused."];
  if (leaving.length) lines.push(`${capital(seatList(model, leaving))} ${verb(leaving, "is")} leaving.`);
  if (vacant.length) lines.push(`${capital(seatList(model, vacant))} left.`);
  if (vacant.length && waiting.length) {
    lines.push(`Waiting for ${seatList(model, waiting)} to choose: a computer in the empty seat, or leave too.`);
  } else if (vacant.length && !leaving.length) {
    lines.push("Everyone has chosen: the game goes on in a moment.");
  }
  return lines.join(" ");
}

function renderPause(model, root) {
  const banner = root.querySelector("#pause-banner");
  const paused = model.view.status === "paused";
  banner.hidden = !paused;
  banner.textContent = paused ? pauseText(model) : "";
  // A remaining person chooses once someone has left: a computer in the seat, or leaving too.
  const vote = model.view.vote;
  const choosing = paused && !model.voted && model.leaveRequestId === null && Boolean(vote?.seats?.length)
    && vote.waiting_for.includes(model.mySeat);
  const box = root.querySelector("#vote");
  box.hidden = !choosing;
  if (!choosing) return;
  const who = seatList(model, vote.seats);
  const several = vote.seats.length > 1;
  root.querySelector("#vote-question").textContent =
    `${capital(who)} left. Let ${several ? "computers" : "a computer"} play on in ${several ? "their seats" : "the seat"}, or leave too?`;
  root.querySelector("#add-computer").textContent = `Replace ${who} with ${several ? "computers" : "a computer"}`;
  const others = vote.waiting_for.filter((seat) => seat !== model.mySeat);
  root.querySelector("#vote-waiting").textContent = others.length
    ? `Still to choose: you and ${seatList(model, others)}.` : "Still to choose: you.";
}

function renderCentre(model, root) {
  const view = model.view;
  const top = root.querySelector("#top-card");
  fill(top, view.top_card ? cardSvg(view.top_card) : null);
  top.dataset.cardId = view.top_card?.id ?? "";
  top.setAttribute("aria-label", `Top card: ${cardName(view.top_card)}`);
  root.querySelector("#market-count").textContent = `Market: ${plural(view.market_count, "card")}`;
  root.querySelector("#pile-count").textContent = `Pile: ${plural(view.pile_count, "card")}`;
  const whose = view.current_seat === null || view.current_seat === undefined || over(model) ? ""
    : view.current_seat === model.mySeat ? "Your turn" : `${seatLabel(model, view.current_seat)}'s turn`;
  root.querySelector("#whose-turn").textContent = view.status === "paused" ? "Paused" : whose;
  const pick = root.querySelector("#pending-pick");
  pick.hidden = !view.pending_pick;
  pick.textContent = view.pending_pick ? `Pick pending: ${view.pending_pick.total}` : "";
  const question = root.querySelector("#question");
  question.hidden = !view.question;
  question.textContent = view.question
    ? `${seatLabel(model, view.question.seat)} asked for ${view.question.colour ?? view.question.shape}` : "";
}

function button(id, label, {disabled = false, action = id} = {}) {
  return h("button", {type: "button", id, "data-action": action, disabled, text: label});
}

function lastCardBox(model) {
  return h("label", {class: "last-card"},
    h("input", {type: "checkbox", id: "last-card", checked: model.lastCard}), " Last card!");
}

// Controls for each kind of prompt.
const CONTROLS = {
  turn(model, prompt) {
    const starters = prompt.options ?? [];
    const canPlay = model.selected.length > 0 && starters.includes(model.selected[0]);
    const pick = prompt.data.pending_pick;
    return [button("play", model.selected.length > 1 ? `Play ${model.selected.length} cards` : "Play", {disabled: !canPlay}),
      button("draw", pick ? `Take ${pick.total}` : "Draw"), lastCardBox(model),
      button("clear-selection", "Clear", {disabled: model.selected.length === 0})];
  },
  name(model, prompt) {
    return (prompt.options ?? []).map((option) => h("button",
      {type: "button", class: "name-option", "data-name": option, title: option}, optionSvg(option), h("span", {text: option})));
  },
  give(model) {
    return [button("give", "Give", {disabled: model.selected.length !== 1})];
  },
  discard(model, prompt) {
    const need = Math.min(prompt.data.count, model.view.you.hand.length);
    return [button("discard", `Discard ${plural(need, "card")}`, {disabled: model.selected.length !== need}),
      lastCardBox(model), button("clear-selection", "Clear", {disabled: model.selected.length === 0})];
  },
};

function waitingText(model) {
  const view = model.view;
  if (view.status === "over" || model.result) return "The game is over.";
  if (view.status === "paused") return "Moves wait until the game goes on.";
  if (view.awaiting_seat === null || view.awaiting_seat === undefined) return "";
  return view.awaiting_seat === model.mySeat ? "Sending…" : `Waiting for ${seatLabel(model, view.awaiting_seat)}.`;
}

function renderPrompt(model, root) {
  const prompt = model.prompt;
  const area = root.querySelector("#prompt-area");
  area.dataset.kind = prompt?.kind ?? "";
  root.querySelector("#prompt-text").textContent = prompt ? prompt.text : waitingText(model);
  fill(root.querySelector("#controls"), ...(prompt ? (CONTROLS[prompt.kind]?.(model, prompt) ?? []) : []));
}

function renderHand(model, root) {
  const hand = model.view.you.hand;
  const prompt = model.prompt;
  const marked = new Set(prompt && (prompt.kind === "turn" || prompt.kind === "give") ? prompt.options ?? [] : []);
  root.querySelector("#hand-title").textContent = `Your hand (${plural(hand.length, "card")})`;
  const handBox = root.querySelector("#hand");
  handBox.dataset.kind = prompt?.kind ?? "";
  fill(handBox, ...hand.map((card) => {
    const order = model.selected.indexOf(card.id);
    const usable = Boolean(prompt) && (prompt.kind !== "give" || marked.has(card.id)) && prompt.kind !== "name";
    const fresh = model.fresh.has(card.id);
    const words = [cardName(card), marked.has(card.id) ? (prompt.kind === "give" ? "can give" : "playable") : null,
      order >= 0 ? `selected ${order + 1}` : null, fresh ? "just drawn" : null].filter(Boolean);
    // aria-disabled, not disabled: the arrow keys still move along a hand that cannot be played now.
    return h("button", {type: "button", class: "card", "data-card-id": card.id,
                        "data-playable": marked.has(card.id), "data-fresh": fresh, "aria-pressed": order >= 0,
                        "aria-label": words.join(", "), "aria-disabled": usable ? "false" : "true",
                        title: specialHelp(card.id) ?? cardName(card)},
      cardSvg(card), order >= 0 ? h("span", {class: "order", "aria-hidden": "true", text: String(order + 1)}) : null,
      fresh ? h("span", {class: "fresh", "aria-hidden": "true", text: "new"}) : null);
  }));
}

function renderLog(model, root) {
  const log = root.querySelector("#log");
  // Only new lines are added (and the oldest dropped), so the live region reads each line once.
  const shown = new Set([...log.children].map((li) => li.dataset.id));
  const keep = new Set(model.log.map((line) => String(line.id)));
  for (const li of [...log.children]) if (!keep.has(li.dataset.id)) li.remove();
  log.append(...model.log.filter((line) => !shown.has(String(line.id)))
    .map((line) => h("li", {class: line.kind, dataset: {id: line.id}, text: line.text})));
  log.scrollTop = log.scrollHeight;
  const chat = root.querySelector("#chat-log");
  fill(chat, ...model.chat.map((line) => h("li", {class: line.mine ? "mine" : ""},
    h("strong", {text: `${line.name}: `}), h("span", {text: line.text}))));
  chat.scrollTop = chat.scrollHeight;
}

function renderResult(model, root) {
  const section = root.querySelector("#result");
  section.hidden = !model.result;
  if (!model.result) return;
  const {winner, ranking} = model.result;
  root.querySelector("#result-title").textContent = winner === model.mySeat ? "You win!"
    : `${ranking.find((r) => r.seat === winner)?.name ?? `Seat ${winner}`} wins.`;
  fill(root.querySelector("#ranking"), ...ranking.map((r, index) => h("li", {dataset: {seat: r.seat}},
    h("span", {class: "place", text: `${index + 1}.`}), h("span", {class: "name", text: r.seat === model.mySeat ? `${r.name} (you)` : r.name}),
    h("span", {class: "count", text: plural(r.cards_left, "card")}))));
  // Rematch (docs/protocol.md "Rematch"): "Play again" asks for one; someone else's offer is joined.
  const offer = model.rematch;
  const mine = offer && offer.from === model.view?.you?.name;
  root.querySelector("#rematch-offer").hidden = !offer;
  if (offer) root.querySelector("#rematch-text").textContent = mine ? "You offered a rematch." : `${offer.from} offers a rematch.`;
  root.querySelector("#join-rematch").disabled = model.rematchJoining;
  const again = root.querySelector("#play-again");
  again.hidden = Boolean(offer);
  again.disabled = model.rematchJoining || model.connection !== "open";
  again.textContent = model.rematchJoining ? "Starting a rematch…" : "Play again";
}

/** Return a selector that finds the focused control again after it is rebuilt, or null. */
function focusKey(root) {
  const active = document.activeElement;
  if (!active || active === document.body || !root.contains(active)) return null;
  if (active.dataset.cardId !== undefined) return `[data-card-id="${active.dataset.cardId}"]`;
  if (active.dataset.name !== undefined) return `[data-name="${active.dataset.name}"]`;
  return active.id ? `#${active.id}` : null;
}

/** Bring the whole page in line with the model, keeping keyboard focus where it was. */
/** A computer's tag with its level ("computer (hard)"); null for a person. */
function computerTag(player) {
  return player.is_computer ? `computer (${player.level ?? "normal"})` : null;
}

export function render(model, root) {
  const focused = focusKey(root);
  draw(model, root);
  if (focused && !root.contains(document.activeElement)) root.querySelector(focused)?.focus();
}

function leaveDialogText(model) {
  if (!model.view) return "Your seat will be freed for someone else.";
  if (leavingEndsTheGame(model.view, model.mySeat)) return "You are the last person at the table: leaving ends the game and closes the room.";
  return "The game pauses while you leave. Your saved game is downloaded: keep it to take your seat back "
    + "later. The others choose whether a computer plays your seat meanwhile.";
}

function leftText(model) {
  if (!model.view) return "You left the room: your seat is free for someone else.";
  if (model.lastOne) return "Nobody else was left at the table: the game has ended and the room is closed.";
  return "Your saved game was downloaded (it holds your resume code, below). Once the others have let a "
    + "computer take your seat and the game goes on, load the file (or paste its resume code) under \"Load a saved game\" on the lobby "
    + "page, or press \"Take my seat back\" here: you get the seat back with the hand the computer left you.";
}

function renderLeave(model, root) {
  const active = !model.noToken && !model.unauthorized && !model.left && !model.result && !blocked(model);
  const leave = root.querySelector("#leave");
  leave.hidden = !active || model.leaveRequestId !== null;
  leave.disabled = model.connection !== "open";
  leave.textContent = model.view ? "Leave the game" : "Leave the room";
  const dialog = root.querySelector("#leave-dialog");
  root.querySelector("#leave-dialog-title").textContent = model.view ? "Leave the game?" : "Leave the room?";
  root.querySelector("#leave-dialog-text").textContent = leaveDialogText(model);
  const confirming = model.confirmingLeave && active;
  if (confirming && !dialog.open) dialog.showModal();
  else if (!confirming && dialog.open) dialog.close();

  root.querySelector("#left").hidden = !model.left;
  root.querySelector("#left-title").textContent = model.view && !model.lastOne ? "You left — keep your saved game to come back" : "You left";
  root.querySelector("#left-text").textContent = leftText(model);
  root.querySelector("#left-resume").hidden = !model.left || !model.view || model.lastOne || model.roomEnded;
  if (model.roomEnded) {
    root.querySelector("#left-title").textContent = "You left — the game has ended";
    root.querySelector("#left-text").textContent = "Everyone else has left too, or the game is over: there is no seat to take back.";
  }
  const download = root.querySelector("#download-state");
  download.hidden = !model.download;
  if (model.download && download.getAttribute("href") !== model.download.url) {
    download.href = model.download.url;
    download.download = model.download.filename;
  }
  const code = root.querySelector("#resume-code");
  if (model.download && code.value !== model.download.code) code.value = model.download.code;
}

function renderRefusal(model, root) {
  root.querySelector("#paused-out").hidden = !model.pausedOut;
  root.querySelector("#unauthorized").hidden = !model.unauthorized || model.pausedOut;
  if (model.roomStatus === "closed") {
    root.querySelector("#unauthorized-title").textContent = "This game has ended";
    root.querySelector("#unauthorized-text").textContent = "The room is closed: there is no seat to take back here.";
  }
}

function renderToasts(model, root) {
  const box = root.querySelector("#toasts");
  const shown = new Set([...box.children].map((node) => node.dataset.id));
  const keep = new Set(model.toasts.map((t) => String(t.id)));
  for (const node of [...box.children]) if (!keep.has(node.dataset.id)) node.remove();
  box.append(...model.toasts.filter((t) => !shown.has(String(t.id)))
    .map((t) => h("p", {class: `toast ${t.kind}`, dataset: {id: t.id}, text: t.text})));
}

function renderBlocked(model, root) {
  const choose = root.querySelector("#choose-seat");
  choose.hidden = !model.choices;
  if (model.choices) {
    fill(root.querySelector("#seat-choices"), ...model.choices.map((seat) => h("li", {},
      h("button", {type: "button", class: "button-link", "data-choose": seat.token,
                   text: `Play ${seat.name || "this seat"}${seat.seat === null ? "" : ` (seat ${seat.seat + 1})`}`}))));
  }
  const elsewhere = root.querySelector("#elsewhere");
  elsewhere.hidden = !model.elsewhere;
  root.querySelector("#elsewhere-title").textContent = model.elsewhere === "taken"
    ? "This seat was opened in another tab" : "This seat is open in another tab";
  root.querySelector("#elsewhere-text").textContent = model.elsewhere === "taken"
    ? "You play this seat in another tab or window now, so this tab stopped. Press \"Use here\" to play it here again."
    : "Another tab or window of this browser plays this seat. Play on there, or press \"Use here\" to move the game to this tab.";
  root.querySelector("#room-closed").hidden = !model.roomClosed;
}

function draw(model, root) {
  renderConnection(model, root);
  renderToasts(model, root);
  renderBlocked(model, root);
  const sound = root.querySelector("#sound");
  sound.setAttribute("aria-pressed", String(model.sound));
  sound.textContent = model.sound ? "Sound on" : "Sound off";
  root.querySelector("#hint").hidden = !model.hintShown || !model.view || over(model) || blocked(model);
  renderLeave(model, root);
  root.querySelector("#notice").textContent = model.notice;
  root.querySelector("#no-token").hidden = !model.noToken || model.roomClosed;
  renderRefusal(model, root);
  if (model.room) root.querySelector("#room-name").textContent = model.room.name;
  renderWaiting(model, root);
  const table = root.querySelector("#table");
  table.hidden = !model.view || model.left || blocked(model);
  // Events and chat belong to a game: none before it, after leaving, or without a seat.
  root.querySelector("#side").hidden = table.hidden;
  root.querySelector("#chat-form").querySelector("fieldset").disabled = !model.view || Boolean(model.result) || model.left;
  renderResult(model, root);
  if (!model.view) return;
  renderPlayers(model, root);
  renderCentre(model, root);
  renderPause(model, root);
  renderPrompt(model, root);
  renderHand(model, root);
  renderLog(model, root);
}
