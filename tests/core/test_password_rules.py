"""The password rules: each refused password gets its own message, in both languages,
on the page where a user chooses a password; the demo's accounts keep the demo password."""
import pytest
import sqlalchemy as sa

from caseflow.core.auth.passwords import check_password_rules, common_passwords
from caseflow.core.demo import DEMO_PASSWORD
from caseflow.core.errors import ValidationFailed
from caseflow.core.orgs import services
from caseflow.core.orgs.models import User
from tests import factories
from tests.conftest import page_text, zh

INVISIBLE = ("A password may contain only visible characters: no control characters and no "
             "invisible ones such as zero-width spaces.")
USERNAME = "A password must not contain the username."
DEMO = "This is the published password of the demo accounts; choose a password of your own."
COMMON = ("This password is too common or too easy to guess (a well-known password, a keyboard "
          "pattern or a repeated character); choose another.")
LENGTH = "A password has at least %(count)d characters."


@pytest.mark.parametrize("password, message", [
    ("Zhang-li\u200b1!", INVISIBLE),            # a zero-width space
    ("Abc-1234\u200b\u200b\u200b", INVISIBLE),  # invisible padding up to the length
    ("Tab\tbed-2026!", INVISIBLE),
    ("Bell\x07ring-2026", INVISIBLE),
    ("Lin.Zhang-2026!", USERNAME),               # the username in another case
    (DEMO_PASSWORD, DEMO),
    (DEMO_PASSWORD.upper(), DEMO),
    ("Password123!", COMMON),
    ("aaaaaaaaa1!", COMMON),
    ("qwer1234!Q", COMMON),
    ("1qaz2wsx!@#", COMMON),
    ("1qaz2wsx!A", COMMON),
    ("Woaini1314!", COMMON),
    ("P@ssw0rd-2026", COMMON),
    ("Aa1!Aa1!Aa1!", COMMON),
])
def test_each_rule_refuses_with_its_message(password, message):
    with pytest.raises(ValidationFailed) as refused:
        check_password_rules(password, username="lin.zhang")
    assert refused.value.message == message
    assert refused.value.field == "password"


@pytest.mark.parametrize("password", ["Blue-river-at-dawn7", "Jiangnan#Tea2026", "绿水青山-2026a"])
def test_a_good_password_passes(password):
    check_password_rules(password, username="lin.zhang")


def test_the_list_is_shipped_with_the_code_and_holds_the_chinese_patterns():
    listed = common_passwords()
    assert len(listed) > 10_000
    assert {"password", "1qaz2wsx", "qwer1234", "woaini1314", "5201314"} <= listed


@pytest.mark.parametrize("locale, translate", [("zh_CN", zh), ("en", lambda m, **k: m % k if k else m)])
@pytest.mark.parametrize("new_password, message, variables", [
    ("Short1!", LENGTH, {"count": 10}),
    ("Zhang-li\u200b1!", INVISIBLE, {}),
    ("{username}-Safe1!", USERNAME, {}),
    (DEMO_PASSWORD, DEMO, {}),
    ("Password123!", COMMON, {}),
])
def test_the_change_password_page_says_which_rule(client, world, db, locale, translate,
                                                   new_password, message, variables):
    user = factories.make_user(world, roles={"prosecutor"}, locale=locale)
    client.submit("/login", {"username": user.username, "password": factories.PASSWORD})
    new_password = new_password.format(username=user.username.upper())
    response = client.submit("/account/password", {
        "current_password": factories.PASSWORD, "new_password": new_password,
        "confirm_password": new_password})
    assert translate(message, **variables) in page_text(response)
    db.session.refresh(user)
    assert user.password_changed_at is None


def test_the_demo_accounts_are_still_made_with_the_demo_password(world, db, clock):
    user = services.create_account(
        actor=None, now=clock.now, username="demo.like", display_name="演示", email="demo.like@x.cn",
        organisation=world.federation, password=DEMO_PASSWORD, is_demo=True)
    assert not user.must_change_password
    # Anyone else is refused it, the command line's operator included.
    with pytest.raises(ValidationFailed) as refused:
        services.create_account(
            actor=None, now=clock.now, username="not.demo", display_name="某人",
            email="not.demo@x.cn", organisation=world.federation, password=DEMO_PASSWORD)
    assert refused.value.message == zh(DEMO)
    assert db.session.scalar(sa.select(User.id).where(User.username == "not.demo")) is None
