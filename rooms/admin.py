"""The Django admin for rooms: players inline, filters by status, search by name, and the
operator's actions (close a room, fill its empty seats with computers), both through services."""

from django.contrib import admin, messages

from rooms import services
from rooms.models import Deadline, Player, Room, RoomDraft


class PlayerInline(admin.TabularInline):
    model = Player
    fields = ("seat", "name", "is_computer", "connected", "joined")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("seat",)

    def has_add_permission(self, request, obj=None):
        return False  # seats change only through the services


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "status", "num_of_players", "seated", "created", "watch_link")
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = ("status", "created", "updated")
    inlines = [PlayerInline]
    actions = ["close_rooms", "fill_with_computers"]

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
        seated = sum(services.room_fill_with_computers(room_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"Seated {seated} computer(s).", messages.SUCCESS)


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
