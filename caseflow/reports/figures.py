"""The report put together: the period, every figure of ``definitions`` for one
organisation's subtree, the link behind each figure, and the charts' geometry (drawn as
inline SVG by the templates: no script, no style attribute, nothing from the internet)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import url_for
from flask_babel import gettext as _, lazy_gettext as _l

from caseflow.assistance.models import ITEM_KIND_LABELS, ITEM_STATE_LABELS, ItemKind
from caseflow.core.enums import LabelledEnum
from caseflow.core.money import format_amount
from caseflow.reports import definitions as d
from caseflow.referrals.measures import Counted
from caseflow.referrals.models import DIRECTION_LABELS, SOURCE_LABELS, Direction

class PeriodKind(LabelledEnum):
    """What the report's period is: a calendar year, quarter or month, or two dates."""
    YEAR = "year", _l("Year")
    QUARTER = "quarter", _l("Quarter")
    MONTH = "month", _l("Month")
    CUSTOM = "custom", _l("From … to …")


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date

    @property
    def is_calendar_year(self) -> bool:
        return (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31) \
            and self.start.year == self.end.year

    @property
    def label(self) -> str:
        if self.is_calendar_year:
            return _("%(year)d", year=self.start.year)
        if self.kind == PeriodKind.QUARTER:
            return _("Q%(quarter)d %(year)d", quarter=(self.start.month - 1) // 3 + 1, year=self.start.year)
        if self.kind == PeriodKind.MONTH:
            return _("%(year)d-%(month)02d", year=self.start.year, month=self.start.month)
        return _("%(start)s to %(end)s", start=self.start.isoformat(), end=self.end.isoformat())

    def months(self) -> list[str]:
        months, day = [], self.start.replace(day=1)
        while day <= self.end:
            months.append(f"{day.year:04d}-{day.month:02d}")
            day = (day + timedelta(days=32)).replace(day=1)
        return months


def period_of(kind: str, year: int, quarter: int | None = None, month: int | None = None,
              start: date | None = None, end: date | None = None) -> Period:
    """The period of ``kind`` (a ``PeriodKind`` value) the rest describes; the calendar
    year when they do not describe one."""
    if kind == PeriodKind.QUARTER and quarter:
        first = date(year, 3 * (quarter - 1) + 1, 1)
        return Period(PeriodKind.QUARTER, first,
                      (first + timedelta(days=95)).replace(day=1) - timedelta(days=1))
    if kind == PeriodKind.MONTH and month:
        first = date(year, month, 1)
        return Period(PeriodKind.MONTH, first,
                      (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))
    if kind == PeriodKind.CUSTOM and start and end and start <= end:
        return Period(PeriodKind.CUSTOM, start, end)
    return Period(PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31))


@dataclass
class Figure:
    """One number of the report, with the list behind it. ``exact``: the list applies
    the same filters, so it shows as many rows; otherwise it is the closest list."""
    key: str
    label: str
    value: object
    href: str | None = None
    exact: bool = False
    definition: str = ""
    #: The rows the linked list holds when ``exact``: the figure itself when it counts
    #: referrals, the whole of a share, the referrals a median is taken over.
    rows: int | None = None


@dataclass
class Section:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list = field(default_factory=list)


@dataclass
class Report:
    period: Period
    organisation: object
    sections: list[Section]
    charts: dict
    #: The joint report of the district: ``organisations`` are its two sides.
    joint: bool = False
    organisations: list = field(default_factory=list)
    #: The statistics form header (``reports.header``), set by the route that produces it.
    header: object = None


MECHANISMS = {
    "referral": _l("Lead referral"),
    "feedback": _l("Fast transfer, fast feedback"),
    "collaboration": _l("Case collaboration"),
    "training": _l("Joint training"),
}


