"""The caps and deadlines the fake's server applies by default, in one place.

They are promises made in the README's "Security" section (and checked there by
``test_server.py::test_documented_limits_are_the_defaults``), so they are kept apart from the
code that enforces them: changing one is a change to what the project guarantees.
"""

from __future__ import annotations

#: Connections open at once; at the cap the stalest unfinished request makes room (else 503).
MAX_CONNECTIONS = 256
#: Threads answering complete requests.
WORKERS = 32
#: Seconds from connecting within which a request must arrive whole (else 408).
REQUEST_TIMEOUT_SECONDS = 10.0
#: Seconds a client may go without taking any of its answer before it is dropped.
WRITE_TIMEOUT_SECONDS = 10.0
#: Bytes of unfinished requests the loop holds in all; past it, bodies are read by a worker.
BUFFER_BUDGET_BYTES = 64 * 1024 * 1024

#: After an answer or a refusal, read (and drop) what the client still sends for this long, so
#: that it sees the answer rather than a connection reset.
LINGER_SECONDS = 2.0
#: How long stopping waits for answers being written.
STOP_GRACE_SECONDS = 2.0
