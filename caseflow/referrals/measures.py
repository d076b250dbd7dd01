"""Which referrals a measure of the deadline counts, written once.

The report's shares and spreads (``reports.definitions``) and the referral list's
"counted in" filter (``referrals.queries``) read these same expressions, so that a
report figure's link lists exactly the referrals the figure measured: the share
"replied within the deadline" 4/5 links to the 5 referrals it was taken over.
"""
from __future__ import annotations

import enum
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from caseflow.core.db import local_day
from caseflow.referrals.models import OPEN_STATES, Referral, ReferralState

OPEN_VALUES = tuple(s.value for s in OPEN_STATES)


def registration_counted(today: date):
    """Registered, or still waiting after its registration due date."""
    return sa.or_(Referral.registered_at.is_not(None),
                  sa.and_(Referral.state == ReferralState.SENT.value, Referral.registration_due_on < today))


def registered_on_time():
    """Registered on or before the registration due date, by the district's day."""
    return sa.and_(Referral.registered_at.is_not(None),
                   local_day(Referral.registered_at) <= Referral.registration_due_on)


def reply_counted(today: date):
    """Replied, or still open after its reply due date (it can no longer be on time)."""
    return sa.or_(Referral.reply_on.is_not(None),
                  sa.and_(Referral.state.in_(OPEN_VALUES), Referral.reply_due_on < today))


#: Replied on time: the reply date is on or before the reply due date, which is the
#: extended due date when the deadline was extended, else the statutory one.
REPLIED_ON_TIME = Referral.reply_on <= Referral.reply_due_on


class Counted(str, enum.Enum):
    """The referrals one of the report's measures is taken over (the list's filter)."""
    REGISTRATION = "registration"  # the share registered on time
    REGISTERED = "registered"      # the hours from sending to registration
    REPLY = "reply"                # the share replied within the deadline
    REPLIED = "replied"            # the days to reply
    EXTENDED = "extended"          # the extensions granted

    def condition(self, today: date):
        return {
            Counted.REGISTRATION: lambda: registration_counted(today),
            Counted.REGISTERED: lambda: Referral.registered_at.is_not(None),
            Counted.REPLY: lambda: reply_counted(today),
            Counted.REPLIED: lambda: Referral.reply_on.is_not(None),
            Counted.EXTENDED: lambda: Referral.extended_due_on.is_not(None),
        }[self]()


#: What the list says it shows when the filter is on.
COUNTED_LABELS = {
    Counted.REGISTRATION: _l("the referrals the share registered on time is taken over: registered, "
                             "or still awaiting registration after its due date"),
    Counted.REGISTERED: _l("the referrals registered (the hours from sending to registration)"),
    Counted.REPLY: _l("the referrals the share replied within the deadline is taken over: replied, "
                      "or still open after the reply due date"),
    Counted.REPLIED: _l("the referrals replied to (the days to reply)"),
    Counted.EXTENDED: _l("the referrals whose reply deadline was extended"),
}
