"""The Redis the tests share: localhost:6379, started by `make test` (scripts/ensure-machine)."""
from __future__ import annotations

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False
