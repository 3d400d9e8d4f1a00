"""Player.name_key becomes the confusable skeleton of the name (lobby_site.names.name_key).

The key can be longer than the name, so the column widens; existing rows get their new key.
Two players of one room whose names now collide (say `carol` and `Сarol`) both keep their
seats: the later seat's key gets a `#<seat>` suffix, which no typed name can produce, so
the unique constraint holds and nobody new can take either name.
"""

from django.db import migrations, models


def _rekey(apps, key_of, max_length: int) -> None:
    Player = apps.get_model("rooms", "Player")
    players = list(Player.objects.order_by("room_id", "seat"))
    # Park every row on a key of its own first: a row's new key may still be another
    # row's old one, and the unique constraint is checked row by row.
    for player in players:
        Player.objects.filter(pk=player.pk).update(name_key=f"#migrating {player.pk}")
    seen = set()
    for player in players:
        key = key_of(player.name)
        if (player.room_id, key) in seen:
            key = f"{key[:max_length - 3]}#{player.seat}"  # seats are 0-7
        seen.add((player.room_id, key))
        Player.objects.filter(pk=player.pk).update(name_key=key)


def skeleton_keys(apps, schema_editor):
    from lobby_site.names import name_key

    _rekey(apps, name_key, 255)


def casefold_keys(apps, schema_editor):
    _rekey(apps, lambda name: name.casefold()[:24], 24)


class Migration(migrations.Migration):

    dependencies = [
        ("rooms", "0005_player_level"),
    ]

    operations = [
        migrations.AlterField(
            model_name="player",
            name="name_key",
            field=models.CharField(editable=False, max_length=255),
        ),
        migrations.RunPython(skeleton_keys, casefold_keys),
    ]
