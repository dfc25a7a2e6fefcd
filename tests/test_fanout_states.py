"""The fan-out's state machine, against a scripted stand-in for the server's socket.

`StreamSocket` is the edge between the fan-out and the server (`agentchat/hub/sockets/`),
so a fake of it is a fake of the server, not of our code: everything on our side of it,
the `Fanout`, its backlogs, bounds and writer tasks, is the real one. Each test runs on
its own event loop and waits on the writer task itself, never on a clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from agentchat.hub.fanout import Fanout, Mode, Subscriber
from agentchat.hub.sockets import Chunk, StreamSocket, Write
from agentchat.message import Message

MAX_BUFFER_BYTES = 4096


class FakeSocket(StreamSocket):
    """The server's side of one stream: room, full, taking but stalling, gone, or broken, as a test says."""

    def __init__(self) -> None:
        self.state = "room"  # room | full | stall | gone | broken
        self.writes: list[bytes] = []
        self.offers = 0
        self.headers = False
        self.ended = False
        self.aborted = False
        self._drained = asyncio.Event()

    def headers_sent(self) -> None:
        self.headers = True

    def offer(self, chunk: Chunk) -> Write:
        self.offers += 1
        if self.state == "broken":
            raise ConnectionResetError("connection reset by peer")
        if self.state == "gone":
            return Write.GONE
        if self.state == "full":
            return Write.FULL
        self.writes.append(chunk.raw)
        if self.state == "stall":
            self._drained.clear()
            return Write.PENDING
        return Write.DONE

    async def drain(self) -> bool:
        if self.state in ("full", "stall"):
            await self._drained.wait()
        return self.state != "gone"

    def make_room(self) -> None:
        """The client read: the socket takes writes at once again."""
        self.state = "room"
        self._drained.set()

    def hang_up(self) -> None:
        self.state = "gone"
        self._drained.set()

    def end(self) -> None:
        self.ended = True

    def abort(self) -> None:
        self.aborted = True


def message(message_id: int, agent_id: str = "claude_arbitrage", size: int = 40) -> Message:
    return Message(message_id, agent_id, agent_id.title(), "trade", "x" * size, datetime(2026, 1, 1, tzinfo=UTC))


def frames(*messages: Message) -> bytes:
    return b"".join(m.sse_frame() for m in messages)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def live(fanout: Fanout, socket: StreamSocket, agents: frozenset[str] | None = None) -> Subscriber:
    subscriber = fanout.add(socket, agents)
    fanout.go_live(subscriber, 0)
    return subscriber


async def writer_of(subscriber: Subscriber) -> None:
    """Let the stream's writer task run to its end."""
    assert subscriber.writer is not None
    await subscriber.writer


def test_a_writable_socket_gets_each_batch_as_one_write_of_bytes_shared_by_every_stream() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        sockets = [FakeSocket(), FakeSocket()]
        subscribers = [live(fanout, socket) for socket in sockets]
        batch = [message(1), message(2), message(3)]
        fanout.publish(batch)
        for socket, subscriber in zip(sockets, subscribers, strict=True):
            assert socket.writes == [frames(*batch)]
            assert subscriber.mode is Mode.IDLE and subscriber.writer is None
        assert sockets[0].writes[0] is sockets[1].writes[0]
        assert fanout.stats.delivered == 6

    run(scenario)


def test_a_filtered_stream_gets_only_its_agents_frames() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        live(fanout, socket, frozenset({"mistral_macro"}))
        fanout.publish([message(1), message(2, "mistral_macro"), message(3)])
        fanout.publish([message(4)])
        assert socket.writes == [frames(message(2, "mistral_macro"))]

    run(scenario)


def test_a_full_socket_blocks_the_stream_and_later_frames_wait_in_its_backlog() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        subscriber = live(fanout, socket)
        socket.state = "full"
        fanout.publish([message(1)])
        fanout.publish([message(2)])
        assert subscriber.mode is Mode.BLOCKED
        assert socket.writes == [] and socket.offers == 1  # a blocked stream is not offered more
        assert subscriber.backlog == [frames(message(1)), frames(message(2))]
        assert subscriber.backlog_bytes == len(frames(message(1), message(2)))

    run(scenario)


def test_when_the_socket_drains_the_whole_backlog_goes_in_one_write_and_the_stream_is_idle_again() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        subscriber = live(fanout, socket)
        socket.state = "full"
        fanout.publish([message(1)])
        fanout.broadcast(b"event: heartbeat\ndata: {}\n\n")
        fanout.publish([message(2), message(3)])
        writer = writer_of(subscriber)
        socket.make_room()
        await writer
        assert socket.writes == [
            frames(message(1)) + b"event: heartbeat\ndata: {}\n\n" + frames(message(2), message(3))
        ]
        assert subscriber.mode is Mode.IDLE and subscriber.backlog_bytes == 0
        fanout.publish([message(4)])
        assert socket.writes[-1] == frames(message(4))  # straight through again

    run(scenario)