class _Links:
    """The list pages behind the figures, with the filters each list supports."""

    def __init__(self, user, organisation, period: Period, is_leaf: bool, today: date):
        self.user, self.today = user, today
        self.year = period.end.year
        self.year_exact = period.is_calendar_year
        self.received = {"received_from": period.start.isoformat(), "received_to": period.end.isoformat()}
        self.start, self.end = period.start, period.end
        self.own = own = organisation.id == user.organisation_id
        self.org_exact = own or is_leaf
        self.org = {} if own else {"org": organisation.id}

    def referrals(self, box: str, *, exact: bool = True, in_period: bool = True, **filters):
        """The referral list of a box, of the referrals received in the period (the
        report's period is by received day) unless not ``in_period``; ``counted``: only
        those a measure is taken over (``referrals.measures.Counted``)."""
        params = {"box": box, **filters, **self.org, **(self.received if in_period else {})}
        return url_for("referrals.index", **params), exact and self.org_exact

    def cases(self, dated: str = "", *, exact: bool = False, **filters):
        """The case list; with ``dated``, of the cases whose date of that kind falls in the
        period (the list has no organisation filter: exact for one's own organisation)."""
        if not dated:
            return url_for("investigations.index", year=self.year, **filters), False
        return url_for("investigations.index", dated=dated, date_from=self.start.isoformat(),
                       date_to=self.end.isoformat(), **filters), exact and self.own

    def assistance(self):
        return url_for("assistance.index", state=""), False

    def items(self, kind: str, state: str):
        """The service items of a kind and state whose time runs into the period (the list
        has no organisation filter: exact for one's own organisation)."""
        return url_for("assistance.items", kind=kind, state=state, start=self.start.isoformat(),
                       end=self.end.isoformat()), self.own

    def training(self, endpoint: str, *, exact: bool = False, **filters):
        return url_for(endpoint, year=self.year, **filters), exact and self.year_exact and not self.org and (
            endpoint != "training.report" or self._training_report_offers_year())

    def _training_report_offers_year(self) -> bool:
        """The training report shows a year with sessions the user may see (or the current
        one); asked for another, it shows the current year instead."""
        from caseflow.training.queries import report_years

        return self.year in report_years(self.user, self.today.year)

    def sessions(self):
        """The training sessions held in the period that the user's organisation organised
        or attended: the report's count for one's own organisation."""
        return url_for("training.index", state="held", start=self.start.isoformat(), end=self.end.isoformat(),
                       part="y"), self.own


class _NoLinks:
    """The joint report's figures link to no list: each side's lists show only its own
    records, so no list holds what a joint figure counts."""

    def referrals(self, *args, **kwargs):
        return None, False

    cases = assistance = training = sessions = items = referrals


def _fig(key, label, value, link=(None, False), *, rows: int | None = None) -> Figure:
    """A figure; ``rows``: how many rows its exact link lists, when not ``value`` itself."""
    title, _text = d.DEFINITIONS.get(key, (None, ""))
    if rows is None and isinstance(value, int):
        rows = value
    return Figure(key, str(label), value, link[0], link[1], str(_text), rows)


def _percent(share: d.Share) -> str:
    return "—" if share.percent is None else f"{share.percent}%（{share.part}/{share.whole}）"


def _days(value: Decimal | None) -> str:
    """A median or percentile (of days, of hours); a dash when there is nothing to measure."""
    return "—" if value is None else f"{value.normalize():f}"


