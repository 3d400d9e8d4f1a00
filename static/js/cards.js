// Cards drawn as inline SVG (docs/rules.md R1). Every card carries its colour's initial in two
// corners and its shape or symbol, so it reads without colour vision.

const SVG_NS = "http://www.w3.org/2000/svg";

export const COLOURS = ["red", "blue", "green", "yellow"];
export const SHAPES = ["cross", "square", "triangle", "circle", "cup"];

const INK = {red: "#c62828", blue: "#1f5fbf", green: "#2e7d32", yellow: "#e0a800"};
// Yellow fill is too pale to outline itself on white: shapes get a dark edge.
const EDGE = {red: "#7f1515", blue: "#123a75", green: "#174d1a", yellow: "#6b5000"};

const SYMBOL_WORDS = {pick_one: "pick one", pick_two: "pick two", skip: "skip",
                      question: "question", drop: "drop"};
const SYMBOL_FACES = {pick_one: "1", pick_two: "2", skip: "\u2192", question: "?", drop: "\u2212"};

const SYMBOLS = ["pick_one", "pick_two", "skip", "question", "drop"];

// What each special card does (docs/rules.md R10–R11), for hover, long press and the rules page.
export const SPECIAL_HELP = {
  pick_one: "Pick one: the next player draws 1, unless they answer with a pick one of their own (the total stacks).",
  pick_two: "Pick two: the next player draws 2, unless they answer with a pick two of their own (the total stacks).",
  skip: "Skip: the next player loses their turn.",
  question: "Question: name a colour or a shape; the first player after you who holds a normal card of it must give you one.",
  drop: "Drop: discard one more card of your choice, with no need to match.",
};

/** Return the card with id `id` (docs/rules.md R1). */
export function cardFromId(id) {
  if (id >= 100) {
    return {id, kind: "special", colour: COLOURS[Math.floor((id - 100) / 5)], symbol: SYMBOLS[(id - 100) % 5]};
  }
  const kind = Math.floor(id / 5);
  return {id, kind: "normal", colour: COLOURS[Math.floor(kind / 5)], shape: SHAPES[kind % 5]};
}

/** Return what the special card `id` does, or null for a normal card. */
export function specialHelp(id) {
  return id >= 100 && id < 120 ? SPECIAL_HELP[cardFromId(id).symbol] : null;
}

/** Return a card in words: "red cup", "blue pick two". */
export function cardName(card) {
  if (!card || typeof card !== "object") return card === null || card === undefined ? "no card" : "a card";
  return `${card.colour} ${card.kind === "special" ? SYMBOL_WORDS[card.symbol] : card.shape}`;
}

/** Return a list of cards in words, in laying order. */
export function cardsText(cards) {
  return cards.map(cardName).join(", ");
}

function el(name, attrs = {}) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

/** Return the SVG element drawing `shape` centred in a 60×90 card, filled with `colour`. */
function shapeElement(shape, colour) {
  const paint = {fill: INK[colour], stroke: EDGE[colour], "stroke-width": 2, "stroke-linejoin": "round"};
  switch (shape) {
    case "cross":
      return el("polygon", {points: "24,27 36,27 36,39 48,39 48,51 36,51 36,63 24,63 24,51 12,51 12,39 24,39", ...paint});
    case "square":
      return el("rect", {x: 15, y: 30, width: 30, height: 30, ...paint});
    case "triangle":
      return el("polygon", {points: "30,27 48,61 12,61", ...paint});
    case "circle":
      return el("circle", {cx: 30, cy: 45, r: 16, ...paint});
    case "cup":
      return el("path", {d: "M14 29 H46 L41 50 Q30 58 19 50 Z M27 55 H33 V61 H40 V65 H20 V61 H27 Z", ...paint});
    default:
      return el("g");
  }
}

function cornerLetter(colour, x, y, rotate) {
  const text = el("text", {x, y, "font-size": 13, "font-weight": 700, "font-family": "system-ui, sans-serif",
                           fill: "#1d1d1f", "text-anchor": "middle"});
  if (rotate) text.setAttribute("transform", `rotate(180 ${x} ${y - 4.5})`);
  text.textContent = colour[0].toUpperCase();
  return text;
}

/** Return an inline SVG drawing `card`, labelled for screen readers. */
export function cardSvg(card) {
  const svg = el("svg", {viewBox: "0 0 60 90", class: "card-face", role: "img"});
  const title = el("title");
  title.textContent = cardName(card);
  svg.append(title);
  svg.append(el("rect", {x: 1.5, y: 1.5, width: 57, height: 87, rx: 7, fill: "#fff",
                         stroke: INK[card.colour], "stroke-width": 3}));
  svg.append(cornerLetter(card.colour, 10, 16, false), cornerLetter(card.colour, 50, 83, true));
  if (card.kind === "special") {
    svg.append(el("circle", {cx: 30, cy: 45, r: 19, fill: INK[card.colour], stroke: EDGE[card.colour], "stroke-width": 2}));
    const face = el("text", {x: 30, y: 54, "font-size": 26, "font-weight": 800, fill: "#fff",
                             "font-family": "system-ui, sans-serif", "text-anchor": "middle"});
    face.textContent = SYMBOL_FACES[card.symbol] ?? "?";
    svg.append(face);
  } else {
    svg.append(shapeElement(card.shape, card.colour));
  }
  return svg;
}

/** Return a small SVG swatch for a name option: a colour chip or a shape outline. */
export function optionSvg(option) {
  const svg = el("svg", {viewBox: "8 22 44 46", class: "option-face", "aria-hidden": "true"});
  if (COLOURS.includes(option)) {
    svg.append(el("rect", {x: 12, y: 27, width: 36, height: 36, rx: 6, fill: INK[option], stroke: EDGE[option], "stroke-width": 2}));
  } else {
    const shape = shapeElement(option, "blue");
    shape.setAttribute("fill", "#fff");
    shape.setAttribute("stroke", "#1d1d1f");
    svg.append(shape);
  }
  return svg;
}
