"""The Flux repository of an environment, generated from its config: every service's
ScaledObject and Deployment at the configured paths, in a mix of hand-written styles."""

from __future__ import annotations

from envwake.model.loading import Environment
from envwake.sandbox.manifest_styles import ManifestStyle, deployment, scaled_object

__all__ = ["STYLES", "flux_files"]

STYLES = (
    ManifestStyle(),
    ManifestStyle(compact_sequences=True, comments=True),
    ManifestStyle(indent=4, comments=True, japanese_comments=True),
    ManifestStyle(crlf=True, quote="single"),
    ManifestStyle(blank_lines=True, final_newline=False),
    ManifestStyle(leading_separator=True, min_replicas="absent"),
)


def flux_files(environment: Environment, *, desired_replicas: int = 2) -> dict[str, str]:
    """Path → text for every manifest the environment's config names; the cron triggers
    are the config's normal schedule, as KEDA would run it."""
    files: dict[str, str] = {"README.md": f"# {environment.name}: managed by Flux\n"}
    config = environment.config
    for index, service in enumerate(environment.services):
        style = STYLES[index % len(STYLES)]
        so = scaled_object(
            service.service_name,
            service.namespace,
            style=style,
            desired_replicas=desired_replicas,
            start=config.schedule.start,
            end=config.schedule.end,
            timezone=config.timezone,
        )
        files[service.manifest.scaled_object.path] = so
        if service.manifest.deployment is not None:
            path = service.manifest.deployment.path
            files[path] = deployment(service.service_name, service.namespace, style=style)
    return files
