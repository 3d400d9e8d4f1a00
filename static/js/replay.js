// The replay page, and the table rebuilt from public events (the same rules as game/replay.py):
// tableBegin(begin event) → table; tableApply(table, event) → the next table.
import {cardName, cardSvg} from "./cards.js";

export function tableBegin(begin) {
  return {
    players: begin.players.map(p => ({seat: p.seat, name: p.name, cards_left: p.cards_left})),
    top_card: begin.top_card, market_count: begin.market_count, pile_count: begin.pile_count,
    current_seat: null, awaiting_seat: null, pending_pick: null, question: null, turn_count: 0, over: false,
  };
}

function lay(table, seat, cards) {
  table.players[seat].cards_left -= cards.length;
  table.pile_count += cards.length;
  if (cards.length) table.top_card = cards[cards.length - 1];
}

export function tableApply(previous, event) {
  const table = structuredClone(previous);
  const seat = event.seat;
  const next = s => (s + 1) % table.players.length;
  switch (event.event) {
    case "turn":
      Object.assign(table, {current_seat: seat, awaiting_seat: seat, question: null, turn_count: table.turn_count + 1});
      break;
    case "played": case "discarded":
      lay(table, seat, event.cards); table.awaiting_seat = seat; break;
    case "gave": case "lost_special":
      lay(table, seat, [event.card]); if (event.event === "gave") table.question = null; break;
    case "drew":
      table.players[seat].cards_left += event.count; table.market_count -= event.count;
      if (event.reason === "pick") table.pending_pick = null;
      else if (event.reason === "question") table.awaiting_seat = next(seat);
      break;
    case "reshuffled": table.market_count += event.count; table.pile_count = 1; break;
    case "pick_pending": table.pending_pick = {symbol: event.symbol, total: event.total}; break;
    case "question": {
      const {event: _, ...asked} = event;
      table.question = asked; table.awaiting_seat = next(seat); break;
    }
    case "game_over":
      Object.assign(table, {awaiting_seat: null, pending_pick: null, question: null, over: true}); break;
    default: break;
  }
  return table;
}

export function eventText(event, names) {
  const who = event.seat !== undefined ? (names[event.seat] ?? "Someone") : "Someone";
  switch (event.event) {
    case "turn": return `It is ${who}'s turn.`;
    case "played": return `${who} played ${event.cards.map(cardName).join(", ")}.`;
    case "drew": return `${who} drew ${event.count} card${event.count === 1 ? "" : "s"}.`;
    case "discarded": return `${who} discarded ${event.cards.map(cardName).join(", ")}.`;
    case "gave": return `${who} gave ${cardName(event.card)}.`;
    case "lost_special": return `${who} lost ${cardName(event.card)}.`;
    case "chat": return `${event.name}: ${event.text}`;
    case "game_over": return `${names[event.winner]} wins the game.`;
    case "spectators": return `${event.count} watching.`;
    default: return `${who}: ${event.event.replaceAll("_", " ")}.`;
  }
}

const BACKS_SHOWN = 12;  // card backs drawn for a hand; more are summed up by an ellipsis

/** Draw a public table (a rebuilt table, or a public view) into `root`; user text goes in as text. */
export function renderTable(table, root) {
  root.replaceChildren();
  const players = document.createElement("ul");
  players.className = "watch-players";
  for (const p of table.players) {
    const li = document.createElement("li");
    li.dataset.seat = p.seat;
    li.textContent = `${p.name}: ${p.cards_left} card${p.cards_left === 1 ? "" : "s"}`;
    // The hand face down: one card back per card (the count above says it in words).
    const backs = document.createElement("span");
    backs.className = "face-down";
    backs.setAttribute("aria-hidden", "true");
    backs.dataset.count = p.cards_left;
    for (let k = 0; k < Math.min(p.cards_left, BACKS_SHOWN); k += 1) {
      const back = document.createElement("span");
      back.className = "card-back";
      backs.append(back);
    }
    if (p.cards_left > BACKS_SHOWN) backs.append("…");
    li.append(" ", backs);
    if (p.seat === table.current_seat) li.classList.add("current");
    if (p.seat === table.awaiting_seat) li.dataset.awaiting = "true";
    players.append(li);
  }
  const pile = document.createElement("div");
  pile.className = "watch-pile";
  pile.dataset.topCard = table.top_card.id;
  pile.append(cardSvg(table.top_card));
  const counts = document.createElement("p");
  counts.className = "watch-counts";
  counts.textContent = `Pile ${table.pile_count} · market ${table.market_count}` +
    (table.pending_pick ? ` · pick ${table.pending_pick.total}` : "") +
    (table.question ? ` · asked: ${table.question.colour ?? table.question.shape}` : "");
  root.append(players, pile, counts);
}

async function replayPage(page) {
  const replay = await (await fetch(page.dataset.eventsUrl)).json();
  const names = replay.players.map(p => p.name);
  const tables = [tableBegin(replay.start)];
  for (const event of replay.events) tables.push(tableApply(tables[tables.length - 1], event));
  let step = 0;
  let timer = null;
  const show = () => {
    renderTable(tables[step], document.getElementById("table"));
    document.getElementById("step").textContent = `Event ${step} of ${replay.events.length} · turn ${tables[step].turn_count}`;
    document.getElementById("step").dataset.step = step;
    document.getElementById("event-text").textContent = step ? eventText(replay.events[step - 1], names) : "The deal.";
  };
  const go = to => { step = Math.max(0, Math.min(tables.length - 1, to)); show(); };
  const stop = () => { clearInterval(timer); timer = null; document.getElementById("play").textContent = "Play"; };
  const play = () => {
    if (timer) { stop(); return; }
    const speed = Number(document.getElementById("speed").value);
    document.getElementById("play").textContent = "Pause";
    timer = setInterval(() => { if (step >= tables.length - 1) stop(); else go(step + 1); }, 1000 / speed);
  };
  page.addEventListener("click", e => {
    const action = e.target.closest("[data-action]")?.dataset.action;
    if (action === "back") go(step - 1);
    else if (action === "forward") go(step + 1);
    else if (action === "play") play();
    else if (action === "jump") {
      const turn = Number(document.getElementById("turn").value);
      const found = tables.findIndex(t => t.turn_count >= turn);
      go(found < 0 ? tables.length - 1 : found);
    }
  });
  document.addEventListener("keydown", e => {
    if (e.target.closest("input, select")) return;
    if (e.key === "ArrowRight") go(step + 1);
    else if (e.key === "ArrowLeft") go(step - 1);
  });
  show();
}

const page = document.getElementById("replay-page");
if (page) replayPage(page);
