"""The gunicorn application behind ``rrmm-cds serve`` (its own module: gunicorn is imported only
when a server is started, not by ``rrmm-cds --help``)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class ServiceApplication(BaseApplication):
    """gunicorn configured from Python: each worker builds its own app (no shared connections)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            # Settings newer than the installed gunicorn (e.g. the control socket, 23+) are skipped.
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from cds_service.app import create_app

        return create_app()
