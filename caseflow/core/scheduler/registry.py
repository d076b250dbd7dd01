"""The jobs the clock runs. Domains register theirs here; the clock knows only this list.

Each job is a function ``job(now) -> str`` (a one-line summary) that is safe to run twice
and safe to run from two schedulers at once: the database decides who wins.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    func: Callable
    every_seconds: int
    #: ``only_when(now) -> bool``: a cheap question asked first; when it answers False the
    #: run is skipped and not recorded (a job every few seconds would otherwise write two
    #: rows and commit twice each time, for nothing). Such a job's health is read from a
    #: recorded job doing the same work less often.
    only_when: Callable | None = None


JOBS: dict[str, ScheduledJob] = {}


def scheduled(name: str, *, every_seconds: int, only_when: Callable | None = None):
    def decorate(func):
        JOBS[name] = ScheduledJob(name=name, func=func, every_seconds=every_seconds,
                                  only_when=only_when)
        return func

    return decorate
