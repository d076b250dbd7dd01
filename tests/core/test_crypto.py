"""SM4-GCM sealing, the SM3 blind index and key rotation."""
import pytest
import sqlalchemy as sa
from hypothesis import given, strategies as st

from caseflow.core.crypto import FieldCipher, KeyError_, generate_key
from caseflow.core.people import services
from caseflow.core.people.models import Person
from tests import factories

KEY = "00112233445566778899aabbccddeeff"


@given(st.text(min_size=1, max_size=200))
def test_sealing_round_trips_any_text(text):
    cipher = FieldCipher.from_config(KEY)
    sealed = cipher.encrypt(text, context="persons.address")
    assert sealed.startswith(f"sm4gcm${cipher.current_id}$")
    assert cipher.decrypt(sealed, context="persons.address") == text


def test_a_sealed_value_does_not_open_in_another_column_or_when_altered():
    cipher = FieldCipher.from_config(KEY)
    sealed = cipher.encrypt("陈雨婷", context="persons.real_name")
    with pytest.raises(KeyError_):
        cipher.decrypt(sealed, context="persons.address")
    prefix, kid, body = sealed.split("$")
    altered = f"{prefix}${kid}${body[:-4]}AAAA"
    with pytest.raises(KeyError_):
        cipher.decrypt(altered, context="persons.real_name")


def test_two_seals_of_the_same_value_differ_but_the_blind_index_matches():
    cipher = FieldCipher.from_config(KEY)
    assert cipher.encrypt("x", context="c") != cipher.encrypt("x", context="c")
    assert cipher.blind_index("x", context="c") == cipher.blind_index("x", context="c")
    assert cipher.blind_index("x", context="c") != FieldCipher.from_config(generate_key()).blind_index(
        "x", context="c")


def test_a_value_sealed_with_an_unknown_key_names_the_missing_key():
    sealed = FieldCipher.from_config(generate_key()).encrypt("x", context="c")
    with pytest.raises(KeyError_, match="not configured"):
        FieldCipher.from_config(KEY).decrypt(sealed, context="c")


def test_malformed_keys_are_refused():
    for bad in ("", "abc", "zz" * 16, KEY + "00"):
        with pytest.raises(KeyError_):
            FieldCipher.from_config(bad)


def test_key_rotation_re_encrypts_everything_without_loss(app, world, db):
    officer = factories.make_user(world, roles={"federation_officer"})
    people = [factories.make_person(world, officer, pseudonym=f"化名{i}", resident_id=rid)
              for i, rid in enumerate(factories.VALID_IDS)]
    before = {p.id: services.read_identity(p) for p in people}
    old_key = app.config["CASEFLOW_DATA_KEY"]
    new_key = generate_key()
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--new-key", new_key])
    assert result.exit_code == 0, result.output
    assert "3/3" in result.output
    try:
        app.config["CASEFLOW_DATA_KEY"] = new_key
        app.extensions.pop("caseflow_cipher", None)
        db.session.expire_all()
        new_cipher = FieldCipher.from_config(new_key)
        for person in db.session.scalars(sa.select(Person)):
            assert new_cipher.sealed_with_current(person.real_name_sealed)
            assert services.read_identity(person, new_cipher) == before[person.id]
        # The blind index moved with the key: the same woman is still found.
        assert services.find_by_resident_id(factories.VALID_IDS[1]).pseudonym == "化名1"
    finally:
        app.config["CASEFLOW_DATA_KEY"] = old_key
        app.extensions.pop("caseflow_cipher", None)


def test_rotation_to_a_malformed_key_changes_nothing(app, world, db):
    officer = factories.make_user(world, roles={"federation_officer"})
    person = factories.make_person(world, officer)
    sealed = person.real_name_sealed
    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--new-key", "not-a-key"])
    assert result.exit_code == 1 and "Nothing changed" in result.output
    db.session.expire_all()
    assert db.session.get(Person, person.id).real_name_sealed == sealed
