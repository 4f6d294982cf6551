"""A TCP proxy in front of a real server, which a test can cut: the database "goes away"
(every connection drops, new ones are refused) or falls silent (new connections are accepted and
never answered), and comes back, while the server itself, shared with other tests, never
notices."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shared.db import close_database, init_database
from tests.conftest import PostgresServer, fresh_postgres_database
from tests.e2e.harness import free_port


class CuttableProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``; ``down()`` / ``up()`` cut and restore it."""

    def __init__(self, *, target_host: str, target_port: int, port: int) -> None:
        self.target = (target_host, target_port)
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._silent = False

    def start(self) -> CuttableProxy:
        self._thread.start()
        self._call(self._listen)
        return self

    def stop(self) -> None:
        self._call(self._close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()  # else its self-pipe is reported unclosed (warnings are errors)

    def down(self) -> None:
        """Drop every connection and refuse new ones, as a database that went away."""
        self._call(self._close)

    def silence(self) -> None:
        """Drop every connection and answer nothing on new ones (accepted, then never served),
        as a server that hangs or a network that swallows everything after the handshake."""
        self._call(self._go_silent)

    def up(self) -> None:
        self._call(self._listen)

    def _call(self, coroutine: Callable[[], Any]) -> None:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine(), self._loop)
        future.result(timeout=10)

    async def _listen(self) -> None:
        self._silent = False
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _go_silent(self) -> None:
        await self._close()
        await self._listen()
        self._silent = True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._silent:
            self._writers.add(writer)
            try:
                while await reader.read(65536):
                    pass  # swallowed
            except (ConnectionError, OSError):
                pass
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, upstream_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._writers.discard(writer)
        self._writers.discard(upstream_writer)


@contextmanager
def proxied(url: str) -> Iterator[tuple[CuttableProxy, str]]:
    """A cuttable proxy in front of the server of ``url`` (which names its port), and ``url``
    pointed at the proxy."""
    parts = urlsplit(url)
    target_port = parts.port or 5432
    proxy = CuttableProxy(
        target_host=parts.hostname or "127.0.0.1", target_port=target_port, port=free_port()
    ).start()
    try:
        netloc = parts.netloc.replace(f":{target_port}", f":{proxy.port}")
        yield proxy, urlunsplit(parts._replace(netloc=netloc))
    finally:
        proxy.stop()


@contextmanager
def pooled_database_behind_proxy(server: PostgresServer) -> Iterator[tuple[CuttableProxy, str]]:
    """A fresh database on ``server`` behind a cuttable proxy, and its ``postgres+pool://`` URL
    through the proxy: pooled, as in production, so that connections a cut broke must be
    replaced."""
    with fresh_postgres_database(server) as url, proxied(url) as (proxy, through):
        yield proxy, through.replace("postgresql://", "postgres+pool://", 1)


@contextmanager
def models_behind_proxy(server: PostgresServer) -> Iterator[CuttableProxy]:
    """The project's models bound (``init_database``) to such a database, unbound afterwards."""
    with pooled_database_behind_proxy(server) as (proxy, url):
        init_database(url)
        try:
            yield proxy
        finally:
            close_database()
