"""The fake's own HTTP server: bounded connections, threads, time and memory, JSON refusals.

Its own package because it is a different job from the API it serves: it knows sockets, framing
and deadlines, never routes or the fake, so it can be read (and its limits checked) on its own,
and the API can be served by any WSGI server while this one guards the port.
"""
