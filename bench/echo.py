"""The floor: what one loopback TCP round trip and a plain Python reader cost here.

Two processes, pinned like the controller and the simulator: an echo server (plain
blocking sockets, no parsing) on the controller's core and a client on the simulator's.

- round trip: a 100-byte message echoed back, one at a time (p50/p99/p99.9);
- bulk read: how fast a Python reader that does nothing with the bytes drains a socket
  (bytes/s), the floor under the controller's event drain.

    python -m bench.echo server PORT | python -m bench.echo (runs both and prints JSON)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from bench.common import summary_ms

MESSAGE = b"x" * 99 + b"\n"


def serve(port: int) -> None:
    """Echo mode until the first connection ends; then drain mode for the second."""
    with socket.create_server(("127.0.0.1", port)) as srv:
        print("ready", flush=True)
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        conn, _ = srv.accept()
        with conn:
            total = 0
            while True:
                data = conn.recv(256 * 1024)
                if not data:
                    break
                total += len(data)
            conn.sendall(str(total).encode())


def measure(cores: dict[str, int | None], round_trips: int, bulk_mb: int) -> dict[str, Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def pin() -> None:
        if cores.get("controller") is not None:
            os.sched_setaffinity(0, {cores["controller"]})

    server = subprocess.Popen(
        [sys.executable, "-m", "bench.echo", "server", str(port)],
        stdout=subprocess.PIPE, preexec_fn=pin,
    )
    old = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        assert server.stdout is not None
        server.stdout.readline()
        if cores.get("echo") is not None:
            os.sched_setaffinity(0, {cores["echo"]})
        rtt = []
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(round_trips):
                t = time.perf_counter()
                c.sendall(MESSAGE)
                got = 0
                while got < len(MESSAGE):
                    got += len(c.recv(65536))
                rtt.append(time.perf_counter() - t)
        chunk = b"e" * (1024 * 1024)
        with socket.create_connection(("127.0.0.1", port)) as c:
            t = time.perf_counter()
            for _ in range(bulk_mb):
                c.sendall(chunk)
            c.shutdown(socket.SHUT_WR)
            total = int(c.recv(64) or b"0")
            bulk_s = time.perf_counter() - t
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
        if old is not None:
            os.sched_setaffinity(0, old)
    return {
        "round_trip": summary_ms(rtt),
        "bulk_read": {
            "bytes": total,
            "seconds": round(bulk_s, 4),
            "bytes_per_s": round(total / bulk_s) if bulk_s > 0 else None,
        },
    }


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "server":
        serve(int(sys.argv[2]))
    else:
        print(json.dumps(measure({"controller": None, "echo": None}, 2000, 50), indent=1))
