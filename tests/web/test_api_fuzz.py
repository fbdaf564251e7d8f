"""A bounded schemathesis run over every documented JSON operation: no input, with or without a
token, may be answered with a 5xx. The app runs in-process (ASGI) on the small demo city in a
SQLite file of its own; each operation gets FUZZ_EXAMPLES generated requests, each sent once
anonymously and once with a token holding every scope, so the run stays within about two minutes on
two cores. The OpenAPI document itself must validate (openapi-spec-validator) and describe the
errors in CityOS's error shape."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fuzz")]
FUZZ_EXAMPLES = int(os.environ.get("CITYOS_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def demo_api(demo_template: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from cityos.identity import service as identity
    from cityos.identity.permissions import SCOPE_PERMISSIONS
    from cityos.web.app import create_app

    with demo_template.copy(tmp_path_factory.mktemp("fuzz-city") / "home") as (config, ctx):
        app = create_app(settings=config, db=ctx.db)
        with ctx.db.transaction() as s:
            new = identity.create_token(
                session=s,
                actor=identity.SYSTEM,
                client="fuzz",
                scopes=sorted(SCOPE_PERMISSIONS),
                department_code="dsjj",
            )
        yield {"app": app, "token": new.token}


@pytest.fixture(scope="module")
def api_schema(demo_api: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_asgi("/api/openapi.json", demo_api["app"])


def test_the_openapi_document_validates_and_describes_errors(demo_api):
    from openapi_spec_validator import validate

    doc = demo_api["app"].openapi()
    validate(doc)
    assert "HTTPValidationError" not in str(doc)  # 422 is answered in our shape, documented so
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            assert responses["422"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if path.startswith("/api/v1/") and not path.endswith("/me") and path not in PUBLIC_API:
                assert {"401", "403"} <= set(responses), (method, path)


# JSON routes anyone may call without logging in: a licence's verification and the trust list (the
# QR code a holder shows is checked by whoever scans it, as the EU DCC's verifiers do), the 事项清单
# (the public service guide) and a service-hall ticket (taken at the hall's kiosk, its place in line
# and the day's figures on the hall's screen)
PUBLIC_API = {
    "/api/v1/licenses/verify",
    "/api/v1/licenses/trust-list",
    "/api/v1/services/items",
    "/api/v1/services/queue/{window_type}",
    "/api/v1/services/queue",
    "/api/v1/services/queue/tickets/{ticket_id}",
}


# Operations whose 5xx belong to a part of the tree not fixed yet: (method, path) -> why. Each is
# still fuzzed and reported; only its 5xx does not fail the run.
KNOWN_5XX: dict[tuple[str, str], str] = {}


def _strategy(operation: Any) -> Any:
    """Valid requests and, where the schema allows one, invalid ones (wrong types, out of range)."""
    from hypothesis import strategies as st
    from schemathesis.generation import GenerationMode

    modes = [operation.as_strategy(GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # an operation with nothing to make invalid
        modes.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(modes)


def _fuzz(operation: Any, token: str, failures: dict[tuple[str, str], str], statuses: Counter[int]) -> Any:
    """The hypothesis test of one operation: its 5xx go into `failures`, every status into `statuses`."""
    from hypothesis import given

    key = (operation.method.upper(), operation.path)

    @given(case=_strategy(operation))
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            sent = f"{case.formatted_path} query={case.query} body={str(case.body)[:200]} " + (
                "(token)" if headers else "(anonymous)"
            )
            try:
                response = case.call(headers=headers)
            except Exception as e:  # the in-process client re-raises what the app answered 500 for
                statuses[500] += 1
                failures.setdefault(key, f"{sent} -> 500 {type(e).__name__}: {str(e)[:300]}")
                return
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.setdefault(key, f"{sent} -> {response.status_code} {response.text[:300]}")
                return

    return run


def test_no_input_makes_a_server_error(api_schema, demo_api):
    """Each operation, FUZZ_EXAMPLES requests, each anonymous and with the all-scopes token."""
    failures: dict[tuple[str, str], str] = {}
    statuses: Counter[int] = Counter()
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) > 40  # every module's JSON routes are documented and fuzzed

    for operation in operations:
        _fuzz(operation, demo_api["token"], failures, statuses)()
    # the run reached the routes: answers, refusals and bad-input errors, not just one kind
    assert sum(n for code, n in statuses.items() if code < 300) > 50, statuses
    assert statuses[401] and statuses[422] and statuses[404], statuses
    print(f"fuzz: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    unexpected = {k: v for k, v in failures.items() if k not in KNOWN_5XX}
    assert unexpected == {}, "\n".join(f"{m} {p}: {why}" for (m, p), why in unexpected.items())
