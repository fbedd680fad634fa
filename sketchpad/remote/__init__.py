"""The remote generator: `sketchpad serve` runs the engine behind a WebSocket, and a
`RemoteEngine` in the app (or `generate --server`, or the load bench) streams sketches to it.

- `protocol`: the messages (a JSON header and raw bytes; never pickle) and their limits.
- `server`: the asyncio server, with newest-wins per client and dynamic batching.
- `client`: `RemoteEngine`, the engine interface over a connection.
- `token`: the shared secret a client must present.
- `load`: simulated artists for `sketchpad bench --server`.
"""
