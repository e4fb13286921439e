#!/usr/bin/env python3
"""Gateway load test: hold N concurrent HTTP/1.1 keep-alive connections and drive requests over all of them.

Python 3 standard library only (asyncio, raw sockets). Phases:
  1. open every connection (bounded connect concurrency) and hold it;
  2. prime: one GET <get-path> on every connection, all at once, and wait for every answer. An open client socket
     may still wait in the server's accept queue; an answered one has been accepted and served. Nothing is closed
     before this barrier, so at that moment all N connections are open and served concurrently (all_open_at_once;
     the peak of open connections is tracked throughout and reported as peak_open);
  3. every connection loops request -> response until the deadline (requests in flight then are finished),
     alternating POST <path> (whose reply must echo the body) and GET <get-path> per --post-share;
  4. every connection is closed.

Failures: non-2xx status, an echo reply that differs from the body sent, connection refused/reset/closed,
timeouts, unparsable responses. Prints one JSON object on stdout; exits 0 only if there was no failure and all
N connections were open at the same time.

  Tests/Load/load.py --host 127.0.0.1 --port 7420 --connections 1000 --seconds 5
"""
import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--connections", type=int, default=1000, help="connections held concurrently (default 1000)")
    p.add_argument("--seconds", type=float, default=5.0, help="how long the connections send requests (default 5)")
    p.add_argument("--requests", type=int, default=0,
                   help="stop each connection after this many requests (0: only the deadline stops it)")
    p.add_argument("--path", default="/v1/apps/hello/echo", help="POST path whose reply echoes the body")
    p.add_argument("--body", default='{"load":"test","pad":"0123456789abcdef0123456789abcdef"}',
                   help="POST body (JSON)")
    p.add_argument("--get-path", default="/v1/health", help="GET path mixed in")
    p.add_argument("--post-share", type=float, default=0.5,
                   help="fraction of requests that are POSTs, 0..1 (default 0.5); deterministic interleaving")
    p.add_argument("--no-echo-check", action="store_true", help="do not require the POST reply to equal the body")
    p.add_argument("--timeout", type=float, default=10.0, help="per-request and per-connect timeout, s (default 10)")
    p.add_argument("--connect-concurrency", type=int, default=128,
                   help="connects in flight at once while opening (default 128, below the listen backlog)")
    return p.parse_args(argv)


