"""Cards as an operator reads them in the admin: names with a small picture each (escaped HTML)."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from game.engine.cards import WIRE

INK = {"red": "#c62828", "blue": "#1f5fbf", "green": "#2e7d32", "yellow": "#e0a800"}
SYMBOL_WORDS = {"pick_one": "pick one", "pick_two": "pick two", "skip": "skip", "question": "question",
                "drop": "drop"}
FACES = {"pick_one": "1", "pick_two": "2", "skip": "→", "question": "?", "drop": "−",
         "cross": "+", "square": "■", "triangle": "▲", "circle": "●", "cup": "U"}


def card_name(card_id: int) -> str:
    card = WIRE[card_id]
    return f"{card['colour']} {SYMBOL_WORDS[card['symbol']] if card['kind'] == 'special' else card['shape']}"


def card_picture(card_id: int) -> SafeString:
    """Return a 20×30 SVG of the card (colour border, its shape or symbol) and its name beside it."""
    card = WIRE[card_id]
    face = FACES[card["symbol"] if card["kind"] == "special" else card["shape"]]
    ink = INK[card["colour"]]
    return format_html(
        '<span class="admin-card"><svg viewBox="0 0 20 30" width="20" height="30" aria-hidden="true">'
        '<rect x="1" y="1" width="18" height="28" rx="3" fill="{}" stroke="{}" stroke-width="2"/>'
        '<text x="10" y="20" font-size="12" text-anchor="middle" fill="{}">{}</text></svg> {}</span>',
        "#fff" if card["kind"] == "normal" else ink, ink, ink if card["kind"] == "normal" else "#fff", face,
        card_name(card_id))


def cards_html(card_ids: list[int]) -> SafeString:
    if not card_ids:
        return format_html("{}", "none")
    return format_html_join(" ", "{}", ((card_picture(card_id),) for card_id in card_ids))


def state_cards_html(state: dict, names: list[str]) -> SafeString:
    """Return the hands (named by seat), the pile (top card last) and the market of an engine state."""
    rows = [(f"Seat {seat}: {names[seat] if seat < len(names) else '?'} ({len(hand)})", cards_html(hand))
            for seat, hand in enumerate(state.get("hands", []))]
    pile = state.get("pile", [])
    rows.append((f"Pile ({len(pile)}, top card last)", cards_html(pile)))
    market = state.get("market", [])
    rows.append((f"Market ({len(market)}, next draw last)", cards_html(market)))
    return format_html('<table class="admin-cards">{}</table>',
                       format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))
