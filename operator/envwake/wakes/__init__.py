"""EnvironmentWakes as people ask for them: the cluster API, times as typed, and the
request understood the same way by the CLI and the Slack app."""

__all__: list[str] = []
