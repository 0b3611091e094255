"""How much of an answer a call may hold in memory, and how long a call may take in all.

Both come from connection fields the data source names in its YAML (``max_answer_from``, in
MiB, and ``deadline_from``, in seconds); a data source that names none gets the defaults below,
so no connection is ever unbounded.

Internal to the engine (not part of what hosts use; see ``influx_connector.__all__``).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .deadline import Deadline
from .errors import FieldError, ValidationError
from .model import ConnectionSpec

#: The most a decoded answer may hold, by default: far above any InfluxDB listing, and a query
#: answer this large is better read a row at a time with ``stream()``.
DEFAULT_MAX_ANSWER_MB = 256
#: The most one call may take, by default: retries, pages, batches and reading the answer included.
DEFAULT_DEADLINE_S = 300.0


@dataclass(frozen=True)
class Limits:
    answer_bytes: int = DEFAULT_MAX_ANSWER_MB << 20
    deadline_s: float = DEFAULT_DEADLINE_S
    #: How a user raises each, for the errors that name them.
    answer_setting: str = "the answer size limit"
    deadline_setting: str = "the call's deadline"

    @classmethod
    def of(cls, spec: ConnectionSpec, values: Mapping[str, Any]) -> Limits:
        answer_field, deadline_field = spec.max_answer_from, spec.deadline_from
        megabytes = values.get(answer_field) if answer_field else None
        seconds = values.get(deadline_field) if deadline_field else None
        return cls(
            answer_bytes=int((DEFAULT_MAX_ANSWER_MB if megabytes is None else megabytes) * (1 << 20)),
            deadline_s=float(DEFAULT_DEADLINE_S if seconds is None else seconds),
            answer_setting=f"the connection's '{answer_field}' setting (MiB)" if answer_field else cls.answer_setting,
            deadline_setting=(f"the connection's '{deadline_field}' setting (seconds) or pass deadline= to the call"
                              if deadline_field else "pass deadline= to the call"))

    def deadline(self, seconds: Any = None) -> Deadline:
        """A deadline for one call: ``seconds`` when given (a call's own), else the connection's."""
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                    or not 0 < seconds <= 86400 * 7):
            raise ValidationError([FieldError("deadline", f"must be a number of seconds above 0 (at most a week), "
                                                          f"not {seconds!r}")], "call")
        return Deadline(float(seconds) if seconds is not None else self.deadline_s, self.deadline_setting)
