"""The dashboard: the provider's Settings -> Webhooks screens, served by the fake under /dashboard.

:mod:`~lmif_mock.http.dashboard.app` routes and answers,
:mod:`~lmif_mock.http.dashboard.views` renders, :mod:`~lmif_mock.http.dashboard.html` holds the
escaping building blocks and security headers, :mod:`~lmif_mock.http.dashboard.sessions` the
logins, :mod:`~lmif_mock.http.dashboard.timeline` a delivery's retry schedule in time.
"""

from lmif_mock.http.dashboard.app import Dashboard
from lmif_mock.http.dashboard.html import PREFIX

__all__ = ["PREFIX", "Dashboard"]
