"""asgi-app: a Starlette application whose HTTP routes come from modloader modules.

Run it with uvicorn: ``uvicorn asgi_app:app``. Modules are found in the
``asgi_app.modules`` entry-point group; see :mod:`asgi_app.app` for what the
application asks of them.
"""

from asgi_app.app import NAMESPACE
from asgi_app.app import Http
from asgi_app.app import create_app

__all__ = ["NAMESPACE", "Http", "app", "create_app"]

#: The application uvicorn serves (``uvicorn asgi_app:app``).
app = create_app()
