"""A small closed-loop HTTP/1.1 load generator (asyncio, raw sockets), the fallback when ``wrk``
is not installed. ``execute_vs_baseline.py`` prefers wrk: on a 2-core machine this one takes CPU
from the server it measures, so its figures are a lower bound.

Each of ``connections`` loops: send one POST (a fresh body from ``make_body``), read the whole
answer, record the latency and status, and reconnect when the server closes the connection
(gunicorn's sync workers close after every answer). Only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Result:
    duration: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, completed requests only
    statuses: Counter[int] = field(default_factory=Counter)
    socket_errors: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.duration if self.duration else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in seconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
        return ordered[rank - 1]

    @property
    def non_200(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status and whether the server keeps the connection open; the body is discarded."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    keep_alive = lines[0].startswith("HTTP/1.1")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection":
            keep_alive = value.strip().lower() != "close"
        elif name == "transfer-encoding" and "chunked" in value.lower():
            raise ValueError("chunked answers are not supported")
    if length:
        await reader.readexactly(length)
    return status, keep_alive


async def _connection(
    host: str,
    port: int,
    head: bytes,
    make_body: Callable[[], bytes],
    deadline: float,
    result: Result,
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            body = make_body()
            started = time.perf_counter()
            writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            status, keep_alive = await asyncio.wait_for(_read_response(reader), timeout=10)
            finished = time.perf_counter()
            if finished <= deadline:
                result.latencies.append(finished - started)
                result.statuses[status] += 1
            if not keep_alive:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            result.socket_errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def _run(
    host: str, port: int, path: str, headers: dict[str, str], make_body: Callable[[], bytes],
    connections: int, duration: float,
) -> Result:
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
    head += b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    result = Result()
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(
        *(_connection(host, port, head, make_body, deadline, result) for _ in range(connections))
    )
    result.duration = min(time.perf_counter(), deadline) - started
    return result


def run(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    make_body: Callable[[], bytes],
    *,
    connections: int = 32,
    duration: float = 15.0,
) -> Result:
    if host not in LOOPBACK:
        raise ValueError("the load generator only targets loopback addresses")
    if not 1 <= connections <= 1024 or not 0 < duration <= 600:
        raise ValueError("connections must be 1-1024 and duration 0-600 s")
    return asyncio.run(_run(host, port, path, headers, make_body, connections, duration))


def execute_body_factory(prefix: str) -> Callable[[], bytes]:
    """Bodies for ``POST /api/recovery/execute`` on the success path, each with a new token and
    idempotency key so neither the velocity check nor idempotency answers 409."""
    counter = 0

    def make() -> bytes:
        nonlocal counter
        counter += 1
        token = f"pm_{prefix}_{counter}"
        return json.dumps(
            {
                "paymentMethodToken": token,
                "amount": 5000,
                "currency": "USD",
                "originalDeclineCode": "do_not_honor",
                "idempotencyKey": token,
            },
            separators=(",", ":"),
        ).encode()

    return make


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="e.g. http://127.0.0.1:8101/api/recovery/execute")
    parser.add_argument("--api-key", help="sent as X-API-KEY")
    parser.add_argument("-c", "--connections", type=int, default=32)
    parser.add_argument("-d", "--duration", type=float, default=15.0)
    args = parser.parse_args()
    from urllib.parse import urlsplit

    parts = urlsplit(args.url)
    headers = {"Content-Type": "application/json"}
    if args.api_key:
        headers["X-API-KEY"] = args.api_key
    result = run(
        parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/", headers,
        execute_body_factory(f"lg{int(time.time())}"), connections=args.connections,
        duration=args.duration,
    )
    print(
        json.dumps(
            {
                "requests": result.requests,
                "rps": round(result.rps, 1),
                "p50_ms": round(result.percentile(50) * 1000, 2),
                "p99_ms": round(result.percentile(99) * 1000, 2),
                "statuses": dict(result.statuses),
                "socket_errors": result.socket_errors,
            }
        )
    )


if __name__ == "__main__":
    main()
