"""Progress of a running list import, readable while its transaction is still open.

The import commits only when it finishes (all-or-nothing must stay possible), so
its progress cannot live in the database: it goes to Redis when the deployment has
one, else to a small file in the instance folder that web and worker share.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

TTL_S = 3600
log = logging.getLogger(__name__)


class ImportProgress:
    def __init__(self, redis_url: str | None, folder: Path) -> None:
        self.redis_url = redis_url
        self.folder = folder
        self._redis: Any = None

    @classmethod
    def for_instance(cls, redis_url: str | None, instance_path: str) -> ImportProgress:
        return cls(redis_url, Path(instance_path) / "import-progress")

    def _client(self) -> Any:
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.redis_url or "", socket_timeout=2)
        return self._redis

    def set(self, import_id: int, done: int, total: int) -> None:
        """Best effort: a progress bar that stalls must not fail the import."""
        try:
            self._set(import_id, done, total)
        except Exception:
            log.warning("import %s: progress not recorded", import_id, exc_info=True)

    def _set(self, import_id: int, done: int, total: int) -> None:
        value = json.dumps({"done": done, "total": total})
        if self.redis_url:
            self._client().set(f"znachki:import-progress:{import_id}", value, ex=TTL_S)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{import_id}.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(value)
        tmp.replace(path)

    def get(self, import_id: int) -> dict[str, int] | None:
        try:
            if self.redis_url:
                raw = self._client().get(f"znachki:import-progress:{import_id}")
            else:
                path = self.folder / f"{import_id}.json"
                raw = path.read_text() if path.exists() else None
        except Exception:
            log.warning("import %s: progress not readable", import_id, exc_info=True)
            return None
        if not raw:
            return None
        data: dict[str, int] = json.loads(raw)
        return data
