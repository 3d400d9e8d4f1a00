"""Tell a finished game in words, one line per public event, from its log alone."""

from django.core.management.base import BaseCommand, CommandError

from game.messages import event_text
from game.models import Game
from game.replay import NoBeginning, tables
from game.selectors import game_replay


class Command(BaseCommand):
    help = "Print a game's public events in words, one line per event (its replay)."

    def add_arguments(self, parser):
        parser.add_argument("game_id", type=int)
        parser.add_argument("--table", action="store_true",
                            help="after each line, the table rebuilt from the log: counts, top card, pile, market")

    def handle(self, *args, game_id, table=False, **options):
        game = Game.objects.filter(pk=game_id).first()
        if game is None:
            raise CommandError(f"no game {game_id}")
        replay = game_replay(game)
        names = [p["name"] for p in replay["players"]]
        start = replay["start"]
        lines = []
        if start is not None:
            lines.append(event_text(start, names))
        try:
            rebuilt = tables(start, replay["events"]) if table and start else [None] * len(replay["events"])
        except NoBeginning:
            rebuilt = [None] * len(replay["events"])
        for number, (event, shown) in enumerate(zip(replay["events"], rebuilt), start=1):
            lines.append(f"{number:>4}  {event_text(event, names)}")
            if shown is not None:
                counts = " ".join(f"{p['name']}:{p['cards_left']}" for p in shown["players"])
                lines.append(f"      [{counts} | pile {shown['pile_count']} market {shown['market_count']}]")
        if game.status not in ("finished", "abandoned"):
            lines.append(f"(the game is {game.status}: its replay goes on)")
        self.stdout.write("\n".join(lines))
