from django.apps import AppConfig


class GameConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "game"
    verbose_name = "Game"

    def ready(self):
        # Registers the game's deadline handlers and the sweep's seat-gone hook in every process.
        from game import services  # noqa: F401
