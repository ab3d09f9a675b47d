"""`quorum explore SPEC`: step through a spec in the browser (a local page, no assets).

:mod:`quorum.explore.server` serves one static page (``page.html``, plain JavaScript) and
JSON endpoints over a model: a state is named by its *path*, the indexes of the successors
taken from the initial state, so the server keeps no session and every URL replays.
"""

from quorum.explore.server import Explorer, serve

__all__ = ["Explorer", "serve"]
