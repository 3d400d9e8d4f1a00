"""Saved game states for operators: list them, show one, export one as JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from game.models import SavedGameState


def saved_json(saved: SavedGameState) -> dict:
    """Return a saved state as one JSON object: when, why, which room and players, and the state."""
    return {"id": saved.pk, "room_id": saved.room_id, "room": saved.room.name, "game_id": saved.game_id,
            "reason": saved.reason, "created": saved.created.isoformat(), "version": saved.version,
            "players": saved.players, "state": saved.state}


class Command(BaseCommand):
    help = "List, show or export the saved game states (saved when someone left a game or it was abandoned)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="one line per saved state, newest first")
        listing.add_argument("--room", type=int, help="only this room's")
        listing.add_argument("--reason", choices=SavedGameState.Reason.values)
        show = actions.add_parser("show", help="one saved state: its details and the state, readable")
        show.add_argument("id", type=int)
        export = actions.add_parser("export", help="one saved state as JSON, to stdout or a file")
        export.add_argument("id", type=int)
        export.add_argument("--output", "-o", help="write to this file instead of stdout")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _get(self, pk: int) -> SavedGameState:
        saved = SavedGameState.objects.select_related("room").filter(pk=pk).first()
        if saved is None:
            raise CommandError(f"no saved game state {pk}")
        return saved

    def _list(self, room=None, reason=None, **options):
        rows = SavedGameState.objects.select_related("room")
        if room is not None:
            rows = rows.filter(room_id=room)
        if reason:
            rows = rows.filter(reason=reason)
        count = 0
        for saved in rows:
            names = ", ".join(p["name"] for p in saved.players)
            self.stdout.write(f"{saved.pk}\t{saved.created:%Y-%m-%d %H:%M:%S}\t{saved.reason}\t"
                              f"room {saved.room_id} ({saved.room.name})\tv{saved.version}\t{names}")
            count += 1
        if not count:
            self.stdout.write("No saved game states.")

    def _show(self, id, **options):
        saved = self._get(id)
        self.stdout.write(f"Saved game state {saved.pk}: room {saved.room_id} ({saved.room.name}), "
                          f"game {saved.game_id}, {saved.reason}, {saved.created:%Y-%m-%d %H:%M:%S}, "
                          f"version {saved.version}")
        for player in saved.players:
            kind = "computer" if player["is_computer"] else "person"
            cards = len(saved.state["hands"][player["seat"]])
            self.stdout.write(f"  seat {player['seat']}: {player['name']} ({kind}, {cards} cards)")
        self.stdout.write(json.dumps(saved.state, indent=2, sort_keys=True))

    def _export(self, id, output=None, **options):
        text = json.dumps(saved_json(self._get(id)), indent=2, sort_keys=True)
        if output:
            with open(output, "w", encoding="utf-8") as file:
                file.write(text + "\n")
            self.stdout.write(f"Wrote saved game state {id} to {output}.")
        else:
            self.stdout.write(text)
