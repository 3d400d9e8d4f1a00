"""The Django admin for games: read-only, since every change to a game goes through the
services (a hand-edited state would break R16 or a seat's msg_id sequence)."""

import json

from django.contrib import admin
from django.utils.html import format_html

from game.admin_cards import state_cards_html
from game.models import Game, GameLog, SavedGameState


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GameLogInline(admin.TabularInline):
    model = GameLog
    fields = ("version", "seq", "events", "created")
    readonly_fields = fields
    ordering = ("-version",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        # The newest changes first: a long game has thousands.
        return super().get_queryset(request).order_by("-version")


@admin.register(Game)
class GameAdmin(ReadOnlyAdmin):
    list_display = ("id", "room", "room_name", "status", "version", "event_count", "seed", "created", "updated", "replay_link")

    @admin.display(description="replay")
    def replay_link(self, game):
        from django.urls import reverse
        from django.utils.html import format_html

        if game.status in ("finished", "abandoned"):
            return format_html('<a href="{}">replay</a>', reverse("game_replay", args=[game.pk]))
        if game.room_id is None:  # the room was purged (docs/operations.md "Retention")
            return "—"
        return format_html('<a href="{}">watch</a>', reverse("room_watch", args=[game.room_id]))
    list_filter = ("status",)
    search_fields = ("room_name",)
    list_select_related = ("room",)
    readonly_fields = ("room", "room_name", "watchable", "seed", "status", "version", "event_count", "cards", "state", "seats", "recent",
                       "created", "updated")
    inlines = [GameLogInline]

    @admin.display(description="cards")
    def cards(self, obj):
        return state_cards_html(obj.state, [record["name"] for record in obj.seats])


@admin.register(GameLog)
class GameLogAdmin(ReadOnlyAdmin):
    list_display = ("id", "game", "version", "seq", "event_names", "created")
    list_filter = ("game__status",)
    list_select_related = ("game",)
    readonly_fields = ("game", "version", "seq", "events", "created")

    @admin.display(description="events")
    def event_names(self, obj):
        return ", ".join(event.get("event", "?") for event in obj.events)


@admin.register(SavedGameState)
class SavedGameStateAdmin(ReadOnlyAdmin):
    list_display = ("id", "room", "created", "reason", "player_names", "version", "game")
    list_filter = ("reason",)
    search_fields = ("room__name",)
    list_select_related = ("room", "game")
    fields = ("room", "game", "created", "reason", "version", "player_names", "cards", "state_json")
    readonly_fields = fields

    @admin.display(description="players")
    def player_names(self, obj):
        return ", ".join(f"{p['seat']}: {p['name']}{' (computer)' if p['is_computer'] else ''}" for p in obj.players)

    @admin.display(description="cards")
    def cards(self, obj):
        state = obj.state.get("state", obj.state) if isinstance(obj.state, dict) else {}
        names = {p["seat"]: p["name"] for p in obj.players}
        return state_cards_html(state if "hands" in state else {}, [names.get(s, "?") for s in range(len(names))])

    @admin.display(description="state")
    def state_json(self, obj):
        # Pretty-printed and escaped, so an operator can read (and copy) the whole state.
        return format_html("<pre>{}</pre>", json.dumps(obj.state, indent=2, sort_keys=True))
