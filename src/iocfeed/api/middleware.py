"""Outermost ASGI middleware: a request id on every response, rate-limit headers, usage counting.

It wraps everything (routing errors included), so `X-Request-ID` is on every response, and it sees
the final status of every authenticated request for the per-key usage counters.
"""

from __future__ import annotations

import random
import secrets
import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from iocfeed.api.usage import UsageRecorder


def new_request_id() -> str:
    """96 random bits: unique enough to find a request in the logs; not a secret, so the fast
    generator instead of os.urandom (a system call per request)."""
    return f"req_{_random_bits(96):024x}"


_random_bits = random.Random(secrets.randbits(64)).getrandbits


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, usage: UsageRecorder) -> None:
        self.app = app
        self.usage = usage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
        request_id = new_request_id()
        state["request_id"] = request_id
        started = time.perf_counter()
        status_seen = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status_seen
            if message["type"] == "http.response.start":
                status_seen = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                rate = state.get("rate")
                if rate is not None:
                    headers.append((b"x-ratelimit-limit", str(rate.limit).encode()))
                    headers.append((b"x-ratelimit-remaining", str(rate.remaining).encode()))
                    headers.append((b"x-ratelimit-reset", str(rate.reset).encode()))
                message["headers"] = headers  # type: ignore[typeddict-unknown-key]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            key_id = state.get("key_id")
            if key_id is not None:
                latency_ms = int((time.perf_counter() - started) * 1000)
                self.usage.record(key_id, status_seen, latency_ms)
