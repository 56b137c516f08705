"""The language a shell asks for (LC_ALL, LC_MESSAGES, LANG), for the command
line. Imports nothing but the standard library, so `znachki tradematch` can ask
without loading the web stack."""

from __future__ import annotations

import os
from collections.abc import Mapping


def environment_language(env: Mapping[str, str] | None = None) -> str | None:
    """The language a shell asks for, as POSIX reads it (LC_ALL, then
    LC_MESSAGES, then LANG): "ru_RU.UTF-8" → "ru". None for "C", "POSIX" or
    nothing set."""
    env = os.environ if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").strip()
        if value:
            code = value.split(".")[0].split("@")[0].split("_")[0].lower()
            return None if code in ("c", "posix", "") else code
    return None
