"""Delete what retention no longer keeps (docs/operations.md "Retention")."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from game.retention import KINDS, parse_age, purge


class Command(BaseCommand):
    help = ("Delete ended rooms, ended drafts, saved states and fired deadlines older than --older-than "
            "(default PURGE_AFTER_DAYS), and finished games older than REPLAY_DAYS; print the counts per kind.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", metavar="AGE", default=None,
                            help="an age: 30d, 12h, 90m or a number of days (default: PURGE_AFTER_DAYS)")
        parser.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")

    def handle(self, *args, older_than=None, dry_run=False, **options):
        try:
            age = parse_age(older_than if older_than is not None else str(settings.PURGE_AFTER_DAYS))
        except ValueError as error:
            raise CommandError(f"--older-than: {error}") from None
        counts = purge(older_than=age, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"purge older than {age} (games after REPLAY_DAYS = {settings.REPLAY_DAYS} days): "
                          f"{'dry run, nothing deleted' if dry_run else 'done'}")
        for kind in (*KINDS, *sorted(set(counts) - set(KINDS))):
            self.stdout.write(f"{verb} {counts.get(kind, 0)} {kind}")
