"""PostgreSQL: saving a batch of messages, less what `admit` refuses, and with it the
store writer's acks in the same transaction (runs on asyncio, called through `_postgres`).

Under the messages lock (`MESSAGES_LOCK_KEY`): so that `seq` order is commit order, and
so that nodes cannot race past a recipient's quota. `pending_totals` follows the insert by
trigger (migration 0005).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _postgres_messages as sql_messages
from ._admission import (
    Pending,
    RecipientLimits,
    SaveRefusal,
    admit,
    forgive_retries,
    quota_refused_ids,
)
from ._types import NewMessage, Owners, ids_to_verify, refused_ids


async def aio_save_messages(
    pool: Any,
    messages: Sequence[NewMessage],
    limits: RecipientLimits | None,
    ack_args: Sequence[object] = (),
) -> dict[NewMessage, SaveRefusal]:
    """Insert a batch, less what `admit` refuses, then with `ack_args` (`ACK`'s) record a
    batch of acks, in one transaction; what was refused."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(sql_messages.LOCK, sql_messages.MESSAGES_LOCK_KEY)
        refused = await _insert(conn, messages, limits) if messages else {}
        if ack_args:
            await conn.execute(sql_messages.ACK, *ack_args)
        return refused


async def _insert(
    conn: Any, messages: Sequence[NewMessage], limits: RecipientLimits | None
) -> dict[NewMessage, SaveRefusal]:
    refused: dict[NewMessage, SaveRefusal] = {}
    if limits is not None:
        keys = [str(m.recipient_id) for m in messages]
        rows = await conn.fetch(sql_messages.HELD, list(set(keys)))
        held = {str(row["id"]): Pending(row["count"], row["bytes"]) for row in rows}
        refused = admit(messages, keys, held, limits)
        if retried := quota_refused_ids(refused):
            rows = await conn.fetch(sql_messages.OWNERS, retried)
            forgive_retries(refused, {str(r["id"]): sql_messages.owners(r) for r in rows})
    saved = [m for m in messages if m not in refused] if refused else messages
    if not saved:
        return refused
    arrays = sql_messages.insert_arrays(saved)
    inserted = {str(row["id"]) for row in await conn.fetch(sql_messages.INSERT, *arrays)}
    verify = ids_to_verify(saved, inserted)
    if verify:
        owners: dict[str, Owners] = {}
        for row in await conn.fetch(sql_messages.OWNERS, verify):
            owners[str(row["id"])] = sql_messages.owners(row)
        duplicates = refused_ids(saved, verify, owners)
        refused.update(dict.fromkeys(duplicates, SaveRefusal.DUPLICATE_ID))
    return refused