def build(user, organisation, org_ids, period: Period, today: date, *, is_leaf: bool,
          sides: list | None = None) -> Report:
    """The report of ``organisation``'s subtree (``org_ids``); or, with ``sides`` (the
    district's two sides, each ``(organisations, ids)``), the joint report of both, where
    ``org_ids`` is every organisation of both and ``organisation`` names them."""
    start, end = period.start, period.end
    joint = sides is not None
    links = _NoLinks() if joint else _Links(user, organisation, period, is_leaf, today)
    referrals = d.referral_figures(org_ids, start, end, today)
    directions = referrals.by_direction

    referral = Section("referral", str(MECHANISMS["referral"]))
    if joint:
        between = d.referrals_between(sides[0][1], sides[1][1], start, end)
        between_label = d.DEFINITIONS["between_sides"][0]
        for direction in Direction:
            referral.figures.append(_fig("between_sides", f"{between_label} · {DIRECTION_LABELS[direction]}",
                                         between[direction.value]))
        referral.figures.append(_fig("between_sides", f"{between_label} · {_('Total')}", sum(between.values())))
    else:
        for side, box, label in ((d.SENT, "outbox", _("Sent")), (d.RECEIVED, "inbox", _("Received"))):
            for direction in Direction:
                referral.figures.append(_fig(
                    "referrals", f"{label} · {DIRECTION_LABELS[direction]}", directions[side][direction.value],
                    links.referrals(box, direction=direction.value)))
    sources = referrals.by_source
    referral.tables.append(("by_source", _("By source"), [
        (str(label), sources.get(source.value, 0), links.referrals("all", source=source.value))
        for source, label in SOURCE_LABELS.items()]))
    if not joint:
        referral.tables.append(("by_organisation", _("By organisation"), [
            (row.name, f"{row.sent} / {row.received}", links.referrals("all", exact=False) if row.organisation_id
             == organisation.id else (url_for("referrals.index", box="all", org=row.organisation_id,
                                              **links.received), False))
            for row in referrals.by_organisation]))

    feedback = Section("feedback", str(MECHANISMS["feedback"]))
    # Outside the f-strings below: pybabel does not extract calls inside f-strings.
    median_label, p90_label = _("Median days to reply"), _("90th percentile of days to reply")
    hours_median_label = _("Median hours from sending to registration")
    hours_p90_label = _("90th percentile of hours from sending to registration")
    feedback_sides = ((d.RECEIVED, "inbox", _("Referrals received in the district")),) if joint else (
        (d.RECEIVED, "inbox", _("Referrals we received")), (d.SENT, "outbox", _("Referrals we sent")))
    for side, box, label in feedback_sides:
        spreads = d.feedback_spreads(org_ids, start, end, side)
        spread, hours = spreads.days_to_reply, spreads.hours_to_registration
        registered, replied = referrals.registered_on_time[side], referrals.replied_on_time[side]
        # A share links to the referrals it is taken over (its whole), a median or a
        # percentile to those it is read from: the list holds that many rows.
        feedback.figures += [
            _fig("registered_on_time", f"{label} · {d.DEFINITIONS['registered_on_time'][0]}",
                 _percent(registered), links.referrals(box, counted=Counted.REGISTRATION.value), rows=registered.whole),
            _fig("hours_to_registration", f"{label} · {hours_median_label}", _days(hours.median),
                 links.referrals(box, counted=Counted.REGISTERED.value), rows=hours.count),
            _fig("hours_to_registration", f"{label} · {hours_p90_label}", _days(hours.p90),
                 links.referrals(box, counted=Counted.REGISTERED.value), rows=hours.count),
            _fig("replied_on_time", f"{label} · {d.DEFINITIONS['replied_on_time'][0]}",
                 _percent(replied), links.referrals(box, counted=Counted.REPLY.value), rows=replied.whole),
            _fig("days_to_reply", f"{label} · {median_label}", _days(spread.median),
                 links.referrals(box, counted=Counted.REPLIED.value), rows=spread.count),
            _fig("days_to_reply", f"{label} · {p90_label}", _days(spread.p90),
                 links.referrals(box, counted=Counted.REPLIED.value), rows=spread.count),
            _fig("overdue_now", f"{label} · {d.DEFINITIONS['overdue_now'][0]}", d.overdue_now(org_ids, today, side),
                 links.referrals(box, in_period=False, overdue="y")),
            _fig("extensions", f"{label} · {d.DEFINITIONS['extensions'][0]}", referrals.extensions[side],
                 links.referrals(box, counted=Counted.EXTENDED.value)),
        ]

    collaboration = Section("collaboration", str(MECHANISMS["collaboration"]))
    cases = d.case_figures(org_ids, start, end)
    sessions, follow_ups = d.session_counts(org_ids, start, end)
    collaboration.figures += [
        _fig("cases_opened", d.DEFINITIONS["cases_opened"][0], cases.opened, links.cases("received", exact=True)),
        _fig("cases_decided", d.DEFINITIONS["cases_decided"][0], cases.decided, links.cases("decided", exact=True)),
        # a woman with two decisions is one woman but two rows; the amounts are sums
        _fig("women_helped", d.DEFINITIONS["women_helped"][0], cases.women_helped, links.cases("decided")),
        # an amount links to the cases it adds up: those decided, those paid in the period
        _fig("aid_granted", d.DEFINITIONS["aid_granted"][0], format_amount(cases.aid_granted),
             links.cases("decided", exact=True), rows=cases.decided),
        _fig("aid_paid", d.DEFINITIONS["aid_paid"][0], format_amount(cases.aid_paid), links.cases("paid", exact=True),
             rows=cases.paid),
        _fig("investigations", d.DEFINITIONS["investigations"][0], d.investigations_started(org_ids, start, end),
             links.cases("investigated", exact=True)),
        _fig("visits", d.DEFINITIONS["visits"][0], d.visits_made(org_ids, start, end), links.cases()),
        _fig("sessions", d.DEFINITIONS["sessions"][0], sessions, links.assistance()),
        _fig("follow_ups", d.DEFINITIONS["follow_ups"][0], follow_ups, links.assistance()),
    ]
    items = d.items_by_kind_and_state(org_ids, start, end)
    by_kind = {kind.value: 0 for kind in ItemKind}
    for (kind, _state), n in items.items():
        by_kind[kind] = by_kind.get(kind, 0) + n
    collaboration.tables.append(("items", str(d.DEFINITIONS["items"][0]), [
        (f"{ITEM_KIND_LABELS[ItemKind(kind)]} · {ITEM_STATE_LABELS[_state_enum(state)]}", n,
         links.items(kind, state))
        for (kind, state), n in sorted(items.items())]))

    training = Section("training", str(MECHANISMS["training"]))
    training.figures += [
        _fig("training_sessions", d.DEFINITIONS["training_sessions"][0], d.training_sessions_held(org_ids, start, end),
             links.sessions()),
        _fig("people_trained", d.DEFINITIONS["people_trained"][0], d.people_trained(org_ids, start, end),
             links.training("training.report")),
        _fig("not_trained", d.DEFINITIONS["not_trained"][0], d.organisations_not_trained(org_ids, end.year),
             links.training("training.report", exact=True)),
    ]

    months = period.months()
    per_month, on_time = referrals.per_month, referrals.replied_on_time_per_month
    charts = {
        "per_month": bar_chart(
            [(m[2:], [per_month.get((m, direction.value), 0) for direction in Direction]) for m in months],
            [str(DIRECTION_LABELS[direction]) for direction in Direction]),
        "on_time": bar_chart(
            [(m[2:], [on_time[side].get(m, d.Share(0, 0)).percent for side in (d.RECEIVED, d.SENT)])
             for m in months],
            [_("Our replies"), _("Their replies")], maximum=100, unit="%"),
        "items": bar_chart([(str(ITEM_KIND_LABELS[ItemKind(kind)]), [n]) for kind, n in by_kind.items()],
                           [_("Items")], horizontal=True),
    }
    return Report(period, organisation, [referral, feedback, collaboration, training], charts,
                  joint=joint, organisations=[o for side in sides or () for o in side[0]])


