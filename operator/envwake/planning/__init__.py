"""Pure planning: when an environment must be awake, and what must happen when.

Owns: the business calendar, normal windows exactly as KEDA's cron scaler decides, the
default stop of a wake, the union of wakes, override segments, the actions
(start/expand/stop/reset) and their times, the desired state at any instant, the next
deadline, and dependency waves.
Must not: read the clock (every function takes ``now`` or an instant), or do any I/O.
"""

from envwake.planning.calendar import BusinessCalendar
from envwake.planning.intervals import Interval
from envwake.planning.plan import (
    Action,
    ActionKind,
    DesiredState,
    Plan,
    Segment,
    Wake,
    WakeRequest,
    plan_environment,
)
from envwake.planning.rules import Rules
from envwake.planning.waves import Wave, start_waves, stop_waves
from envwake.planning.windows import NormalSchedule

__all__ = [
    "Action",
    "ActionKind",
    "BusinessCalendar",
    "DesiredState",
    "Interval",
    "NormalSchedule",
    "Plan",
    "Rules",
    "Segment",
    "Wake",
    "WakeRequest",
    "Wave",
    "plan_environment",
    "start_waves",
    "stop_waves",
]
