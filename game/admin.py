"""The Django admin for games: read-only, since every change to a game goes through the
services (a hand-edited state would break R16 or a seat's msg_id sequence)."""

import json

from django.contrib import admin
from django.utils.html import format_html

from game.models import Game, GameEvent, SavedGameState


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GameEventInline(admin.TabularInline):
    model = GameEvent
    fields = ("seq", "version", "data", "created")
    readonly_fields = fields
    ordering = ("-seq",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        # The newest events only: a long game has thousands.
        return super().get_queryset(request).order_by("-seq")


@admin.register(Game)
class GameAdmin(ReadOnlyAdmin):
    list_display = ("id", "room", "status", "version", "event_count", "seed", "created", "updated")
    list_filter = ("status",)
    search_fields = ("room__name",)
    list_select_related = ("room",)
    readonly_fields = ("room", "seed", "status", "version", "event_count", "state", "seats", "created", "updated")
    inlines = [GameEventInline]


@admin.register(GameEvent)
class GameEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "game", "seq", "version", "event_name", "created")
    list_filter = ("game__status",)
    list_select_related = ("game",)
    readonly_fields = ("game", "seq", "version", "data", "created")

    @admin.display(description="event")
    def event_name(self, obj):
        return obj.data.get("event")


@admin.register(SavedGameState)
class SavedGameStateAdmin(ReadOnlyAdmin):
    list_display = ("id", "room", "created", "reason", "player_names", "version", "game")
    list_filter = ("reason",)
    search_fields = ("room__name",)
    list_select_related = ("room", "game")
    fields = ("room", "game", "created", "reason", "version", "player_names", "state_json")
    readonly_fields = fields

    @admin.display(description="players")
    def player_names(self, obj):
        return ", ".join(f"{p['seat']}: {p['name']}{' (computer)' if p['is_computer'] else ''}" for p in obj.players)

    @admin.display(description="state")
    def state_json(self, obj):
        # Pretty-printed and escaped, so an operator can read (and copy) the whole state.
        return format_html("<pre>{}</pre>", json.dumps(obj.state, indent=2, sort_keys=True))
