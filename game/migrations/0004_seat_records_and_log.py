"""Seat records in the game row, and one log row per change instead of one per event.

Existing games keep playing: each seat record gains who sits there (from the Player rows)
and a bounded list of past prompts; each game's events are grouped by the version that
wrote them into log rows, and its last 20 become `recent`.
"""

import itertools

import django.db.models.deletion
from django.db import migrations, models

PAST_PROMPTS_KEPT = 8
RECENT_EVENTS = 20


def forward(apps, schema_editor):
    Game = apps.get_model("game", "Game")
    GameEvent = apps.get_model("game", "GameEvent")
    GameLog = apps.get_model("game", "GameLog")
    Player = apps.get_model("rooms", "Player")
    for game in Game.objects.all():
        players = {p.seat: p for p in Player.objects.filter(room_id=game.room_id)}
        records = []
        for seat, old in enumerate(game.seats):
            player = players.get(seat)
            human = old.get("human")
            records.append({
                "player_id": player.pk if player else 0, "name": player.name if player else f"Seat {seat}",
                "is_computer": bool(player and player.is_computer), "msg_id": old.get("msg_id", 0),
                "prompt": old.get("prompt"), "past": list(old.get("past", []))[-PAST_PROMPTS_KEPT:],
                "away": bool(old.get("away")), "autoplay": bool(old.get("autoplay")),
                "human": human["name"] if isinstance(human, dict) else human})
        events = list(GameEvent.objects.filter(game=game).order_by("seq"))
        for version, group in itertools.groupby(events, key=lambda e: e.version):
            group = list(group)
            GameLog.objects.create(game=game, version=version, seq=group[0].seq, events=[e.data for e in group])
        game.seats = records
        game.recent = [e.data for e in events[-RECENT_EVENTS:]]
        game.save(update_fields=["seats", "recent"])


class Migration(migrations.Migration):

    dependencies = [
        ("game", "0003_game_pause"),
        ("rooms", "0003_presence_per_process"),
    ]

    operations = [
        migrations.AddField(
            model_name="game",
            name="recent",
            field=models.JSONField(default=list),
        ),
        migrations.CreateModel(
            name="GameLog",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.PositiveIntegerField()),
                ("seq", models.PositiveIntegerField()),
                ("events", models.JSONField()),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("game", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="log",
                                           to="game.game")),
            ],
            options={"ordering": ["game", "version"]},
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
        migrations.DeleteModel(name="GameEvent"),
        migrations.AddConstraint(
            model_name="gamelog",
            constraint=models.UniqueConstraint(fields=("game", "version"), name="one_log_row_per_version"),
        ),
    ]
