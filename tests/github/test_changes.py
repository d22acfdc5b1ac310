"""Edits of a change set: what the reconciler writes into a manifest, and what it leaves."""

from __future__ import annotations

from envwake.gitops import Edit

ABSENT = """apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: fraud
spec:
  scaleTargetRef:
    name: fraud
  triggers:
    - type: cron
      metadata: {timezone: Asia/Tokyo, start: 30 6 * * 1-5, end: 0 0 * * 2-6, desiredReplicas: "2"}
"""


def test_restoring_an_absent_min_replica_count_removes_the_line_it_added():
    raised = Edit("apps/fraud.yaml", "min-replicas", 2).apply(ABSENT)
    restored = Edit("apps/fraud.yaml", "min-replicas", None).apply(raised.text)
    assert restored.changed is True
    assert (restored.before, restored.after) == ("2", None)
    assert restored.text == ABSENT


def test_restoring_absent_where_it_is_absent_changes_nothing():
    edit = Edit("apps/fraud.yaml", "min-replicas", None).apply(ABSENT)
    assert edit.changed is False
    assert edit.text == ABSENT


def test_raising_an_absent_min_replica_count_adds_it():
    edit = Edit("apps/fraud.yaml", "min-replicas", 2).apply(ABSENT)
    assert edit.changed is True
    assert edit.text.count("minReplicaCount: 2\n") == 1
    assert edit.text.replace("  minReplicaCount: 2\n", "") == ABSENT


def test_another_fields_absence_is_not_read_as_zero():
    # an HPA's minReplicas defaults to 1, not 0: there, 0 must be written
    edit = Edit("apps/fraud.yaml", "min-replicas", 0, field="spec.minReplicas").apply(ABSENT)
    assert edit.changed is True
    assert "  minReplicas: 0\n" in edit.text
