"""GCJ-02 / BD-09 conversions against the reference values published with the widely used
coordtransform library (point 116.404, 39.915 in Beijing)."""

from __future__ import annotations

import pytest

from cityos.core.errors import Invalid
from cityos.geo import crs
from cityos.geo.service import distance_m

P = (116.404, 39.915)


def test_forward_transforms_match_the_published_values():
    assert crs.wgs84_to_gcj02(*P) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-12)
    assert crs.gcj02_to_bd09(*P) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-12)
    assert crs.bd09_to_gcj02(*P) == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-12)


def test_gcj02_inverse_is_within_a_metre_of_the_published_approximation_and_exact_round_trip():
    # the published one-step inverse is itself approximate (metre level); ours iterates to exact
    w = crs.gcj02_to_wgs84(*P)
    assert distance_m(*w, 116.39775550083061, 39.91359571849836) < 1.0
    assert crs.wgs84_to_gcj02(*w) == pytest.approx(P, abs=1e-9)


def test_to_wgs84_from_each_system_round_trips():
    # GCJ-02 is inverted iteratively (exact); the published BD-09 pair of formulas is not an exact
    # inverse of itself, good to about 0.1 m, which is far below what a phone's position means.
    for name, tolerance_m in (("gcj02", 0.01), ("bd09", 0.2)):
        there = crs.from_wgs84(118.356, 35.104, name)
        back = crs.to_wgs84(*there, name)
        assert distance_m(*back, 118.356, 35.104) < tolerance_m


def test_points_outside_china_are_not_offset():
    assert crs.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert crs.to_wgs84(2.35, 48.85, "gcj02") == (2.35, 48.85)


def test_bad_crs_and_coordinates_are_refused():
    with pytest.raises(Invalid) as e:
        crs.to_wgs84(118.0, 35.0, "mars")
    assert e.value.code == "bad_crs"
    with pytest.raises(Invalid) as e:
        crs.to_wgs84(218.0, 35.0)
    assert e.value.code == "bad_coordinates"
