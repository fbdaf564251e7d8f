"""Password hashing cost: argon2id at RFC 9106's second recommended option unless the operator sets
CITYOS_ARGON2 (the test suite runs at the minimum cost, tests/conftest.py)."""

from __future__ import annotations

import pytest
from argon2 import Type, extract_parameters

from cityos.identity.service import password_hasher


def test_the_default_cost_is_rfc_9106s_second_option() -> None:
    h = password_hasher("")
    params = extract_parameters(h.hash("correct horse"))
    assert (params.type, params.time_cost, params.memory_cost, params.parallelism) == (Type.ID, 3, 65536, 4)


def test_an_operator_cost_is_used_and_old_hashes_still_verify_then_need_rehash() -> None:
    cheap = password_hasher("t=1,m=8,p=1")
    old = cheap.hash("s3cret-密码")
    assert extract_parameters(old).memory_cost == 8
    strong = password_hasher("t=2,m=1024,p=2")
    assert strong.verify(old, "s3cret-密码")  # a hash carries its own parameters
    assert strong.check_needs_rehash(old)  # and is rehashed at the configured cost on the next login
    assert extract_parameters(strong.hash("x")).time_cost == 2


@pytest.mark.parametrize("bad", ["t=0,m=8,p=1", "t=1,m=4,p=1", "x=1", "t=one", "t=1;m=8", "t=1,m=16,p=0"])
def test_a_bad_cost_is_refused_with_what_it_should_look_like(bad: str) -> None:
    with pytest.raises(ValueError, match="CITYOS_ARGON2"):
        password_hasher(bad)
