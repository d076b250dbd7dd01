"""The REST API (``/api/v1``, issue 17) and the personal access tokens it is called with.
Wired into the app by ``wiring.init_api`` from ``caseflow/domains.py``."""
