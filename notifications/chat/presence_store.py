"""Where presence entries live: Redis (shared by every process), or this process's memory.

An entry is one connection in one stream. Per stream, `presence:<stream>` maps connection ids
to user ids, `presence:<stream>|users` user ids to their number of connections and
`presence:<stream>|who` user ids to the user's JSON; `presence:exp` orders
`<stream>|<connection id>` by expiry (Unix time). Every change runs in one Lua script, which
returns the users whose count went 0 -> 1 (joins) and 1 -> 0 (leaves): however many processes
change or sweep the same entries at once, each transition is reported to exactly one of them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notifications.conf import app_settings

PREFIX = "presence:"
EXPIRY_KEY = PREFIX + "exp"
ENTER, LEAVE, EXPIRE = "e", "l", "x"
JOINED, LEFT = "j", "l"
BATCH = 500


@dataclass(frozen=True, slots=True)
class Op:
    """`ENTER` (or renew), `LEAVE`, or `EXPIRE` (leave only if the entry's time is up)."""

    action: str
    stream: str
    connection: str
    user: str = ""
    who: str = ""


@dataclass(frozen=True, slots=True)
class Change:
    """A user's first connection to `stream` came (`JOINED`) or their last one went (`LEFT`);
    `who` is the user's JSON."""

    kind: str
    stream: str
    who: str


class Store(Protocol):
    async def apply(self, ops: list[Op], expiry: float, now: float) -> list[Change]: ...

    async def expired(self, now: float, limit: int) -> list[tuple[str, str]]: ...

    async def users(self, stream: str) -> list[tuple[str, int]]: ...

    async def counts(self, stream: str) -> tuple[int, int]: ...

    async def aclose(self) -> None: ...


def member(stream: str, connection: str) -> str:
    return f"{stream}|{connection}"


def split_member(value: str) -> tuple[str, str]:
    stream, _, connection = value.partition("|")
    return stream, connection


def keys_of(stream: str) -> tuple[str, str, str]:
    base = PREFIX + stream
    return base, base + "|users", base + "|who"


class Memory:
    """One process's presence (no Redis): shared by its threads and event loops."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connections: dict[str, dict[str, str]] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.who: dict[str, dict[str, str]] = {}
        self.expiry: dict[str, float] = {}

    def clear(self) -> None:
        with self.lock:
            self.connections.clear()
            self.counts.clear()
            self.who.clear()
            self.expiry.clear()

    def apply(self, ops: list[Op], expiry: float, now: float) -> list[Change]:
        changes = []
        with self.lock:
            for op in ops:
                change = self._apply(op, expiry, now)
                if change is not None:
                    changes.append(change)
        return changes

    def _apply(self, op: Op, expiry: float, now: float) -> Change | None:
        key = member(op.stream, op.connection)
        connections = self.connections.setdefault(op.stream, {})
        counts = self.counts.setdefault(op.stream, {})
        who = self.who.setdefault(op.stream, {})
        change = None
        if op.action == ENTER:
            if op.connection not in connections:
                connections[op.connection] = op.user
                counts[op.user] = counts.get(op.user, 0) + 1
                if counts[op.user] == 1:
                    who[op.user] = op.who
                    change = Change(JOINED, op.stream, op.who)
            self.expiry[key] = expiry
        elif op.action == LEAVE or self.expiry.get(key, now + 1) <= now:
            self.expiry.pop(key, None)
            owner = connections.pop(op.connection, None)
            if owner is not None:
                counts[owner] -= 1
                if counts[owner] <= 0:
                    del counts[owner]
                    change = Change(LEFT, op.stream, who.pop(owner, op.who))
        for table in (self.connections, self.counts, self.who):
            if not table.get(op.stream):
                table.pop(op.stream, None)
        return change

    def expired(self, now: float, limit: int) -> list[tuple[str, str]]:
        with self.lock:
            found = [key for key, at in self.expiry.items() if at <= now][:limit]
        return [split_member(key) for key in found]

    def users(self, stream: str) -> list[tuple[str, int]]:
        with self.lock:
            who = self.who.get(stream, {})
            return [(who[user], n) for user, n in self.counts.get(stream, {}).items()]

    def count(self, stream: str) -> tuple[int, int]:
        with self.lock:
            return len(self.counts.get(stream, {})), len(self.connections.get(stream, {}))


MEMORY = Memory()


class MemoryStore:
    async def apply(self, ops: list[Op], expiry: float, now: float) -> list[Change]:
        return MEMORY.apply(ops, expiry, now)

    async def expired(self, now: float, limit: int) -> list[tuple[str, str]]:
        return MEMORY.expired(now, limit)

    async def users(self, stream: str) -> list[tuple[str, int]]:
        return MEMORY.users(stream)

    async def counts(self, stream: str) -> tuple[int, int]:
        return MEMORY.count(stream)

    async def aclose(self) -> None:
        pass


APPLY = """
local expiry = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local out = {}
local k = 2
for a = 3, #ARGV, 5 do
  local action, stream, conn, uid, who = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local conns, users, names = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local entry = stream .. '|' .. conn
  if action == 'e' then
    if redis.call('HSETNX', conns, conn, uid) == 1 then
      if redis.call('HINCRBY', users, uid, 1) == 1 then
        redis.call('HSET', names, uid, who)
        table.insert(out, 'j')
        table.insert(out, stream)
        table.insert(out, who)
      end
    end
    redis.call('ZADD', KEYS[1], expiry, entry)
  else
    local due = true
    if action == 'x' then
      local score = redis.call('ZSCORE', KEYS[1], entry)
      due = score and tonumber(score) <= now
    end
    if due then
      redis.call('ZREM', KEYS[1], entry)
      local owner = redis.call('HGET', conns, conn)
      if owner then
        redis.call('HDEL', conns, conn)
        if redis.call('HINCRBY', users, owner, -1) <= 0 then
          redis.call('HDEL', users, owner)
          local known = redis.call('HGET', names, owner)
          redis.call('HDEL', names, owner)
          table.insert(out, 'l')
          table.insert(out, stream)
          table.insert(out, known or who)
        end
      end
    end
  end
  k = k + 3
end
return out
"""


class RedisStore:
    """Presence in Redis, through redis-py's asyncio client (one per event loop)."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        from redis import asyncio as aioredis

        self.client = aioredis.Redis.from_url(url, decode_responses=True, **options)
        self.script = self.client.register_script(APPLY)

    async def apply(self, ops: list[Op], expiry: float, now: float) -> list[Change]:
        changes: list[Change] = []
        for start in range(0, len(ops), BATCH):
            keys: list[str] = [EXPIRY_KEY]
            args: list[Any] = [repr(expiry), repr(now)]
            for op in ops[start : start + BATCH]:
                keys.extend(keys_of(op.stream))
                args.extend((op.action, op.stream, op.connection, op.user, op.who))
            out = await self.script(keys=keys, args=args)
            changes.extend(Change(*out[i : i + 3]) for i in range(0, len(out), 3))
        return changes

    async def expired(self, now: float, limit: int) -> list[tuple[str, str]]:
        found = await self.client.zrangebyscore(EXPIRY_KEY, "-inf", now, start=0, num=limit)
        return [split_member(str(value)) for value in found]

    async def users(self, stream: str) -> list[tuple[str, int]]:
        _, users, names = keys_of(stream)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(users)
            pipe.hgetall(names)
            counts, who = await pipe.execute()
        return [(who[user], int(n)) for user, n in counts.items() if user in who]

    async def counts(self, stream: str) -> tuple[int, int]:
        connections, users, _ = keys_of(stream)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hlen(users)
            pipe.hlen(connections)
            user_count, connection_count = await pipe.execute()
        return int(user_count), int(connection_count)

    async def aclose(self) -> None:
        await self.client.aclose()


def redis_address() -> tuple[str, dict[str, Any]] | None:
    """PRESENCE_REDIS_URL, else the first host of the app's channels-redis layer, with its
    connection options; None without Redis."""
    url = app_settings.PRESENCE_REDIS_URL
    if url:
        return url, {}
    layer = getattr(settings, "CHANNEL_LAYERS", {}).get(app_settings.CHANNEL_LAYER, {})
    if not str(layer.get("BACKEND", "")).startswith("channels_redis."):
        return None
    from channels_redis.utils import decode_hosts

    host = dict(decode_hosts(layer.get("CONFIG", {}).get("hosts"))[0])
    if "sentinels" in host:
        raise ImproperlyConfigured(
            "Chat presence cannot use a Sentinel layer host: "
            'set NOTIFICATIONS["PRESENCE_REDIS_URL"].'
        )
    address = host.pop("address", None)
    if isinstance(address, list | tuple):
        host.update(host=address[0], port=address[1])
        address = None
    if address is None:
        address = f"redis://{host.pop('host', 'localhost')}:{host.pop('port', 6379)}"
    host.pop("max_connections", None)
    return str(address), host


def new_store() -> Store:
    found = redis_address()
    if found is None:
        return MemoryStore()
    return RedisStore(*found)
