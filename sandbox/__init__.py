"""Local HTTP emulator of the four web services Mapbridge talks to (tests, benchmarks, demo)."""

from .server import DEFAULT_TOKENS, RequestRecord, SandboxServer

__all__ = ["SandboxServer", "DEFAULT_TOKENS", "RequestRecord"]
