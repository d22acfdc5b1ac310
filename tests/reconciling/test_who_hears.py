"""Which wakes hear the steps of a reconcile (runtime: events, status steps, Slack posts).

Expected values from the DESIGN's time semantics, worked by hand for dev (normal
06:30-24:00 Mon-Fri, Asia/Tokyo; resets 10:00 on business days, 22:00 on others)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from envwake.configdir import load_config_dir
from envwake.planning import DesiredState, Rules, WakeRequest, plan_environment
from envwake.reconciler.converge import current_action
from envwake.reconciler.report import EnvironmentReport, Step
from envwake.reconciler.status import phase_of
from envwake.reconciler.wakestatus import heard_step, hears, told_before

TOKYO = ZoneInfo("Asia/Tokyo")
RULES = Rules.from_config(load_config_dir(Path(__file__).parents[2] / "config")[0]["dev"].config)


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)


def report_at(requests: list[WakeRequest], now: datetime) -> EnvironmentReport:
    plan = plan_environment(RULES, requests, now=t(24, 0))
    return EnvironmentReport("dev", now, plan, plan.state_at(now), current_action(plan, now))


def listeners(requests: list[WakeRequest], now: datetime, *, held: bool = False) -> set[str]:
    report = report_at(requests, now)
    if held:
        report.record.held_since = now
    return {w.name for w in report.plan.wakes if hears(phase_of(w, report), w, report)}


# Fri 25 22:00 -> Sat 01:00 (stop Sat 01:00), then Sat 26 10:00 with the default stop
# (22:00): the weekend segment starts before the Sat 22:00 reset slot, so both share it.
EVENING = WakeRequest(t(25, 22), t(26, 1), "evening")
WEEKEND = WakeRequest(t(26, 10), None, "weekend")


def test_an_ended_wake_hears_its_own_stop():
    assert listeners([EVENING, WEEKEND], t(26, 1)) == {"evening"}


def test_an_ended_wake_does_not_hear_the_next_wakes_start():
    assert listeners([EVENING, WEEKEND], t(26, 10)) == {"weekend"}


def test_an_ended_wake_hears_the_shared_reset_not_the_next_wakes_stop_done_with_it():
    # the weekend's default stop is the 22:00 reset slot: its stop and the reset are one
    # reconcile, and the evening wake hears the reset only
    report = report_at([EVENING, WEEKEND], t(26, 22))
    stop = Step("ClusterStopped", "Aurora cluster shop-db is stopped", stop_at=t(26, 22))
    reset = Step("Reset", "dev is back on its normal schedule")
    report.steps += [stop, reset]
    evening, weekend = report.plan.wakes
    assert hears(phase_of(evening, report), evening, report)
    assert [s.reason for s in report.steps if heard_step(evening, report, s)] == ["Reset"]
    assert [s.reason for s in report.steps if heard_step(weekend, report, s)] == [
        "ClusterStopped",
        "Reset",
    ]


def test_an_ended_wake_does_not_hear_the_next_wakes_stop_before_the_reset():
    weekend = WakeRequest(t(26, 10), t(26, 16), "weekend")  # stop 16:00, reset 22:00
    assert listeners([EVENING, weekend], t(26, 16)) == {"weekend"}


def test_both_hear_the_reset_they_share():
    later = WakeRequest(t(26, 10), t(26, 20), "weekend")  # its stop at 20:00, reset at 22:00
    assert listeners([EVENING, later], t(26, 22)) == {"evening", "weekend"}


def test_an_ended_wake_does_not_hear_a_hold_in_a_normal_window_for_another():
    # Thu 24 21:00 -> Fri 01:30 waits for the Fri 10:00 reset; Fri 07:00-11:00 is inside
    # the normal window, held by envwake because the normal schedule failed.
    night = WakeRequest(t(24, 21), t(25, 1, 30), "night")
    working = WakeRequest(t(25, 7), t(25, 11), "working")
    assert listeners([night, working], t(25, 7, 15), held=True) == {"working"}


def test_an_ended_wake_is_not_told_a_hold_found_out_while_the_reconcile_runs():
    """Found by the soak: the hold in the normal window is decided in the middle of the
    reconcile, after the wakes it concerns were chosen; its steps still say they are a
    hold's, and the night wake (ended, waiting for its reset) is not told them."""
    night = WakeRequest(t(24, 21), t(25, 1, 30), "night")
    working = WakeRequest(t(25, 7), t(25, 11), "working")
    report = report_at([night, working], t(25, 7, 2))
    assert report.desired is DesiredState.ASLEEP  # until the 10:00 reset
    started = Step("ClusterStarting", "starting Aurora cluster shop-db", of_hold=True)
    report.steps.append(started)
    ended, asking = report.plan.wakes
    assert not heard_step(ended, report, started)
    assert heard_step(asking, report, started)


