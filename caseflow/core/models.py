"""Every core model, imported in one place so the metadata is complete."""
from caseflow.core.calendar.models import CalendarDay, CalendarYear  # noqa: F401
from caseflow.core.audit.models import AccessEvent, AuditEvent  # noqa: F401
from caseflow.core.documents.models import LetterCounter  # noqa: F401
from caseflow.core.notifications.models import (  # noqa: F401
    AlertPreference, DigestLedger, Notification, OutboxEmail, OutboxMessage, ReminderLedger,
    UndeliverableAlert,
)
from caseflow.core.orgs.models import Organisation, User, UserRole  # noqa: F401
from caseflow.core.people.models import Person  # noqa: F401
from caseflow.core.scheduler.models import JobItemFailure, JobRun  # noqa: F401
from caseflow.core.settings.models import Setting  # noqa: F401
