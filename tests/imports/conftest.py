import pytest


@pytest.fixture(autouse=True)
def _file_store(app, tmp_path):
    """The imported files are kept encrypted in the file store: here, a temporary one."""
    app.config["CASEFLOW_ATTACHMENT_DIR"] = str(tmp_path / "files")
    yield
    app.config["CASEFLOW_ATTACHMENT_DIR"] = None
