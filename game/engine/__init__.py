"""The pure Discard rules engine (docs/rules.md): no Django, no I/O, no clock.

Plain data in, plain data out: `new_game` and `apply` return a state and events,
`view` and `events_for_seat` are what one seat may see, and the computer levels
(`choose`) answer prompts from a view and the public history.
"""

from .cards import COLOURS, DECK, SHAPES, SYMBOLS, WIRE, Card, card, format_cards, parse_card, parse_cards
from .computer import computer_player, easy_player, normal_player, random_player
from .levels import LEVELS, STRATEGIES, choose
from .search import DEFAULT_PLAYOUTS, hard_player
from .rules import (
    NAME_OPTIONS,
    Discard,
    Give,
    Name,
    Play,
    apply,
    check_action,
    check_play,
    legal_plays,
    matches,
    new_game,
)
from .state import GameState, IllegalAction, Outcome, computer_rng
from .view import event_for_seat, events_for_seat, prompt_for, public_event, view

__all__ = [
    "COLOURS", "DECK", "SHAPES", "SYMBOLS", "WIRE", "Card", "card", "format_cards", "parse_card",
    "parse_cards", "LEVELS", "STRATEGIES", "DEFAULT_PLAYOUTS", "choose", "computer_player", "easy_player",
    "hard_player", "normal_player", "random_player", "NAME_OPTIONS", "Discard",
    "Give", "Name", "Play", "apply", "check_action", "check_play", "legal_plays", "matches",
    "new_game", "GameState", "IllegalAction", "Outcome", "computer_rng", "event_for_seat",
    "events_for_seat", "prompt_for", "public_event", "view",
]
