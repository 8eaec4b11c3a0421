"""Delivery to a receiver that is a Python app in this process (WSGI or ASGI), no socket involved.

Each transport answers exactly as the HTTP one does, a :class:`~lmif_mock.exchanges.Response` or a
:class:`~lmif_mock.exchanges.TransportError`, so a test can move a receiver from a socket to
in-process without changing a single assertion. :func:`lmif_mock.transports.transport_for_app`
picks the one that fits an app.
"""