def steps(*pairs: tuple[str, str]) -> dict:
    return {"steps": [{"n": i, "reason": r, "message": m} for i, (r, m) in enumerate(pairs, 1)]}


STARTED = (("Starting", "waking dev"), ("ClusterStarting", "starting Aurora cluster shop-db"))


def test_a_step_of_the_action_under_way_is_told_once():
    """An operator restarted in the middle of a wake-up asks again for the cluster start
    it cannot know it asked for, and sees the checks of the pull request it takes up pass
    again: the wake heard those steps already."""
    assert told_before(steps(*STARTED), Step("ClusterStarting", "starting Aurora cluster shop-db"))
    checked = steps(
        ("Stopping", "stopping dev"),
        ("PullRequestOpened", "opened pull request #7 (u)"),
        ("ChecksPassed", "checks passed on pull request #7 (build)"),
    )
    assert told_before(checked, Step("ChecksPassed", "checks passed on pull request #7 (build)"))
    assert not told_before(checked, Step("Merged", "merged pull request #7 as 0123456789ab"))
    assert not told_before(steps(), Step("Starting", "waking dev"))


def test_the_same_step_in_a_later_action_is_news():
    """Someone stopped the cluster after the wake-up: starting it again is a new start,
    and the environment awake again is news too; so is a start after a stop began."""
    awake = ("Awake", "dev is awake: 8/8 services ready")
    woken = (*STARTED, ("ClusterAvailable", "Aurora cluster shop-db is available"), awake)
    assert told_before(steps(*woken), Step(*awake))  # (said just now: a restart says it again)
    assert not told_before(steps(*woken), Step(*STARTED[1]))
    assert not told_before(steps(*woken, STARTED[1]), Step(*awake))
    stopping = (*STARTED, ("Stopping", "stopping dev"))
    assert not told_before(steps(*stopping), Step(*STARTED[1]))


def test_a_wake_whose_stop_is_done_does_not_hear_it_again_when_another_wake_ends():
    """Found by the soak: a night wake ended at 02:00 (asleep until the 22:00 reset); a
    10:00 wake was deleted at 13:00 while active, and the stop that followed is, by the
    plan of the wakes left, the night's 02:00 stop again. The night wake heard its own
    stop a second time; it has been told it is asleep."""
    night = WakeRequest(t(25, 22), t(26, 2), "night")
    report = report_at([night], t(26, 13))
    assert report.desired is DesiredState.ASLEEP
    assert report.action is not None
    assert report.action.at == t(26, 2)
    stopping = Step("ClusterStopping", "stopping Aurora cluster shop-db", stop_at=t(26, 2))
    (planned,) = report.plan.wakes
    asleep = {
        "steps": [
            {
                "reason": "Asleep",
                "message": "dev is asleep until the reset",
                "at": "2026-12-25T17:04:00Z",
            }
        ]
    }  # fmt: skip  (02:04 in Tokyo)
    assert not heard_step(planned, report, stopping, asleep)
    # killed before it was told: the stop is still its own
    before = {
        "steps": [{"reason": "Stopping", "message": "stopping dev", "at": "2026-12-25T17:00:00Z"}]
    }
    assert heard_step(planned, report, stopping, before)
    assert heard_step(planned, report, Step("Reset", "dev is back on its normal schedule"), asleep)
