"""What a person's server loads, and how it is configured.

- :mod:`backstage.singleuser.__main__` starts the server (``python -m backstage.singleuser``, the
  spawner's command) without JupyterLab's npm-registry lookup and without compiling a URI grammar
  nobody uses: the two cost ~1.4 s of the ~3 s of CPU a start took (see its docstring).
- :mod:`backstage.singleuser.labconfig` writes the configuration every server reads: which server
  extensions load, JupyterLab with no call to the internet that the person did not ask for (news,
  update check, extension manager), and a "Backstage" menu linking to the gallery and the share page.
- :mod:`backstage.singleuser.remix` is the server's side of the gallery's "Remix in my lab": it copies an
  approved dashboard's notebook into the person's home, as them (the gallery never writes to a server).
- This module is also a small server extension (``backstage.singleuser``, enabled by that
  configuration): it serves the remix page, re-checks the kernels' websocket sockets for missed zmq wake-ups
  (:mod:`backstage.zmq_wakeups`), and starts jupyter-collaboration's websocket server with the
  server, so that a server stopped before anyone opened a document stops quietly. jupyter_server_ydoc starts it
  lazily, on the first document, but always stops it at shutdown, and pycrdt-websocket raises
  ``RuntimeError: WebsocketServer not running`` (printed as a traceback) when it never started.
"""

from __future__ import annotations

import asyncio

__all__ = ["YDOC_EXTENSION"]

YDOC_EXTENSION = "jupyter_server_ydoc"
_TASKS: set[asyncio.Task] = set()  # a reference to the started server's task, so it is not collected


def _jupyter_server_extension_points():
    return [{"module": "backstage.singleuser"}]


def _start_collaboration_server(serverapp) -> None:
    ydoc = serverapp.extension_manager.extension_apps.get(YDOC_EXTENSION, set())
    for app in ydoc:
        server = getattr(app, "ywebsocket_server", None)
        if server is not None and not server.started.is_set():
            # the same call jupyter_server_ydoc's own room handler makes on the first document
            task = asyncio.ensure_future(server.start())
            _TASKS.add(task)
            task.add_done_callback(_TASKS.discard)


def _load_jupyter_server_extension(serverapp) -> None:
    from backstage import zmq_wakeups

    from .remix import add_handlers  # here, not at import: the hub imports this package for labconfig

    zmq_wakeups.install()  # the kernels' websockets: a missed zmq wake-up must not leave a message unread
    add_handlers(serverapp)
    # extensions load in name order (backstage.* before jupyter_server_ydoc), so wait for the loop
    serverapp.io_loop.add_callback(_start_collaboration_server, serverapp)
