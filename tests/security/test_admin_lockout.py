"""Admin login is throttled by django-axes: ADMIN_LOGIN_FAILURES failures from one client
address lock that address out (HTTP 429), even with the right password afterwards."""

import ipaddress

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def admin_user():
    return User.objects.create_superuser("boss", "boss@example.com", "right-password-123")


def attempt(client, password: str, **extra):
    return client.post(LOGIN, {"username": "boss", "password": password}, **extra)


@pytest.mark.parametrize("limit", [3, 5])
def test_lockout_after_the_configured_number_of_failures(client, admin_user, settings, limit):
    settings.AXES_FAILURE_LIMIT = limit
    for _ in range(limit - 1):
        assert attempt(client, "wrong").status_code == 200  # the form again, with its error
    assert attempt(client, "wrong").status_code == 429  # the limit-th failure locks out
    # Locked: even the right password is refused, and nobody is logged in.
    response = attempt(client, "right-password-123")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_below_the_limit_the_right_password_logs_in_and_resets(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    attempt(client, "wrong")
    attempt(client, "wrong")
    assert attempt(client, "right-password-123").status_code == 302
    client.logout()
    attempt(client, "wrong")
    attempt(client, "wrong")  # two more: the success reset the count, so still not locked
    assert attempt(client, "right-password-123").status_code == 302


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network("127.0.0.1")]
    mallory = {"HTTP_X_FORWARDED_FOR": "198.51.100.66"}
    alice = {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    attempt(client, "wrong", **mallory)
    assert attempt(client, "wrong", **mallory).status_code == 429
    # The proxy's own address is not locked, nor is another client behind it.
    assert attempt(client, "right-password-123", **alice).status_code == 302


def test_a_forged_forwarded_header_does_not_dodge_the_lockout(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 2  # no trusted proxies: the header is the client's own words
    attempt(client, "wrong", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert attempt(client, "wrong", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 429
