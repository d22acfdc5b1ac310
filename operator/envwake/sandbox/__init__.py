"""The local stack: stand-ins for the services envwake talks to, for tests and the demo.

Owns: generating realistic Flux repository content (manifests in the many styles real
repositories use) and, as it grows, the emulators of GitHub, AWS and the cluster.
Must not: be imported by the operator's production code paths.
"""

__all__: list[str] = []
