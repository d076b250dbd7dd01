from tests.conftest import page_text


def test_sign_in_lands_on_the_home_page_with_the_users_name(client, login_as):
    user = login_as("federation_officer")
    response = client.get("/")
    assert response.status_code == 200
    assert user.display_name in page_text(response)
