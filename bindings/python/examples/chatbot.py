#!/usr/bin/python3
"""A small asyncio chat bot on dbroute: it stores each incoming message on
the source its chat is mapped to and answers "/history" with the chat's
last messages. The updates come from a list here instead of a messenger.

usage: chatbot.py [CONFIG.ini]   (default: chatbot.ini next to this file)
"""
import asyncio
import os
import sys

import dbroute
import dbroute.aio

# One statement per call; chat ids are BIGINT (group ids overflow INTEGER).
SCHEMA = [
    "CREATE TABLE IF NOT EXISTS messages (chat_id BIGINT NOT NULL,"
    " message_id BIGINT NOT NULL, user_id BIGINT, text TEXT,"
    " PRIMARY KEY (chat_id, message_id))",
    "CREATE TABLE IF NOT EXISTS users (chat_id BIGINT NOT NULL,"
    " user_id BIGINT NOT NULL, messages BIGINT NOT NULL,"
    " PRIMARY KEY (chat_id, user_id))",
    "DELETE FROM messages",
    "DELETE FROM users",
]

# (chat, message id, user, text): group chats have negative ids.
UPDATES = [
    (-1001234567890, 1, 11, "hello group 👋"),
    (42, 1, 42, "hi bot"),
    (-1001234567890, 2, 12, "second message"),
    (777, 1, 7, "quotes ' and \" and ? are data, never SQL"),
    (42, 2, 42, "/history"),
    (-1009876543210, 1, 13, "another community chat"),
    (-1001234567890, 3, 11, "/history"),
]


async def handle(db, chat, message_id, user, text):
    if text == "/history":
        rows = await db.fetchall(
            chat, "SELECT user_id, text FROM messages WHERE chat_id = ? "
            "ORDER BY message_id DESC LIMIT 5", (chat,))
        return "chat %d: %d earlier messages: %s" % (
            chat, len(rows), "; ".join("%d: %s" % r for r in rows))
    # A message and its user's counter in one transaction on the chat's
    # source: both or neither.
    async with db.transaction(chat) as tx:
        await tx.execute("INSERT INTO messages VALUES (?, ?, ?, ?)",
                         (chat, message_id, user, text))
        await tx.execute("INSERT INTO users VALUES (?, ?, 1) ON CONFLICT"
                         " (chat_id, user_id) DO UPDATE SET messages ="
                         " users.messages + 1", (chat, user))
    return None


async def main(path):
    async with dbroute.aio.open(path, max_workers=4) as db:
        for s in await db.sources():
            for sql in SCHEMA:
                await db.execute_source(s.name, sql)
        # Updates of different chats are handled concurrently, those of
        # one chat in order.
        by_chat = {}
        for u in UPDATES:
            by_chat.setdefault(u[0], []).append(u)

        async def serve(updates):
            for u in updates:
                answer = await handle(db, *u)
                if answer:
                    print(answer)

        await asyncio.gather(*(serve(u) for u in by_chat.values()))
        for chat in by_chat:
            print("chat %d -> source %s (%s)" % ((chat,) + db.route(chat)))
        for s in await db.sources():
            (n, users), = await db.fetchall_source(
                s.name, "SELECT (SELECT count(*) FROM messages),"
                " (SELECT count(*) FROM users)")
            print("source %s (%s): %d messages from %d users"
                  % (s.name, s.type, n, users))


if __name__ == "__main__":
    config = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "chatbot.ini")
    try:
        asyncio.run(main(config))
    except dbroute.Error as e:
        print("chatbot: %s" % e, file=sys.stderr)
        sys.exit(1)
