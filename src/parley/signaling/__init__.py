"""signaling-service: the WebSocket at /ws/signaling (rooms, relay, chat, moderation), chat
history, and per-node statistics. Room state lives in the key-value store so that several
signaling processes share it; frames cross processes through per-node pub/sub channels."""
