"""Settings with nothing set are production-safe (docs/operations.md "Security settings")."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.servers import free_port
from tests.test_settings import CONFIG_VARS, ROOT, probe

PRODUCTION = {
    "SECRET_KEY": "a-production-key-" + "x" * 50, "HTTPS": "true", "ALLOWED_HOSTS": "discard.example",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/discard",
}


def clean_env(**env) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS and k != "DJANGO_SETTINGS_MODULE"}
    base.update(env)
    return base


def manage(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean_env(**env),
                          capture_output=True, text=True, timeout=120)


def test_nothing_set_means_debug_off_and_no_known_key(tmp_path):
    report = probe(tmp_path)
    assert report["debug"] is False
    # The per-process fallback key is random: two processes never share it.
    keys = {subprocess.run([sys.executable, "-c", "import django; from django.conf import settings; "
                            "django.setup(); print(settings.SECRET_KEY)"], cwd=ROOT, capture_output=True,
                           text=True, env=clean_env(DJANGO_SETTINGS_MODULE="lobby_site.settings"),
                           timeout=60, check=True).stdout.strip() for _ in range(2)}
    assert len(keys) == 2 and all(len(key) >= 50 for key in keys)


def test_the_server_refuses_to_start_without_secret_key():
    result = subprocess.run(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(free_port()), "lobby_site.asgi:application"],
        cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_commands_that_serve_nothing_run_without_secret_key():
    result = manage("simulate", "--games", "2", "--players", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert manage("check").returncode == 0


def test_check_deploy_is_clean_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues (0 silenced)" in result.stdout


def test_check_deploy_names_what_a_bare_environment_lacks():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    found = set(re.findall(r"\((security\.W\d+|lobby_site\.W\d+)\)", result.stderr))
    assert found == {"security.W004", "security.W008", "security.W012", "security.W016", "lobby_site.W001"}


def test_https_turns_on_redirect_secure_cookies_and_hsts(tmp_path):
    script = ("import django, json; from django.conf import settings; django.setup(); print(json.dumps("
              "[settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
              "settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD, "
              "settings.SECURE_PROXY_SSL_HEADER]))")

    def read(**env):
        return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env=clean_env(DJANGO_SETTINGS_MODULE="lobby_site.settings", **env),
                              check=True).stdout.strip().splitlines()[-1]

    assert read() == "[false, false, false, 0, false, false, null]"
    assert read(HTTPS="true") == "[true, true, true, 31536000, true, true, null]"
    assert read(HTTPS="true", SECURE_HSTS_SECONDS="60", SECURE_HSTS_PRELOAD="false",
                SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https") == \
        '[true, true, true, 60, true, false, ["HTTP_X_FORWARDED_PROTO", "https"]]'


def test_templates_hold_no_inline_script_or_style():
    """CSP allows scripts and styles from files only: the templates must not need more."""
    for template in Path(ROOT, "templates").rglob("*.html"):
        text = template.read_text()
        for script in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in script, f"{template}: inline script {script}"
        assert "<style" not in text, f"{template}: inline <style>"
        assert not re.search(r"\sstyle\s*=", text), f"{template}: style attribute"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template}: inline event handler"