def raise_nofile(needed):
    """Raises the soft RLIMIT_NOFILE to cover `needed` descriptors (up to the hard limit); returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft, hard


class ProtocolError(Exception):
    pass


async def read_response(reader):
    """Reads one HTTP/1.1 response; returns (status, headers dict (lowercase names), body bytes)."""
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("closed by server")
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError("bad status line %r" % line[:80])
    status = int(parts[1])
    headers = {}
    while True:
        h = await reader.readline()
        if not h:
            raise ConnectionResetError("closed mid-headers")
        if h in (b"\r\n", b"\n"):
            break
        name, sep, value = h.partition(b":")
        if not sep:
            raise ProtocolError("bad header line %r" % h[:80])
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size_line = await reader.readline()
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise ProtocolError("bad chunk size %r" % size_line[:40])
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        return status, headers, bytes(body)
    length = headers.get("content-length")
    if length is None:
        if status in (204, 304) or 100 <= status < 200:
            return status, headers, b""
        raise ProtocolError("no Content-Length")
    if not length.isdigit():
        raise ProtocolError("bad Content-Length %r" % length)
    body = await reader.readexactly(int(length)) if int(length) else b""
    return status, headers, body


def percentiles(samples):
    if not samples:
        return {}
    s = sorted(samples)

    def pick(q):
        return round(s[min(len(s) - 1, int(q * len(s)))] * 1000.0, 3)

    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "p999": pick(0.999),
            "max": round(s[-1] * 1000.0, 3)}


class Load:
    def __init__(self, args):
        self.a = args
        self.open_now = 0
        self.peak_open = 0
        self.opened = 0
        self.failures = Counter()
        self.counts = Counter()
        self.latency = {"post": [], "get": []}
        self.first = []  # each connection's first request: includes the server accepting the connection
        host = args.host.encode()
        body = args.body.encode()
        self.body = body
        self.post = (b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                     % (args.path.encode(), host, len(body))) + body
        self.get = b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (args.get_path.encode(), host)

    def fail(self, reason):
        self.failures[reason] += 1

    async def connect(self, gate):
        async with gate:
            try:
                conn = await asyncio.wait_for(asyncio.open_connection(self.a.host, self.a.port), self.a.timeout)
            except asyncio.TimeoutError:
                self.fail("connect: timeout")
                return None
            except OSError as e:
                self.fail("connect: %s" % (e.strerror or type(e).__name__))
                return None
        self.opened += 1
        self.open_now += 1
        self.peak_open = max(self.peak_open, self.open_now)
        return conn

    def closed(self, writer):
        self.open_now -= 1
        writer.close()

    async def one(self, reader, writer, is_post):
        """One request -> response; records its latency and any failure; False if the connection is unusable."""
        kind = "post" if is_post else "get"
        t0 = time.perf_counter()
        try:
            writer.write(self.post if is_post else self.get)
            status, headers, body = await asyncio.wait_for(read_response(reader), self.a.timeout)
        except asyncio.TimeoutError:
            self.fail("%s: timeout after %.1f s" % (kind, self.a.timeout))
            return False
        except asyncio.IncompleteReadError:
            self.fail("%s: connection closed mid-body" % kind)
            return False
        except ProtocolError as e:
            self.fail("%s: parse error: %s" % (kind, e))
            return False
        except (ConnectionError, OSError) as e:
            self.fail("%s: %s" % (kind, e.strerror or str(e) or type(e).__name__))
            return False
        self.latency[kind].append(time.perf_counter() - t0)
        self.counts[kind] += 1
        if not 200 <= status < 300:
            snippet = body[:160].decode("utf-8", "replace")
            self.fail("%s: HTTP %d %s" % (kind, status, snippet))
        elif is_post and not self.a.no_echo_check and body != self.body:
            self.fail("post: reply differs from the body sent")
        elif headers.get("connection", "").lower() == "close":
            self.fail("%s: server closed keep-alive (Connection: close)" % kind)
            return False
        return True

    async def prime(self, conn):
        """The first request of a connection (GET): proves the server accepted it. None if it failed."""
        if conn is None:
            return None
        t0 = time.perf_counter()
        if not await self.one(conn[0], conn[1], False):
            self.closed(conn[1])
            return None
        self.first.append(time.perf_counter() - t0)
        return conn

    async def drive(self, index, conn, start, deadline):
        """Request -> response on one connection until the deadline; reconnects after a broken connection."""
        reader, writer = conn
        share = self.a.post_share
        n = 0
        loop = asyncio.get_running_loop()
        # Deterministic interleaving: request n of connection i is a POST when the running share says so; the
        # offset by `index` spreads the kinds evenly across connections at every moment.
        while loop.time() < deadline and (self.a.requests == 0 or n < self.a.requests):
            k = index + n
            is_post = int((k + 1) * share) > int(k * share)
            n += 1
            ok = await self.one(reader, writer, is_post)
            if not ok:
                # A broken or unusable connection: replace it so the load keeps its shape.
                self.closed(writer)
                conn = await self.connect(asyncio.Semaphore(1))
                if conn is None:
                    return
                reader, writer = conn
        self.closed(writer)

    async def run(self):
        a = self.a
        gate = asyncio.Semaphore(a.connect_concurrency)
        t_open = time.perf_counter()
        conns = await asyncio.gather(*(self.connect(gate) for _ in range(a.connections)))
        open_seconds = time.perf_counter() - t_open
        t_prime = time.perf_counter()
        conns = await asyncio.gather(*(self.prime(c) for c in conns))
        prime_seconds = time.perf_counter() - t_prime
        # Every connection still open here has been answered, and none has been closed since it opened.
        all_open_at_once = sum(1 for c in conns if c is not None)
        primed = self.counts["post"] + self.counts["get"]
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + a.seconds
        t0 = time.perf_counter()
        await asyncio.gather(*(self.drive(i, c, start, deadline) for i, c in enumerate(conns) if c is not None))
        elapsed = time.perf_counter() - t0
        total = self.counts["post"] + self.counts["get"]
        failures = sum(self.failures.values())
        result = {
            "connections": a.connections,
            "all_open_at_once": all_open_at_once,
            "peak_open": self.peak_open,
            "connects": self.opened,
            "open_seconds": round(open_seconds, 3),
            "prime_seconds": round(prime_seconds, 3),
            "seconds": round(elapsed, 3),
            "requests": total,
            "posts": self.counts["post"],
            "gets": self.counts["get"],
            "rps": round((total - primed) / elapsed, 1) if elapsed > 0 else 0,  # the timed phase only
            "failures": failures,
            "failure_reasons": dict(self.failures.most_common(20)),
            "latency_ms": {"all": percentiles(self.latency["post"] + self.latency["get"]),
                           "post": percentiles(self.latency["post"]), "get": percentiles(self.latency["get"]),
                           "first": percentiles(self.first)},
        }
        return result


def main():
    args = parse_args()
    soft, hard = raise_nofile(args.connections + 64)
    if soft != resource.RLIM_INFINITY and soft < args.connections + 16:
        print(json.dumps({"error": "RLIMIT_NOFILE %d (hard %d) is too low for %d connections"
                          % (soft, hard, args.connections)}))
        return 2
    result = asyncio.run(Load(args).run())
    result["nofile_soft"] = soft
    ok = result["failures"] == 0 and result["peak_open"] >= args.connections
    result["ok"] = ok
    print(json.dumps(result, sort_keys=True))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
