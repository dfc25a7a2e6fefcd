"""What the tests and the benches share to run the real product: one module per job.

    paths.py             ROOT, the checkout the hub and dashboard processes run in
    ports.py             free_port (a block of ports per pytest-xdist worker), bound_socket (port 0, bound here)
    netstat.py           listening_addresses: who listens on a port, read from /proc/net/tcp and tcp6
    waits.py             wait_until, answers, wait_answering: waiting on a condition or a server, never a sleep
    processes.py         stop_process: SIGTERM, a drain, then SIGKILL; descendants: every process below one;
                         cpu_seconds of one, chromium_cpu_seconds of the browser below this one
    http.py              HubClientMixin: a round, the messages, a metric, asked of any hub over HTTP
    web.py               httpx's one-call functions (get, post, ...) with the process's one TLS context
    hubs.py              InProcessHub (uvicorn in a thread), HubProcess (`python -m agentchat hub`), hub_env
    hub_forks.py         ForkedHub: `agentchat hub` forked from a server that imported the hub once (the suite's)
    sse.py               SseReader and its Event: one stream read in a thread, waited on with markers
    aging.py             age_messages: stored messages moved into the past, for retention
    roster.py            roster_file and TOKENS: the built-in agents beside two external ones
    dashboard_config.py  the dashboard's shipped config.toml, which an AppTest does not read
    apptest.py           the Streamlit AppTest helpers: a run until a condition, the board, an isolated session
    browser.py           Debian's Chromium and `Dashboard`, the dashboard as `streamlit run app.py`
    fuzzing.py           schemathesis's command line against a running hub
    fake_model.py        a tiny OpenAI-compatible model server
    market_replay.py     the books rebuilt from trade messages alone, and a simulation held in memory

The suite imports them as `tests.kit.<module>` (pytest's `pythonpath = ["."]`); a bench script puts the
checkout's root on `sys.path` first, as it does for `agentchat`. Nothing here is re-exported from this
package: an import line says which job it needs.
"""
