"""Lua shared by the store's set indexes (a subject's checks, a check's pages)."""

from __future__ import annotations

# Add a member and stretch the set's TTL in one step, so the index never lives without one.
# KEYS[1] the index, ARGV[1] the member, ARGV[2] the TTL it must live at least.
ADD = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""

# Take the whole index in one step: a member indexed afterwards starts a new index, which a later
# take finds; none is lost between reading the members and deleting the key.
TAKE = """
local ids = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
return ids
"""
