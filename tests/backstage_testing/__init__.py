"""The test and benchmark harness of Government Backstage: a real lab, its people, kernels and browsers.

Installed with the project (``pip install -e .``), so tests and benchmarks import it alike, with no
``sys.path`` edits:

- :mod:`backstage_testing.lab`: ``running_lab(...)`` runs ``backstage up`` and yields a ``Lab``;
- :mod:`backstage_testing.kernel`: a kernel websocket client (jupyter_server's JSON protocol);
- :mod:`backstage_testing.browser`: Playwright on Debian's Chromium, sign-in through the pages, axe-core;
- :mod:`backstage_testing.loadsim`: simulated people for the hub load benchmark;
- :mod:`backstage_testing.dashboards`: publish a dashboard, watch the gallery's Voilà and its kernels;
- :mod:`backstage_testing.crowd`: a crowd of dashboard viewers over HTTP (the crowd benchmark and test).
"""
