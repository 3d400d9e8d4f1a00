"""The Django admin for rooms: players inline, filters by status, search by name, and the
operator's actions (close a room, fill its empty seats with computers), both through services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from lobby_site.wire import COMPUTER_LEVELS
from rooms import services
from rooms.models import Deadline, Player, Room, RoomDraft


class RoomForm(forms.ModelForm):
    """The room's editable fields, refusing what the services would never allow."""

    class Meta:
        model = Room
        fields = ("name", "num_of_players")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not 1 <= len(name) <= 40 or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise forms.ValidationError("A room name is 1 to 40 characters, without control characters.")
        return name

    def clean_num_of_players(self):
        wanted = self.cleaned_data["num_of_players"]
        room = self.instance
        if room.pk is None or wanted == room.num_of_players:
            return wanted
        if room.status != Room.Status.WAITING:
            raise forms.ValidationError(f"The room is {room.status}: its number of players can no longer change.")
        seated = room.players.count()
        if wanted < max(2, seated):
            raise forms.ValidationError(f"{seated} players are seated: the room needs at least {max(2, seated)} seats.")
        if wanted > 8:
            raise forms.ValidationError("A room has at most 8 players.")
        if wanted == seated:
            raise forms.ValidationError("That would fill the room without a game: use "
                                        "\"Fill the empty seats with computers\" instead, or ask for more seats.")
        taken = set(room.players.values_list("seat", flat=True))
        if any(seat >= wanted for seat in taken):
            raise forms.ValidationError("A seat beyond that number is taken (seats are never renumbered).")
        return wanted


class PlayerInline(admin.TabularInline):
    model = Player
    fields = ("seat", "name", "is_computer", "connected", "joined")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("seat",)

    def has_add_permission(self, request, obj=None):
        return False  # seats change only through the services


class RoomActionForm(ActionForm):
    """The action bar, with the level of the computers the fill action seats."""

    level = forms.ChoiceField(choices=[(level, level) for level in COMPUTER_LEVELS], initial="normal",
                              required=False, label="Computer level")


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "status", "num_of_players", "seated", "created", "watch_link")
    list_filter = ("status",)
    search_fields = ("name",)
    form = RoomForm
    readonly_fields = ("status", "game_link", "created", "updated")
    inlines = [PlayerInline]

    def has_add_permission(self, request):
        return False  # rooms are made through the lobby (room_create), never by hand

    @admin.display(description="game")
    def game_link(self, room):
        game_id = getattr(getattr(room, "game", None), "pk", None) if room.pk else None
        if game_id is None:
            return "No game yet"
        try:
            url = reverse("admin:game_game_change", args=[game_id])
        except NoReverseMatch:
            return f"Game #{game_id}"
        return format_html('<a href="{}">Game #{}</a>', url, game_id)
    actions = ["close_rooms", "fill_with_computers"]
    action_form = RoomActionForm

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("players")

    @admin.display(description="watch")
    def watch_link(self, room):
        from django.urls import reverse
        from django.utils.html import format_html

        return format_html('<a href="{}">watch</a>', reverse("room_watch", args=[room.pk])) if room.watchable else "—"

    @admin.display(description="seated")
    def seated(self, room):
        return len(room.players.all())

    @admin.action(description="Close the selected rooms")
    def close_rooms(self, request, queryset):
        closed = sum(services.room_close(room_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"Closed {closed} room(s).", messages.SUCCESS)

    @admin.action(description="Fill the empty seats with computers")
    def fill_with_computers(self, request, queryset):
        level = request.POST.get("level") or "normal"
        if level not in COMPUTER_LEVELS:
            self.message_user(request, f"Unknown computer level {level!r}: nothing done.", messages.ERROR)
            return
        seated = sum(services.room_fill_with_computers(room_id=pk, level=level)
                     for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"Seated {seated} {level} computer(s).", messages.SUCCESS)


@admin.register(RoomDraft)
class RoomDraftAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "since", "ended", "room")
    list_filter = ("status",)
    readonly_fields = ("status", "since", "ended", "room", "creator_channel")


@admin.register(Deadline)
class DeadlineAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "due_at", "claimed_at", "fired_by", "fired_count", "room", "player")
    list_filter = ("kind",)
    readonly_fields = ("kind", "due_at", "claimed_at", "fired_by", "fired_count", "room", "player", "draft", "data")
