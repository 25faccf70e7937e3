"""Versions reported in the `ready` frame and by `info`, read without importing DSPy (which is slow)."""

from __future__ import annotations

import platform
from importlib import metadata


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    return {
        "python": platform.python_version(),
        "dspy": package_version("dspy"),
        "dspex_bridge": package_version("dspex_bridge"),
    }
