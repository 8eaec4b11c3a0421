"""The dashboard: the provider's Settings -> Webhooks screens, served by the fake under /dashboard.

:mod:`~lmif_mock.dashboard.app` routes and answers, :mod:`~lmif_mock.dashboard.views` renders,
:mod:`~lmif_mock.dashboard.html` holds the escaping building blocks and security headers,
:mod:`~lmif_mock.dashboard.sessions` the logins, :mod:`~lmif_mock.dashboard.timeline` a
delivery's retry schedule in time.
"""

from lmif_mock.dashboard.app import Dashboard
from lmif_mock.dashboard.html import PREFIX

__all__ = ["PREFIX", "Dashboard"]
