"""Prometheus metrics for `/metrics`, through prometheus-client.

The fan-out keeps plain integer counters on its hot path (`FanoutStats`); a custom
collector turns them into Prometheus families only when `/metrics` is scraped, so a
delivery never pays for a metrics call. Each hub app has its own registry, so several
apps in one process (tests) never share or collide.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agentchat.hub.fanout import Fanout
from agentchat.hub.pacing import ConnectGate
from agentchat.hub.resume import ResumeCounts

__all__ = ["CONTENT_TYPE", "HubMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _FanoutCollector(Collector):
    def __init__(self, fanout: Fanout, resumes: ResumeCounts, gate: ConnectGate) -> None:
        self._fanout = fanout
        self._resumes = resumes
        self._gate = gate

    def collect(self) -> Iterator[Metric]:
        stats = self._fanout.stats
        yield GaugeMetricFamily("agentchat_clients_connected", "Open SSE streams on this hub", value=len(self._fanout))
        yield CounterMetricFamily(
            "agentchat_clients_connections", "SSE streams opened since start", value=stats.connected_total
        )
        yield CounterMetricFamily(
            "agentchat_stream_connects_at_once",
            "SSE streams the server's protocol opened in one step, with no ASGI request task"
            " (the rest of agentchat_clients_connections took the ASGI route)",
            value=stats.connected_at_once,
        )
        yield CounterMetricFamily(
            "agentchat_messages_published", "Messages handed to this hub's fan-out", value=stats.published
        )
        yield CounterMetricFamily(
            "agentchat_messages_delivered", "Message frames written to SSE streams", value=stats.delivered
        )
        yield CounterMetricFamily(
            "agentchat_clients_dropped_slow",
            "SSE streams cut off because they did not read",
            value=stats.dropped_slow,
        )
        yield GaugeMetricFamily(
            "agentchat_backlog_bytes",
            "Bytes waiting for streams whose sockets are full",
            value=sum(subscriber.backlog_bytes for subscriber in self._fanout.subscribers),
        )
        yield CounterMetricFamily(
            "agentchat_heartbeats", "Heartbeat frames written to SSE streams", value=stats.heartbeats
        )
        resumes = CounterMetricFamily(
            "agentchat_stream_resumes",
            "SSE streams resumed with Last-Event-ID, by where the replay came from: window (memory), "
            "store (a read of its own), store_shared (a read shared with identical concurrent resumes)",
            labels=["source"],
        )
        resumes.add_metric(["window"], self._resumes.window)
        resumes.add_metric(["store"], self._resumes.store)
        resumes.add_metric(["store_shared"], self._resumes.store_shared)
        yield resumes
        yield CounterMetricFamily(
            "agentchat_stream_connects_paced",
            "SSE connects that waited for a later event-loop iteration (AGENTCHAT_CONNECTS_PER_TICK)",
            value=self._gate.parked_total,
        )


class HubMetrics:
    """The registry of one hub and the counters that routes increment."""

    def __init__(self, fanout: Fanout, resumes: ResumeCounts, gate: ConnectGate) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_FanoutCollector(fanout, resumes, gate))
        self.generate_requests = Counter(
            "agentchat_generate_requests",
            "POST /api/chat/generate requests by response status",
            ["status"],
            registry=self.registry,
        )
        self.streams_refused = Counter(
            "agentchat_streams_refused",
            "SSE streams told to come back later (event: unavailable) by reason: full, store",
            ["reason"],
            registry=self.registry,
        )
        self.stream_cap = Gauge(
            "agentchat_stream_cap",
            "SSE streams this hub accepts at most (AGENTCHAT_MAX_STREAMS)",
            registry=self.registry,
        )
        self.connections_refused = Counter(
            "agentchat_connections_refused",
            "Connections closed before a request was read, by reason: head_too_large, head_timeout,"
            " over_budget (the longest-waiting idle connection, when the descriptor budget is reached)",
            ["reason"],
            registry=self.registry,
        )
        for reason in ("head_too_large", "head_timeout", "over_budget"):
            self.connections_refused.labels(reason)
        self.llm_failures = Counter(
            "agentchat_llm_failures",
            "LLM calls that failed or timed out (the offline generator wrote that message)",
            registry=self.registry,
        )
        self.llm_decisions_invalid = Counter(
            "agentchat_llm_decisions_invalid",
            "model decisions not used (no answer, a rule broken, the bar moved): the engine decided",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
