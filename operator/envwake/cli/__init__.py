"""The ``envwake`` command line: argument parsing, files and terminal output.

Owns: turning arguments into calls of the core and adapters, reading and writing the
files it is pointed at, and reporting errors as one clear line (exit 2).
Must not: hold logic the operator or the Slack app also need; that lives in the core.
"""

__all__: list[str] = []
