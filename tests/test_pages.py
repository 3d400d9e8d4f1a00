"""The pages render."""


def test_lobby_page(client):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Discard online</h1>" in html
    assert "css/site.css" in html
