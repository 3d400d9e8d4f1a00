"""Play Discard in this terminal against a running server (issue 12).

    python manage.py play --url http://127.0.0.1:8000 [--name Ada] [--no-color] [--save-dir DIR]

Talks to the server only over its WebSockets (lobby_site/terminal.py, on lobby_site/client.py):
no database and no SECRET_KEY are needed. `--url` is the site's address, as in a browser:
http:// becomes ws://, https:// becomes wss://.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lobby_site.terminal import run_terminal, ws_base_url


class Command(BaseCommand):
    help = "Play Discard in this terminal: the lobby, the waiting room and the table, typed."
    requires_system_checks = []  # it only talks to a server: nothing of this process's setup matters

    def add_arguments(self, parser):
        # --no-color (plain text) is one of Django's own options for every command.
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the site's http:// or https:// address")
        parser.add_argument("--name", default=None, help="your name at the table (asked if not given)")
        parser.add_argument("--save-dir", default=".", help="where a game you leave is saved (default: here)")

    def handle(self, *args, url, name, no_color, save_dir, **options):
        try:
            ws_base_url(url)
        except ValueError as error:
            raise CommandError(str(error)) from None
        directory = Path(save_dir).expanduser()
        if not directory.is_dir():
            raise CommandError(f"--save-dir {save_dir} is not a directory")
        try:
            asyncio.run(run_terminal(url, name=name, colour=not no_color, save_dir=directory))
        except KeyboardInterrupt:
            return  # Ctrl-C quits quietly, like /quit
        self.stdout.write("")
