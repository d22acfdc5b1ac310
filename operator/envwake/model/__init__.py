"""What envwake is told: environment configs and EnvironmentWake specs, validated.

Owns: the schemas (pydantic), their defaults, and validation that names the file and
the path in the document of every problem.
Must not: read files, call services, or read the clock.
"""

__all__: list[str] = []
