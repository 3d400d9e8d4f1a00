"""The site itself as an app, so its system checks run with `manage.py check`."""

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


def secret_key_from_environment(app_configs, **kwargs):
    """`check --deploy`: a deployment must set SECRET_KEY (the fallback is per-process, random)."""
    if getattr(settings, "SECRET_KEY_FROM_ENV", False):
        return []
    return [checks.Warning(
        "SECRET_KEY is not set in the environment: this process signs with a random key of its "
        "own, and the server (lobby_site.asgi) refuses to start.",
        hint="Set SECRET_KEY to a long random string (docs/operations.md).",
        id="lobby_site.W001")]


class SiteConfig(AppConfig):
    name = "lobby_site"
    label = "lobby_site"
    verbose_name = "Discard online site"

    def ready(self):
        checks.register(secret_key_from_environment, checks.Tags.security, deploy=True)
