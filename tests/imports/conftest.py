import pytest

from caseflow.core.orgs.roles import Role
from tests import factories


@pytest.fixture(autouse=True)
def _file_store(app, tmp_path):
    """The imported files are kept encrypted in the file store: here, a temporary one."""
    app.config["CASEFLOW_ATTACHMENT_DIR"] = str(tmp_path / "files")
    yield
    app.config["CASEFLOW_ATTACHMENT_DIR"] = None


@pytest.fixture
def supervisor(world):
    """A supervisor of the district federation: imports referrals (a module may name another)."""
    return factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)


@pytest.fixture
def handler(world):
    """A prosecutor of the 5th department: the handler the ledgers name."""
    return factories.make_user(world, roles={Role.PROSECUTOR}, org=world.department5,
                               username="li.jianchaguan")


@pytest.fixture
def item_cast(world):
    """The people of an assistance ledger: the importing supervisor, the officer the rows
    name, and a partner agency's lawyer."""
    class Cast:
        supervisor = factories.make_user(world, roles={Role.SUPERVISOR}, org=world.federation)
        officer = factories.make_user(world, roles={Role.FEDERATION_OFFICER}, org=world.street_a,
                                      username="li.ganbu")
        lawyer = factories.make_user(world, roles={Role.PARTNER_WORKER}, org=world.justice_bureau)
    return Cast
