// The rules page: a picture of each special card beside what it does (cards.js draws them).

import {SPECIAL_HELP, cardFromId, cardSvg} from "./cards.js";

const list = document.getElementById("special-cards");
const FIRST_SPECIAL = 100;  // docs/rules.md R1: red pick one, red pick two, red skip, red question, red drop

list.replaceChildren(...Object.keys(SPECIAL_HELP).map((symbol, index) => {
  const card = cardFromId(FIRST_SPECIAL + index);
  const item = document.createElement("li");
  item.className = "special-card";
  const picture = document.createElement("span");
  picture.className = "special-picture";
  picture.append(cardSvg(card));
  const text = document.createElement("p");
  text.textContent = SPECIAL_HELP[symbol];
  item.append(picture, text);
  return item;
}));
