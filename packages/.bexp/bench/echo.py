"""The practical limit of the bridge's pipe: a bare loop that reads a length-prefixed MessagePack frame on fd 3,
decodes it, and writes {"t": "result", "id", "value"} back as a frame on fd 4. Same fds, same framing, same
msgpack as the real worker, and nothing else: no threads, no event loop, no command registry.

`python echo.py pyshell` is the python-shell peer instead: JSON lines in on stdin, the same JSON lines out.
"""

from __future__ import annotations

import json
import os
import struct
import sys

import msgpack

HEADER = struct.Struct(">I")


def read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def frames(in_fd: int = 3, out_fd: int = 4) -> None:
    while True:
        header = read_exact(in_fd, HEADER.size)
        if header is None:
            return
        payload = read_exact(in_fd, HEADER.unpack(header)[0])
        if payload is None:
            return
        message = msgpack.unpackb(payload, raw=False)
        reply = msgpack.packb({"t": "result", "id": message["id"], "value": message.get("args")}, use_bin_type=True)
        data = memoryview(HEADER.pack(len(reply)) + reply)
        while data:
            data = data[os.write(out_fd, data) :]


def json_lines() -> None:
    # What a python-shell script looks like: one JSON message per line, printed back and flushed.
    for line in sys.stdin:
        print(json.dumps(json.loads(line)), flush=True)


if __name__ == "__main__":
    json_lines() if sys.argv[1:] == ["pyshell"] else frames()
