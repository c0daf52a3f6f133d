"""An asyncio connection to the scorer's JVM, for small batches on the event loop.

py4j's Python client blocks on its socket: called from the event loop it would
stall every other request, and handing each call to a worker thread costs more
than scoring one row. This channel speaks the same py4j protocol to the same
Java gateway (commands encoded and answers decoded by ``py4j.protocol``) over
an asyncio stream, so the loop serves other requests while the JVM scores.

One call is in flight at a time; :mod:`serving.small_batches` merges the
requests that arrive meanwhile into the next call. While calls come one at a
time, the Java thread that serves this connection runs on the event loop's CPU
when the loop is pinned (:mod:`serving.affinity`). A Java exception comes back
as :class:`JavaCallRefused` (the caller retries on the blocking client, which
reads the exception's details); a closed or broken connection as
:class:`~serving.runtime_errors.RuntimeUnavailable`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import cast

from py4j import protocol

from serving import affinity
from serving.runtime_errors import RuntimeUnavailable

logger = logging.getLogger(__name__)

_LOOPBACK = "127.0.0.1"
_ENTRY_POINT = protocol.ENTRY_POINT_OBJECT_ID


class JavaCallRefused(Exception):
    """The JVM answered a call with an exception (details stay on the Java side)."""


class _LineProtocol(asyncio.Protocol):
    """One py4j connection: commands out, one answer line back per command."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._pieces: list[bytes] = []
        self._answer: asyncio.Future[bytes] | None = None
        self.lost: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        end = data.find(b"\n")
        if end < 0:
            self._pieces.append(data)
            return
        self._pieces.append(data[:end])
        line = b"".join(self._pieces)
        self._pieces = [data[end + 1 :]] if end + 1 < len(data) else []
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_result(line)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = f"the JVM closed its connection ({exc or 'end of stream'})"
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_exception(RuntimeUnavailable(self.lost))

    async def exchange(self, command: bytes) -> bytes:
        """Send one command and wait for its answer line."""
        if self.lost is not None or self.transport is None:
            raise RuntimeUnavailable(self.lost or "the JVM connection is not open")
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._answer = answer
        self.transport.write(command)
        return await answer


class _ThreadPlacement:
    """Where one Java thread runs: on the event loop's CPUs, or on every CPU."""

    def __init__(
        self, thread_id: int, loop_cpus: frozenset[int], all_cpus: frozenset[int]
    ) -> None:
        self.thread_id = thread_id
        self._loop_cpus = loop_cpus
        self._all_cpus = all_cpus
        self._on_loop_cpus: bool | None = None

    def share_loop_cpu(self, wanted: bool) -> None:
        """Move the thread when ``wanted`` differs from where it is: one syscall."""
        if wanted == self._on_loop_cpus:
            return
        cpus = self._loop_cpus if wanted else self._all_cpus
        if affinity.move_thread(self.thread_id, cpus):
            self._on_loop_cpus = wanted


