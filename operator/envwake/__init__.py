"""envwake: wake GitOps-managed development environments, and put them back to sleep."""

__all__: list[str] = []
