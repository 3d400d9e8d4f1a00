"""Tests of lobby_site/client.py, lobby_site/bot.py and manage.py loadtest."""
