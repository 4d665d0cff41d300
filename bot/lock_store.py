"""Rasa's Redis lock store with every change to a lock made atomically in Redis.

Rasa serialises the messages of one conversation with a ticket lock kept
in Redis: each message takes a ticket and waits until its ticket is the
first. But Rasa 3.6's `RedisLockStore` changes a lock by reading it,
changing it in Python and writing it back, in separate commands. With two
servers (or two workers) that goes wrong in two ways:

* two messages take a ticket at the same moment, both read tickets [3],
  both write [3, 4], and both believe they hold ticket 4: the
  conversation's turns are then handled at the same time;
* a message finishes, finds nobody waiting and deletes the lock just after
  another server added a ticket to it; the other message then finds no
  lock and fails with `LockError`: the customer's message is lost.

Here taking a ticket and giving one back are each one Lua script, which
Redis runs without interleaving. The stored lock is Rasa's own JSON
(`TicketLock.dumps`), so reading it is Rasa's code, and servers waiting for
a lock look again every `POLL_SECONDS` instead of every second.
"""
from __future__ import annotations

import time
from typing import Any, AsyncContextManager, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

POLL_SECONDS = 0.05

# KEYS[1]: the lock. ARGV: now, lifetime in seconds, conversation id. Returns the new ticket's number.
_TAKE_TICKET = """
local now = tonumber(ARGV[1])
local tickets, last = {}, -1
local stored = redis.call('GET', KEYS[1])
if stored then
  for _, serialised in ipairs(cjson.decode(stored)['tickets']) do
    local ticket = cjson.decode(serialised)
    if ticket['expires'] >= now then
      table.insert(tickets, serialised)
      last = ticket['number']
    end
  end
end
local number = last + 1
table.insert(tickets, cjson.encode({number = number, expires = now + tonumber(ARGV[2])}))
redis.call('SET', KEYS[1], cjson.encode({conversation_id = ARGV[3], tickets = tickets}))
return number
"""

# KEYS[1]: the lock. ARGV: now, the number of the ticket given back (-1: none).
# Drops that ticket and the expired ones; deletes the lock when no ticket is left.
_GIVE_BACK = """
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local now, given_back = tonumber(ARGV[1]), tonumber(ARGV[2])
local lock = cjson.decode(stored)
local kept = {}
for _, serialised in ipairs(lock['tickets']) do
  local ticket = cjson.decode(serialised)
  if ticket['expires'] >= now and ticket['number'] ~= given_back then table.insert(kept, serialised) end
end
if #kept == 0 then
  redis.call('DEL', KEYS[1])
else
  lock['tickets'] = kept
  redis.call('SET', KEYS[1], cjson.encode(lock))
end
return #kept
"""


class AtomicRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose ticket changes are single Lua scripts (see the module docstring).

    endpoints.yml: `lock_store: {type: bot.lock_store.AtomicRedisLockStore,
    url: <host>, port: ..., db: ..., key_prefix: ...}`, the settings of
    Rasa's `redis` lock store.
    """

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url or "localhost", **endpoint_config.kwargs)
        self._take_ticket = self.red.register_script(_TAKE_TICKET)
        self._give_back = self.red.register_script(_GIVE_BACK)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return int(self._take_ticket(keys=[self.key_prefix + conversation_id],
                                         args=[time.time(), lock_lifetime, conversation_id]))
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: Text) -> None:
        """Drop expired tickets."""
        self._give_back(keys=[self.key_prefix + conversation_id], args=[time.time(), -1])

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self._give_back(keys=[self.key_prefix + conversation_id], args=[time.time(), ticket_number])

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Give the ticket back; the lock goes with its last ticket, in the same step."""
        self.finish_serving(conversation_id, ticket_number)

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("locks change only through the atomic scripts")

    def lock(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
             wait_time_in_seconds: float = POLL_SECONDS) -> AsyncContextManager[Any]:
        return super().lock(conversation_id, lock_lifetime, wait_time_in_seconds)
