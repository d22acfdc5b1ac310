"""Simulate a month: random wakes, the planned actions applied minute by minute.

Replaying the plan's actions together with the normal schedule, the environment is
awake at every requested minute; it is never held awake outside the normal windows at
a minute no wake requested, except during the configured leads and between a hand-over
and its reset; every override ends with a reset; and the planner's desired state agrees
with the replay.
"""

from datetime import UTC, timedelta

from hypothesis import given
from hypothesis import strategies as st

from envwake.planning import ActionKind, DesiredState, WakeRequest, plan_environment

from .conftest import at, make_rules

ORIGIN = at("2026-11-01 00:00").astimezone(UTC)
MINUTES = 40 * 24 * 60  # the month, and room for the last resets
MINUTE = timedelta(minutes=1)


def index(instant):
    offset = instant - ORIGIN
    assert offset % MINUTE == timedelta(0), instant  # every plan time is on a minute
    return offset // MINUTE


def fill(array, start, end, value=1):
    first, last = max(index(start), 0), min(index(end), MINUTES)
    if last > first:
        array[first:last] = bytes([value]) * (last - first)


# Wakes cluster around a base time, so that overlaps, gaps and chains are common.
wakes = st.integers(min_value=0, max_value=24 * 24 * 60).flatmap(
    lambda base: st.lists(
        st.tuples(
            st.integers(min_value=base, max_value=base + 3 * 24 * 60),  # start minute
            st.one_of(st.none(), st.integers(min_value=1, max_value=2 * 24 * 60)),  # length
        ),
        min_size=1,
        max_size=6,
    )
)
leads = st.tuples(
    st.sampled_from([timedelta(0), timedelta(minutes=15)]),
    st.sampled_from([timedelta(0), timedelta(minutes=30), timedelta(hours=1)]),
)


@given(wakes=wakes, leads=leads)
def test_month_of_random_wakes(wakes, leads):
    start_lead, stop_lead = leads
    rules = make_rules(start_lead=start_lead, stop_lead=stop_lead)
    requests = [
        WakeRequest(
            ORIGIN + offset * MINUTE + timedelta(days=1),
            ORIGIN + (offset + duration) * MINUTE + timedelta(days=1) if duration else None,
        )
        for offset, duration in wakes
    ]
    plan = plan_environment(rules, requests, now=ORIGIN)

    requested, normal, held, allowed = (bytearray(MINUTES) for _ in range(4))
    for wake in plan.wakes:
        fill(requested, wake.start, wake.stop)
    for window in plan.windows:
        fill(normal, window.start, window.end)

    # Replay the actions: start/expand hold the environment, stop and reset release it.
    state, since = 0, ORIGIN
    for action in plan.actions:
        fill(held, since, action.at, state)
        state = 1 if action.kind in (ActionKind.START, ActionKind.EXPAND) else 0
        since = action.at
    fill(held, since, ORIGIN + MINUTES * MINUTE, state)

    # Where holding is allowed although nobody asked and KEDA would not: the leads, and
    # from a hand-over to the chain's next action or reset.
    for chain in plan.chains:
        for position, number in enumerate(chain.segments):
            segment = plan.segments[number]
            fill(allowed, segment.action_at, segment.start)
            if segment.hands_over:
                following = chain.segments[position + 1 :]
                until = plan.segments[following[0]].action_at if following else chain.reset_at
                fill(allowed, segment.end, until)

    for minute in range(MINUTES):
        if requested[minute]:
            assert held[minute] or normal[minute], f"asleep at requested minute {minute}"
        elif held[minute] and not normal[minute]:
            assert allowed[minute], f"held for nobody at minute {minute}"

    # Every override ends with a reset, after which nothing is held.
    kinds = [a.kind for a in plan.actions]
    if kinds:
        assert kinds[-1] is ActionKind.RESET
        assert kinds.count(ActionKind.RESET) == len(plan.chains)
        assert state == 0
    for chain in plan.chains:
        last = plan.segments[chain.segments[-1]]
        assert chain.reset_at >= last.end

    # The planner's desired state agrees with the replay.
    for minute in range(0, MINUTES, 7):
        instant = ORIGIN + minute * MINUTE
        desired = plan.state_at(instant)
        assert (desired is DesiredState.HOLD) == bool(held[minute]), instant
        if desired is DesiredState.ASLEEP:
            assert not held[minute]
