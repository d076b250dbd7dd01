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


JOBS: dict[str, ScheduledJob] = {}


def scheduled(name: str, *, every_seconds: int):
    def decorate(func):
        JOBS[name] = ScheduledJob(name=name, func=func, every_seconds=every_seconds)
        return func

    return decorate
