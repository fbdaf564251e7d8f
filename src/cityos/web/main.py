"""ASGI entry point for `cityos serve` / uvicorn: `cityos.web.main:app`."""

from cityos.core.audit import SequencerThread
from cityos.core.settings import get_settings
from cityos.web.app import create_app

app = create_app()
# Audit entries are sequenced off the request path; without a worker (CITYOS_AUDIT_SEQUENCER=worker
# says there is one) every app process runs a sequencer thread, and the lock lets one work at a time.
if get_settings().audit_sequencer != "worker":
    SequencerThread(app.state.db).start()