def _state_enum(state: str):
    from caseflow.assistance.models import ItemState

    return ItemState(state)


# -- charts ----------------------------------------------------------------------------------

#: Series colours (SVG fill attributes, allowed by the Content-Security-Policy).
COLOURS = ("#8b1e3f", "#2f6f9f", "#6c757d")


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: object
    series: int
    colour: str
    label: str


def bar_chart(groups: list[tuple[str, list]], series: list[str], *, maximum=None, unit: str = "",
              horizontal: bool = False) -> dict:
    """Geometry of a grouped bar chart in a 600-wide viewBox. ``groups``: (label, values
    per series); a value of None (nothing to measure) draws no bar."""
    values = [v for _label, vs in groups for v in vs if v is not None]
    top = maximum or max([float(v) for v in values] + [1])
    bars, ticks = [], []
    if horizontal:
        row, left, width = 24, 150, 400
        height = row * len(groups) + 20
        for i, (label, vs) in enumerate(groups):
            value = vs[0] or 0
            length = width * float(value) / top
            bars.append(Bar(left, 10 + i * row, round(length, 1), row - 8, value, 0, COLOURS[0], label))
            ticks.append((left - 6, 10 + i * row + (row - 8) / 2 + 4, label))
        return {"width": 600, "height": height, "bars": bars, "ticks": ticks, "series": series,
                "horizontal": True, "unit": unit, "left": left, "colours": COLOURS}
    height, bottom, left, plot = 220, 190, 30, 560
    slot = plot / max(len(groups), 1)
    bar_width = min(28, (slot - 8) / max(len(series), 1))
    for i, (label, vs) in enumerate(groups):
        x0 = left + i * slot + (slot - bar_width * len(series)) / 2
        for s, value in enumerate(vs):
            if value is None:
                continue
            h = 160 * float(value) / top
            bars.append(Bar(round(x0 + s * bar_width, 1), round(bottom - h, 1), round(bar_width - 1, 1),
                            round(h, 1), value, s, COLOURS[s % len(COLOURS)], label))
        ticks.append((round(left + i * slot + slot / 2, 1), bottom + 16, label))
    return {"width": 600, "height": height, "bars": bars, "ticks": ticks, "series": series,
            "horizontal": False, "unit": unit, "left": left, "bottom": bottom, "top": top,
            "colours": COLOURS}
