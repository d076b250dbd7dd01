"""The domain packages, wired into the app. The core never imports a domain; this
module is the one place that knows them all."""
from __future__ import annotations

from flask import Flask

# Imported for their side effects: models complete the metadata (migrations see them),
# services register settings and calendar listeners.
from caseflow.referrals import models as _referral_models  # noqa: F401
from caseflow.referrals import services as _referral_services  # noqa: F401
from caseflow.referrals import jobs as _referral_jobs  # noqa: F401
from caseflow.referrals import demo as _referral_demo  # noqa: F401
from caseflow.investigations import models as _investigation_models  # noqa: F401
from caseflow.investigations import services as _investigation_services  # noqa: F401
from caseflow.investigations import jobs as _investigation_jobs  # noqa: F401
from caseflow.investigations import demo as _investigation_demo  # noqa: F401
from caseflow.assistance import models as _assistance_models  # noqa: F401
from caseflow.assistance import services as _assistance_services  # noqa: F401
from caseflow.assistance import jobs as _assistance_jobs  # noqa: F401
from caseflow.assistance import demo as _assistance_demo  # noqa: F401
from caseflow.assistance import home as _assistance_home  # noqa: F401
from caseflow.training import models as _training_models  # noqa: F401
from caseflow.training import demo as _training_demo  # noqa: F401
from caseflow.reports import demo as _report_demo  # noqa: F401  (last: the story's year)
from caseflow.reports import dashboards as _report_dashboards  # noqa: F401  (home page panels)
from caseflow.imports import models as _import_models  # noqa: F401
from caseflow.api import models as _api_models  # noqa: F401


def init_domains(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from caseflow.core import hooks
    from caseflow.core.navigation import NavItem, add_nav_item
    from caseflow.investigations import policy as case_policy
    from caseflow.investigations.routes import bp as investigations_bp
    from caseflow.referrals import policy as referral_policy
    from caseflow.referrals.routes import bp as referrals_bp

    app.register_blueprint(referrals_bp)
    app.register_blueprint(investigations_bp)
    from caseflow.investigations.offline import bp as offline_bp

    app.register_blueprint(offline_bp)
    from caseflow.investigations import services as case_services
    from caseflow.investigations.routes import referral_links

    hooks.RELATED_LINKS.add(referral_links)
    hooks.REPLY_CASE_CANDIDATES.provide(case_services.cases_for_reply)
    hooks.REPLY_CASE_LINK.provide(case_services.link_case_to_referral)
    hooks.PERSON_SHARED_WITH.add(referral_policy.shares_person)
    hooks.PERSON_SHARED_WITH.add(case_policy.shares_case_person)
    hooks.MINOR_SHARED_WITH.add(case_policy.on_team_of_minor)
    add_nav_item(NavItem("referrals.index", _l("Referrals"), referral_policy.can_list_referrals,
                         tuple(f"referrals.{name}" for name in (
                             "new", "show", "edit", "letter", "reply_letter"))))
    from caseflow.core.home import add_home_action

    add_home_action(NavItem("referrals.new", _l("New referral"), referral_policy.can_file_referral))
    add_nav_item(NavItem("referrals.attention", _l("Overdue and due soon"),
                         referral_policy.can_see_all_referrals))
    add_nav_item(NavItem("investigations.index", _l("Aid cases"), case_policy.can_list_cases,
                         tuple(f"investigations.{name}" for name in (
                             "new", "show", "household", "correct_visit", "report", "decision_letter"))))
    add_nav_item(NavItem("investigations.approvals", _l("Awaiting approval"),
                         case_policy.can_review_queue))
    from caseflow.assistance import policy as assistance_policy
    from caseflow.assistance.routes import bp as assistance_bp, case_section

    app.register_blueprint(assistance_bp)
    hooks.CASE_SECTIONS.add(case_section)
    add_nav_item(NavItem("assistance.index", _l("Assistance"), assistance_policy.can_list_assistance,
                         tuple(f"assistance.{name}" for name in ("new", "show", "item"))))
    from caseflow.training import policy as training_policy
    from caseflow.training.routes import bp as training_bp

    app.register_blueprint(training_bp)
    add_nav_item(NavItem("training.index", _l("Joint training"), training_policy.can_list_sessions,
                         tuple(f"training.{name}" for name in ("new", "show", "edit", "report"))))
    from caseflow.reports.export_routes import bp as exports_bp

    app.register_blueprint(exports_bp)
    from caseflow.reports import policy as report_policy
    from caseflow.reports.routes import bp as reports_bp

    app.register_blueprint(reports_bp)
    add_nav_item(NavItem("reports.index", _l("Report"), report_policy.can_see_report, ("reports.print_view",)))
    from caseflow.imports.wiring import init_imports

    init_imports(app)
    from caseflow.api.wiring import init_api

    init_api(app)
