"""Presence per process: connections name their process and no longer beat one by one.

Connection rows are live sockets only; any left from before this change belong to
processes that no longer run, so the table starts empty.
"""

import django.db.models.deletion
from django.db import migrations, models


def seats_disconnected(apps, schema_editor):
    # No connection survives the migration, so no seat is connected until it says HELLO again.
    apps.get_model("rooms", "Player").objects.update(connected=False)


class Migration(migrations.Migration):

    dependencies = [
        ("rooms", "0002_deadline_fired"),
    ]

    operations = [
        migrations.DeleteModel(name="Connection"),
        migrations.CreateModel(
            name="ServerProcess",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                ("started", models.DateTimeField(auto_now_add=True)),
                ("beat", models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.CreateModel(
            name="Connection",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel_name", models.CharField(max_length=200, unique=True)),
                ("kind", models.CharField(choices=[("game", "Game")], default="game", max_length=5)),
                ("process", models.CharField(db_index=True, max_length=100)),
                ("opened", models.DateTimeField(auto_now_add=True)),
                ("player", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="connections",
                                             to="rooms.player")),
            ],
        ),
        migrations.AddField(
            model_name="roomdraft",
            name="process",
            field=models.CharField(blank=True, db_index=True, max_length=100),
        ),
        migrations.RunPython(seats_disconnected, migrations.RunPython.noop),
    ]
