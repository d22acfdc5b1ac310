"""The real API server for the tests of this folder (see tests/envtest/server.py)."""
