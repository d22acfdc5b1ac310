"""The Slack app: wake environments from a workflow step or the ``/envwake`` command, and
follow each wake in a Slack thread.

Owns: reading Slack requests (signed, allow-listed per environment) into EnvironmentWakes,
and posting each wake's steps once. Must not: touch anything but EnvironmentWakes (its
Kubernetes identity may only create, get, list, watch and patch them).
"""

__all__: list[str] = []