def test_a_write_taken_but_not_finished_holds_later_frames_until_the_socket_drains() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        subscriber = live(fanout, socket)
        socket.state = "stall"  # as a plain ASGI `send` that has to wait
        fanout.publish([message(1)])
        fanout.publish([message(2)])
        assert socket.writes == [frames(message(1))]
        assert subscriber.mode is Mode.BLOCKED and subscriber.backlog == [frames(message(2))]
        writer = writer_of(subscriber)
        socket.make_room()
        await writer
        assert socket.writes == [frames(message(1)), frames(message(2))]
        assert subscriber.mode is Mode.IDLE

    run(scenario)


def test_a_backlog_over_the_bound_cuts_the_client_off_as_slow_and_others_keep_receiving() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        stalled, reading = FakeSocket(), FakeSocket()
        slow = live(fanout, stalled)
        live(fanout, reading)
        stalled.state = "full"
        published = [message(i, size=400) for i in range(1, 21)]
        for item in published:
            fanout.publish([item])
        assert stalled.aborted and slow.mode is Mode.CLOSED
        assert slow not in fanout.subscribers and len(fanout) == 1
        assert slow.backlog == [] and slow.backlog_bytes == 0
        assert fanout.stats.dropped_slow == 1
        assert b"".join(reading.writes) == frames(*published)

    run(scenario)


def test_a_client_gone_while_blocked_ends_its_writer_without_writing() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        subscriber = live(fanout, socket)
        socket.state = "full"
        fanout.publish([message(1)])
        writer = writer_of(subscriber)
        socket.hang_up()
        await writer
        assert socket.writes == [] and not socket.aborted  # its request handler removes it
        assert subscriber.writer is None

    run(scenario)


def test_a_gone_client_is_offered_a_chunk_and_nothing_waits_for_it() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        subscriber = live(fanout, socket)
        socket.hang_up()
        fanout.publish([message(1)])
        assert subscriber.mode is Mode.IDLE and subscriber.backlog == [] and subscriber.writer is None

    run(scenario)


def test_a_socket_that_breaks_on_write_is_cut_off_but_not_counted_as_slow() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        subscriber = live(fanout, socket)
        socket.state = "broken"
        fanout.publish([message(1)])
        assert socket.aborted and subscriber.mode is Mode.CLOSED and len(fanout) == 0
        assert fanout.stats.dropped_slow == 0

    run(scenario)


def test_frames_published_during_the_replay_go_out_on_go_live_above_the_replayed_id_only() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        subscriber = fanout.add(socket, None)
        fanout.publish([message(5), message(6)])
        fanout.publish([message(7)])
        assert socket.writes == [] and not socket.headers
        fanout.go_live(subscriber, replayed_up_to=6)  # the store read found up to 6
        assert socket.headers
        assert socket.writes == [frames(message(7))]

    run(scenario)


def test_a_replay_that_ran_ahead_of_the_bus_skips_ids_up_to_its_replay() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        subscriber = fanout.add(socket, None)
        fanout.go_live(subscriber, replayed_up_to=8)  # this hub's bus has not delivered 1-8 yet
        fanout.publish([message(7), message(8)])
        fanout.publish([message(8), message(9), message(10)])
        fanout.publish([message(11)])
        assert socket.writes == [frames(message(9), message(10)), frames(message(11))]

    run(scenario)


def test_live_frames_over_the_bound_during_the_replay_cut_the_client_off() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        subscriber = fanout.add(socket, None)
        for i in range(1, 21):
            fanout.publish([message(i, size=400)])
        assert socket.aborted and subscriber.mode is Mode.CLOSED and subscriber.pending == []
        assert fanout.stats.dropped_slow == 1
        fanout.go_live(subscriber, 0)  # the handler finishing its replay sends nothing more
        assert socket.writes == [] and not socket.headers

    run(scenario)


def test_removing_a_blocked_stream_cancels_its_writer() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        socket = FakeSocket()
        subscriber = live(fanout, socket)
        socket.state = "full"
        fanout.publish([message(1)])
        writer = subscriber.writer
        assert writer is not None
        fanout.remove(subscriber)
        await asyncio.wait([writer])
        assert writer.cancelled()
        assert socket.writes == [] and not socket.aborted

    run(scenario)


def test_shutdown_ends_idle_streams_cleanly_and_aborts_blocked_and_replaying_ones() -> None:
    async def scenario() -> None:
        fanout = Fanout(MAX_BUFFER_BYTES)
        idle, blocked, replaying = FakeSocket(), FakeSocket(), FakeSocket()
        live(fanout, idle)
        live(fanout, blocked)
        fanout.add(replaying, None)
        blocked.state = "full"
        fanout.publish([message(1)])
        blocked.state = "room"
        fanout.close_all()
        assert (idle.ended, idle.aborted) == (True, False)
        assert (blocked.ended, blocked.aborted) == (False, True)
        assert (replaying.ended, replaying.aborted) == (False, True)
        assert len(fanout) == 0

    run(scenario)
