"""Case lists with a long history: keyset pages (`after`) visit every case exactly once, newest
first, in the viewer's scope; the total is counted up to a cap and says so — on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cityos.cases import service
from cityos.cases.models import Case
from cityos.core import clock
from cityos.core.errors import Invalid

GRIDS = ("37130200100101", "37131100100101")  # 兰山区, 罗庄区
STATES = ("reported", "filed", "handling", "closed")


@pytest.fixture
def history(city, db):  # type: ignore[no-untyped-def]
    """60 cases over two districts and four states; every third shares its reported_at with the
    one before it, so the order needs the id as well."""
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
        start = clock.now() - timedelta(days=3)
        for i in range(60):
            at = start + timedelta(minutes=i - (1 if i % 3 == 2 else 0))
            s.add(
                Case(
                    number=f"L{i:06d}",
                    category_code="E0402",
                    channel="hotline",
                    state=STATES[i % 4],
                    urgency="normal",
                    description="历史案卷",
                    address="",
                    grid_code=GRIDS[i % 2],
                    region_code=GRIDS[i % 2],
                    department_id=city.departments["ls-cgj"] if i % 3 == 0 else None,
                    reported_at=at,
                    stage_started_at=at,
                )
            )
    return city


def all_pages(db, actor, limit, **kw):  # type: ignore[no-untyped-def]
    seen, after = [], None
    while True:
        with db.reader() as s:
            page = service.list_cases(session=s, actor=actor, limit=limit, after=after, **kw)
        seen.extend(page.items)
        if page.next_after is None:
            return seen
        after = page.next_after


def newest_first(items):  # type: ignore[no-untyped-def]
    return sorted(items, key=lambda c: (c.reported_at, c.id), reverse=True)


@pytest.mark.parametrize(
    ("role", "filters"),
    [
        ("admin", {}),
        ("admin", {"states": ("reported", "filed")}),  # a queue: one index range per state, merged
        ("admin", {"state": "handling"}),
        ("inspector", {"states": ("reported", "filed", "handling")}),  # 兰山区's inspector
        ("inspector", {}),
        ("handler", {"states": ("handling", "closed")}),  # 兰山区's 城管局
        ("handler", {}),
    ],
)
def test_keyset_pages_cover_every_case_exactly_once(history, db, role, filters):
    actor = history.as_role(role)
    with db.reader() as s:
        everything = service.list_cases(session=s, actor=actor, limit=500, count_cap=None, **filters)
    assert everything.total_exact and everything.total == len(everything.items) > 0
    for limit in (1, 7, 15):
        seen = all_pages(db, actor, limit, **filters)
        assert [c.id for c in seen] == [c.id for c in newest_first(everything.items)]
        assert len({c.id for c in seen}) == len(seen)
    if role == "inspector":  # the district's scope holds on every page
        assert {c.region_code for c in everything.items} == {GRIDS[0]}
    if role == "handler":  # and the department's
        assert {c.department_id for c in everything.items} == {history.departments["ls-cgj"]}


def test_offset_pages_still_work_and_agree_with_keyset(history, db):
    actor = history.as_role("admin")
    with db.reader() as s:
        first = service.list_cases(session=s, actor=actor, limit=10, states=("reported", "closed"))
        second = service.list_cases(
            session=s, actor=actor, limit=10, offset=10, states=("reported", "closed")
        )
        keyset = service.list_cases(
            session=s, actor=actor, limit=10, after=first.next_after, states=("reported", "closed")
        )
    assert [c.id for c in second.items] == [c.id for c in keyset.items]


def test_total_is_counted_up_to_the_cap_and_says_so(history, db):
    actor = history.as_role("admin")
    with db.reader() as s:
        capped = service.list_cases(session=s, actor=actor, limit=10, count_cap=25)
        exact = service.list_cases(session=s, actor=actor, limit=10, count_cap=None)
        under = service.list_cases(session=s, actor=actor, limit=10, count_cap=100)
        one_page = service.list_cases(session=s, actor=actor, limit=100, count_cap=5)
        uncounted = service.list_cases(session=s, actor=actor, limit=10, count_cap=0)
        last = service.list_cases(session=s, actor=actor, limit=10, offset=55, count_cap=5)
    assert (capped.total, capped.total_exact) == (25, False)
    assert (exact.total, exact.total_exact) == (60, True)
    assert (under.total, under.total_exact) == (60, True)
    assert (one_page.total, one_page.total_exact) == (60, True)  # the whole list on one page: no count
    assert (uncounted.total, uncounted.total_exact) == (10, False)
    assert (last.total, last.total_exact, len(last.items), last.next_after) == (60, True, 5, None)


def test_a_cursor_that_is_not_ours_is_refused(history, db):
    with db.reader() as s, pytest.raises(Invalid) as e:
        service.list_cases(session=s, actor=history.as_role("admin"), after="yesterday")
    assert e.value.code == "bad_cursor"


def test_region_prefix_ranges_match_like(history, db):
    """The index range of a prefix holds exactly the codes that start with it, also after a 9."""
    from sqlalchemy import literal, select

    codes = ["3713", "37139", "371399", "3714", "37140", "3712999", "37139a"]
    with db.reader() as s:
        for prefix in ("3713", "37139", "3719", "9", "99"):
            got = {
                c
                for c in codes
                if s.scalar(select(service._code_prefix(literal(c), prefix)))  # the SQL, not Python
            }
            assert got == {c for c in codes if c.startswith(prefix)}, prefix
