"""`ConnectGate`: at most `per_tick` stream connects do their work per event-loop iteration."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from agentchat.hub.pacing import ConnectGate
from agentchat.transport import shared_tls
from tests.kit.hubs import InProcessHub


def test_connects_beyond_the_slice_wait_for_later_iterations_in_arrival_order() -> None:
    async def scenario() -> list[tuple[int, int]]:
        gate = ConnectGate(per_tick=2)
        tick = [0]
        admitted: list[tuple[int, int]] = []
        running = True

        def count_ticks() -> None:
            tick[0] += 1
            if running:
                asyncio.get_running_loop().call_soon(count_ticks)

        async def connect(number: int) -> None:
            await gate.admit()
            admitted.append((number, tick[0]))

        asyncio.get_running_loop().call_soon(count_ticks)
        await asyncio.gather(*(connect(n) for n in range(7)))
        running = False
        assert gate.parked_total == 5 and len(gate) == 0
        return admitted

    admitted = asyncio.run(scenario())
    assert [number for number, _ in admitted] == list(range(7))
    per_tick: dict[int, int] = {}
    for _, tick in admitted:
        per_tick[tick] = per_tick.get(tick, 0) + 1
    assert max(per_tick.values()) <= 2 and len(per_tick) >= 4


def test_a_connect_that_leaves_while_waiting_takes_no_slot() -> None:
    async def scenario() -> list[str]:
        gate = ConnectGate(per_tick=1)
        order: list[str] = []

        async def connect(name: str) -> None:
            await gate.admit()
            order.append(name)

        tasks = {name: asyncio.ensure_future(connect(name)) for name in ("first", "leaves", "stays")}
        await asyncio.sleep(0)  # all three arrived: one admitted, two parked
        assert len(gate) == 2
        tasks["leaves"].cancel()
        await asyncio.wait_for(tasks["stays"], 5)
        assert len(gate) == 0 and gate.parked_total == 2
        return order

    assert asyncio.run(scenario()) == ["first", "stays"]


def test_the_stream_cap_holds_for_connects_that_waited_at_the_gate(
    start_hub: Callable[..., InProcessHub],
) -> None:
    """Connects parked by the gate are checked against the cap when their turn comes, not only on arrival."""
    cap, connects = 20, 150
    hub = start_hub(max_streams=cap, connects_per_tick=1)

    async def first_events() -> list[str]:
        unlimited = httpx.Limits(max_connections=None)
        async with httpx.AsyncClient(timeout=30, limits=unlimited, verify=shared_tls()) as client:

            async def first_event(opened: list[httpx.Response]) -> str:
                request = client.build_request("GET", f"{hub.url}/api/chat/stream")
                response = await client.send(request, stream=True)
                opened.append(response)
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        return line.removeprefix("event: ")
                return "closed"

            opened: list[httpx.Response] = []
            try:
                return list(await asyncio.gather(*(first_event(opened) for _ in range(connects))))
            finally:
                assert hub.app is not None
                held = len(hub.app.hub.fanout)
                for response in opened:
                    await response.aclose()
                assert held <= cap, f"{held} streams held with a cap of {cap}"

    events = asyncio.run(first_events())
    assert events.count("ready") == cap
    assert events.count("unavailable") == connects - cap
