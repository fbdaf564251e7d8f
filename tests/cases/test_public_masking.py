"""People type phone and ID numbers into a report's description and address, and handlers into the
result they report back; the public (the public case page and every Open311 answer) sees them
masked (138****5678), staff see them as typed."""

from __future__ import annotations

import pytest

from cityos.cases import service
from cityos.cases.policy import mask_personal
from cityos.cases.schemas import ReportIn

MOBILE, SPACED, DASHED = "13812345678", "139 8765 4321", "137-1111-2222"
LANDLINE, ID18, ID15 = "0539-8123456", "37130219900101123X", "371302900101123"
DESCRIPTION = f"井盖缺失，请联系{MOBILE}或{SPACED}，身份证{ID18}"
ADDRESS = f"兰山区金雀山路8号（门卫{DASHED}，座机{LANDLINE}）"
RESULT = f"已修复，回访电话{MOBILE}，旧证号{ID15}"
SECRETS = (MOBILE, SPACED, DASHED, LANDLINE, "8123456", ID18, ID15, "12345678", "87654321")


@pytest.mark.parametrize(
    ("text", "public"),
    [
        (MOBILE, "138****5678"),
        (SPACED, "139****4321"),
        (DASHED, "137****2222"),
        ("+86 13812345678", "138****5678"),
        (LANDLINE, "0539-*****56"),
        ("（0539）81234567", "0539-******67"),
        ("010-62345678", "010-******78"),
        (ID18, "371***********123X"),
        (ID15, "371********1123"),
        # not personal numbers: left as they are
        ("案件号20261201000123", "案件号20261201000123"),
        ("2026-12-01 10:30", "2026-12-01 10:30"),
        ("金额12000元，18号楼", "金额12000元，18号楼"),
        ("13812345678901", "13812345678901"),
    ],
)
def test_mask_personal(text: str, public: str) -> None:
    assert mask_personal(text) == public


@pytest.fixture
def handled(city, db):  # type: ignore[no-untyped-def]
    d, h = city.as_role("dispatcher"), city.as_role("handler")
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
        case = service.report_case(
            session=s,
            actor=city.as_role("citizen"),
            report=ReportIn(
                category_code="E0402",
                description=DESCRIPTION,
                channel="citizen",
                lon=118.351234,
                lat=35.051987,
                address=ADDRESS,
            ),
        )
        for actor, action, reason in (
            (d, "file", ""),
            (d, "dispatch", ""),
            (h, "accept", ""),
            (h, "report_back", RESULT),
        ):
            service.transition(
                session=s,
                actor=actor,
                case_id=case.id,
                action=action,
                reason=reason,
                department_code="ls-cgj",
            )
    return case


def test_the_public_sees_personal_numbers_masked(handled, client):  # type: ignore[no-untyped-def]
    n = handled.number
    texts = {
        "page": client.get(f"/p/cases/{n}").text,
        "json": client.get(f"/open311/v2/requests/{n}.json", params={"extensions": "true"}).text,
        "xml": client.get(f"/open311/v2/requests/{n}.xml", params={"extensions": "true"}).text,
        "list": client.get("/open311/v2/requests.json", params={"extensions": "true"}).text,
        "updates": client.get("/open311/v2/servicerequestupdates.json").text,
    }
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, (where, secret)
    js = client.get(f"/open311/v2/requests/{n}.json", params={"extensions": "true"}).json()[0]
    assert js["description"] == "井盖缺失，请联系138****5678或139****4321，身份证371***********123X"
    assert js["address"] == "兰山区金雀山路8号（门卫137****2222，座机0539-*****56）"
    assert js["status_notes"] == "已修复，回访电话138****5678，旧证号371********1123"
    assert "138****5678" in texts["page"] and "0539-*****56" in texts["page"]
    assert "138****5678" in texts["updates"]


def test_staff_see_the_text_as_typed(handled, city, client):  # type: ignore[no-untyped-def]
    city.login(client, "dispatcher")
    page = client.get(f"/cases/{handled.id}").text
    assert MOBILE in page and ID18 in page
