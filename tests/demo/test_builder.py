"""The demo city is deterministic and complete enough to log in as every role."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cityos.cases import service
from cityos.core import audit, clock
from cityos.core.db import use_db
from cityos.core.settings import load_settings, use_settings
from cityos.demo import builder
from cityos.geo.models import GridShape
from cityos.identity import service as identity
from cityos.identity.models import Region, User

# one worker builds this module's cities: the first one (module fixture) serves three tests
pytestmark = pytest.mark.xdist_group("demo-builder")


@pytest.fixture(scope="module")
def city_a(demo_template, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The small demo city (a private copy of the process's one): (its home, its context, its summary)."""
    home = tmp_path_factory.mktemp("demo-a") / "home"
    with demo_template.copy(home) as (_config, ctx):
        summary = _summary(ctx)
        yield home, ctx, summary


def _build(tmp_path, name, now):  # type: ignore[no-untyped-def]
    use_settings(load_settings({"CITYOS_HOME": str(tmp_path / name)}))
    try:
        ctx = builder.build(scale="small", now=now)
        summary = _summary(ctx)
        ctx.db.engine.dispose()
        return summary
    finally:
        use_db(None)
        use_settings(None)


def _summary(ctx):  # type: ignore[no-untyped-def]
    with clock.frozen(ctx.now), ctx.db.reader() as s:
        cases = service.list_cases(session=s, actor=ctx.user("leader"), limit=100_000, count_cap=None)
        summary = {
            "cases": [
                (c.number, c.state, c.category_code, c.department_id, c.light, c.reported_at)
                for c in cases.items
            ],
            "regions": s.scalar(select(func.count()).select_from(Region)),
            "grids": s.scalar(select(func.count()).select_from(GridShape)),
            "users": s.scalar(select(func.count()).select_from(User)),
            "first_names": [u.display_name for u in s.scalars(select(User).order_by(User.id).limit(5))],
            "audit_ok": audit.verify(s).ok,
            "with_worker": s.scalar(
                select(func.count()).select_from(GridShape).where(GridShape.grid_worker_id.is_not(None))
            ),
        }
        for role, (username, _d, _r) in builder.ACCOUNTS.items():
            p = identity.authenticate(session=s, username=username, password=builder.PASSWORDS[role])
            assert role in p.roles
    return summary


def test_small_demo_city_is_deterministic_and_complete(tmp_path, city_a):
    a = city_a[2]
    b = _build(tmp_path, "b", city_a[1].now)  # a second city at the first one's clock
    assert a == b  # the same city, and the same cases at the same steps, from the same seed
    assert len(a["cases"]) > 300
    assert a["grids"] == 300 and a["with_worker"] == 300 and a["audit_ok"]
    from cityos.demo.geometry import generate

    assert a["regions"] == 300 + len(generate("small").regions)  # every region and grid landed


def test_accounts_table_lists_every_role(city_a, capsys):
    home, ctx, _summary = city_a
    use_settings(load_settings({"CITYOS_HOME": str(home)}))
    outs = []
    for serving in (True, False):  # `cityos demo` and `cityos demo --no-serve` alike
        builder.print_accounts(ctx, "http://127.0.0.1:8000/", serving=serving)
        outs.append(capsys.readouterr().out)
    for out in outs:
        for role, password in builder.PASSWORDS.items():
            assert role in out and password in out
        assert "兰山区城市管理局" in out and "兰山区" in out  # departments and regions by name
        assert out.rstrip().endswith("http://127.0.0.1:8000/")  # the URL is the last thing printed
    assert "cityos serve" in outs[1]


def test_city_scale_geometry_has_linyis_published_grid_count():
    from cityos.demo.geometry import generate

    geo = generate("city")
    assert geo.grid_count == 12_387
    assert sorted({r.name for r in geo.regions if r.level == "district"}) == sorted(
        d[1] for d in builder_districts()
    )


def builder_districts():  # type: ignore[no-untyped-def]
    from cityos.demo.geometry import DISTRICTS

    return DISTRICTS


def test_keep_serves_the_existing_city_instead_of_rebuilding(city_a):
    home, _ctx, summary = city_a
    use_settings(load_settings({"CITYOS_HOME": str(home)}))
    users = summary["users"]
    try:
        use_db(None)
        kept = builder.build(scale="small", fresh=False)
        with kept.db.reader() as s:
            assert s.scalar(select(func.count()).select_from(User)) == users
        assert kept.notes and "kept the existing demo city" in kept.notes[0]
        kept.db.engine.dispose()
    finally:
        use_db(None)
        use_settings(None)