class AsyncJavaChannel:
    """One authenticated py4j connection driven by the event loop."""

    def __init__(self, port: int, token: str) -> None:
        self._port = port
        self._token = token
        self._lock = asyncio.Lock()
        self._connection: _LineProtocol | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # Set by the caller: True while calls come one at a time.
        self.share_loop_cpu = False
        self._placement: _ThreadPlacement | None = None

    async def call(self, target_id: str, method: str, *args: object) -> str:
        """Call ``method`` on the Java object ``target_id``; its String result."""
        self._follow_running_loop()
        async with self._lock:
            connection = await self._connected()
            if self._placement is not None:
                self._placement.share_loop_cpu(self.share_loop_cpu)
            result = await self._call(connection, target_id, method, args)
            if not isinstance(result, str):
                raise RuntimeUnavailable(
                    f"the JVM answered {method} with {result!r}; expected a string"
                )
            return result

    @property
    def java_thread_id(self) -> int | None:
        """The Linux id of the Java thread serving this channel, once it is placed."""
        return None if self._placement is None else self._placement.thread_id

    def close(self) -> None:
        """Close the connection; safe from any thread, and more than once."""
        self._closed = True
        connection, loop = self._connection, self._loop
        self._connection = None
        if connection is None or connection.transport is None or loop is None:
            return
        if loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(connection.transport.close)
        except RuntimeError:
            # The loop stopped between the check and the call: nothing to close on.
            logger.debug("event loop gone before the JVM channel closed")

    def _follow_running_loop(self) -> None:
        """Start afresh when called from another event loop than the last call.

        A connection and a lock belong to the loop that made them; the app has
        one loop for its lifetime, but a closed loop (tests, a restarted
        server) must not leave a connection nobody reads.
        """
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop is loop:
            return
        stale, self._connection = self._connection, None
        if (
            stale is not None
            and stale.transport is not None
            and not self._loop.is_closed()
        ):
            self._loop.call_soon_threadsafe(stale.transport.close)
        self._lock = asyncio.Lock()
        self._loop = None

    async def _call(
        self,
        connection: _LineProtocol,
        target_id: str,
        method: str,
        args: tuple[object, ...],
    ) -> object:
        parts = "".join(protocol.get_command_part(arg) for arg in args)
        command = (
            f"{protocol.CALL_COMMAND_NAME}{target_id}\n{method}\n"
            f"{parts}{protocol.END_COMMAND_PART}"
        )
        answer = await self._exchange(connection, command)
        if answer.startswith(protocol.ERROR):
            await self._release_exception(connection, answer)
            raise JavaCallRefused(f"{method} raised a Java exception")
        if not answer.startswith(protocol.SUCCESS) or answer[1:2] not in (
            protocol.STRING_TYPE,
            protocol.INTEGER_TYPE,
            protocol.LONG_TYPE,
        ):
            raise RuntimeUnavailable(
                f"the JVM answered {method} with {answer[:40]!r}; expected a value"
            )
        return protocol.get_return_value(answer, None)

    async def _connected(self) -> _LineProtocol:
        if self._closed:
            raise RuntimeUnavailable("the JVM has been stopped; open a new scorer")
        connection = self._connection
        if connection is not None and connection.lost is None:
            return connection
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                _LineProtocol, _LOOPBACK, self._port
            )
        except OSError as exc:
            raise RuntimeUnavailable(
                f"the JVM does not accept connections on port {self._port}: {exc}"
            ) from exc
        self._connection, self._loop = connection, loop
        auth = f"{protocol.AUTH_COMMAND_NAME}\n{self._token}\n"
        if not (await self._exchange(connection, auth)).startswith(protocol.SUCCESS):
            self.close()
            raise RuntimeUnavailable("the JVM refused the py4j auth token")
        self._placement = await self._placement_for(connection)
        return connection

    async def _placement_for(
        self, connection: _LineProtocol
    ) -> _ThreadPlacement | None:
        """How to move the Java thread of this connection; None: loop not pinned."""
        loop_cpus = affinity.thread_cpus() if affinity.supported() else None
        if loop_cpus is None or loop_cpus == affinity.process_cpus():
            return None
        thread_id = await self._call(connection, _ENTRY_POINT, "callerThreadId", ())
        if not isinstance(thread_id, int) or thread_id < 0:
            return None
        return _ThreadPlacement(thread_id, loop_cpus, affinity.process_cpus())

    async def _exchange(self, connection: _LineProtocol, command: str) -> str:
        """Send one command, read its one-line answer (without the leading '!')."""
        line = await connection.exchange(command.encode("utf-8"))
        return line.decode("utf-8").removeprefix(protocol.RETURN_MESSAGE)

    async def _release_exception(self, connection: _LineProtocol, answer: str) -> None:
        """Let the gateway forget the exception object it keeps for us."""
        reference = answer[len(protocol.ERROR) :]
        if not reference.startswith(protocol.REFERENCE_TYPE):
            return
        command = (
            f"{protocol.MEMORY_COMMAND_NAME}{protocol.MEMORY_DEL_SUBCOMMAND_NAME}"
            f"{reference[1:]}\n{protocol.END_COMMAND_PART}"
        )
        await self._exchange(connection, command)
