"""The DuckDB validators agree with python-stdnum value by value, and dates parse in every
spelling government files use. Thousands of values go through one query per format."""

from __future__ import annotations

import datetime
import random

import duckdb
import pyarrow as pa
import pytest
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidComponent, ValidationError

from cityos.catalog import formats

FULL_WIDTH = "０１２３４５６７８９"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
NOISE = "0123456789Xx IOZSVabc-—\u3000\t" + FULL_WIDTH + "\U0001d7ce\ufb00\ufb02"


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    formats.register(con)
    return con


def run(con: duckdb.DuckDBPyConnection, sql_of, values: list[str | None]) -> list:
    con.register("vals", pa.table({"i": list(range(len(values))), "v": pa.array(values, pa.string())}))
    try:
        return [row[0] for row in con.execute(f"SELECT {sql_of('v')} FROM vals ORDER BY i").fetchall()]
    finally:
        con.unregister("vals")


def assert_agrees(con, fmt: str, reference, values: list[str]) -> None:
    got = run(con, lambda col: formats.check_expr(fmt, col), values)
    for value, answer in zip(values, got, strict=True):
        expected = reference(value)
        assert answer is expected, f"{fmt} {value!r}: DuckDB says {answer}, stdnum says {expected}"


def division_codes() -> list[str]:
    return [p + c for _l, p, _h, _pr, kids in numdb.get("cn/loc").prefixes for _l2, c, _h2, _p2, _k in kids]


AREAS = frozenset(division_codes())


def ric_reference(value: str) -> bool:
    """stdnum.cn.ric.is_valid with ONE difference, on purpose: the area (first six digits) may be
    a county code of any year, where stdnum wants one that existed in the birth year. GB 11643-1999
    (5.2, 地址码) defines the area as the county of household registration (常住户口所在县) when
    the number was assigned, not the place of birth, and 居民身份证法 第三条 makes the number
    终身不变, so people born before their county's code existed carry it (test below)."""
    try:
        ric.validate(value)
        return True
    except ValidationError as exc:
        if not isinstance(exc, InvalidComponent):
            return False
    except KeyError:  # stdnum raises for a known province with an unknown county: not valid
        return False
    # InvalidComponent: a bad birth date or a birth place; only the place is judged differently
    number = ric.compact(value)
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return False
    return number[:6] in AREAS


def mutate(rng: random.Random, value: str) -> str:
    i = rng.randrange(len(value))
    match rng.randrange(4):
        case 0:
            return value[:i] + rng.choice(NOISE) + value[i + 1 :]
        case 1:
            return value[:i] + value[i + 1 :]
        case 2:
            return value[:i] + rng.choice(NOISE) + value[i:]
        case _:
            return value[:i] + value[i].lower() + value[i + 1 :]


def random_ric(rng: random.Random, codes: list[str]) -> str:
    born = datetime.date(1890, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 150))
    body = rng.choice(codes) + born.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def with_check(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


def test_resident_id_agrees_with_stdnum(con):
    rng = random.Random(11643)
    codes = division_codes()
    valid = [random_ric(rng, codes) for _ in range(3000)]
    values = valid + [mutate(rng, v) for v in valid]
    values += ["".join(rng.choice(NOISE) for _ in range(rng.choice([17, 18, 19]))) for _ in range(1000)]
    values += [
        "360426199101010071",
        "36042619910101007",
        "3604261991010100710",
        " 360426199101010071 ",
        "\u3000360426199101010071\t",
        "360426 199101010071",
        "３６０４２６１９９１０１０１００７１",
        with_check("11010519491231002").lower(),
        with_check("11010519491231002").replace("X", "x"),
        with_check("11010119000101001"),  # 1900-01-01
        with_check("11010120990101001"),  # in the future: stdnum does not mind
        with_check("11010120000229001"),  # leap year
        with_check("11010119000229001"),  # 1900 is not a leap year
        with_check("11010120230229001"),
        with_check("11010100000101001"),  # year 0
        with_check("11010119901301001"),
        with_check("11010119900100001"),
        with_check("11999919900101001"),  # known province, unknown county
        with_check("99000019900101001"),  # unknown province
        with_check("11010320100101001"),  # 崇文区 existed until 2010
        with_check("11010320110101001"),  # ... and its numbers are still carried after
        with_check("11011119850101001"),  # 房山区 only from 1986: a 1985 birth registered later
        with_check("51140219960101001"),  # a code with two ranges and a gap
        with_check("51140219990101001"),
        "",
        "X" * 18,
    ]
    assert any(ric_reference(v) for v in values) and not all(ric_reference(v) for v in values)
    assert_agrees(con, "cn-resident-id", ric_reference, values)


def random_uscc(rng: random.Random) -> str:
    body = "".join(rng.choice("0123456789") for _ in range(8))
    body += "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def test_uscc_agrees_with_stdnum(con):
    rng = random.Random(32100)
    valid = [random_uscc(rng) for _ in range(3000)]
    values = valid + [mutate(rng, v) for v in valid]
    values += ["".join(rng.choice(NOISE + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(18)) for _ in range(1000)]
    for letter in "IOZSV":
        body = "91110000" + letter + "00037341"
        values += [body + c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"]
    values += [
        "91110000600037341L",
        "91110000600037341l",
        "9 1 110000 600037341L",
        "91-110000-600037341L",
        " 91110000600037341L\t",
        "９１１１００００600037341L",
        "A1110000600037341L",
        "9111000060003734",
        "91110000600037341LL",
        "",
    ]
    # ligatures whose upper case is two or three alphabet letters
    for lig, up in (("\ufb00", "FF"), ("\ufb02", "FL"), ("\ufb04", "FFL")):
        body = "91110000" + up + "0" * (9 - len(up))
        values.append("91110000" + lig + body[8 + len(up) :] + uscc.calc_check_digit(body))
    assert any(uscc.is_valid(v) for v in values) and not all(uscc.is_valid(v) for v in values)
    assert_agrees(con, "cn-uscc", uscc.is_valid, values)


def test_division_code_must_be_in_stdnum_list(con):
    known = set(division_codes())
    rng = random.Random(2260)
    values = [f"{rng.randrange(1_000_000):06d}" for _ in range(3000)] + rng.sample(sorted(known), 1000)
    values += [v + "001" for v in values[-10:]] + [v + "001002" for v in values[-10:]]
    values += ["371302", " 371302 ", "37130", "3713020", "3713020011", "371302001002003", "37130a", ""]

    def reference(value: str) -> bool:
        v = value.strip()
        return v.isascii() and v.isdigit() and len(v) in (6, 9, 12) and v[:6] in known

    assert_agrees(con, "cn-division-code", reference, values)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("13800138000", True),
        ("19912345678", True),
        ("+8613800138000", True),
        ("8613800138000", True),
        ("008613800138000", True),
        ("+86 13800138000", True),
        ("+86-13800138000", True),
        (" 13800138000 ", True),
        ("12800138000", False),
        ("1380013800", False),
        ("138001380000", False),
        ("+8513800138000", False),
        ("138 0013 8000", False),
        ("1380013800a", False),
        ("", False),
    ],
)
def test_mobile(con, value, valid):
    assert run(con, lambda col: formats.check_expr("cn-mobile", col), [value]) == [valid]


def test_null_stays_null(con):
    for fmt in formats.FORMATS:
        assert run(con, lambda col, fmt=fmt: formats.check_expr(fmt, col), [None]) == [None]


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format"):
        formats.check_expr("cn-passport", "v")


DATES = [
    ("2026-11-23", datetime.date(2026, 11, 23)),
    ("2026/11/23", datetime.date(2026, 11, 23)),
    ("2026.11.23", datetime.date(2026, 11, 23)),
    ("20261123", datetime.date(2026, 11, 23)),
    ("2026年11月23日", datetime.date(2026, 11, 23)),
    ("2026年1月3日", datetime.date(2026, 1, 3)),
    ("2026-1-3", datetime.date(2026, 1, 3)),
    ("2026/1/3", datetime.date(2026, 1, 3)),
    (" 2026-11-23 ", datetime.date(2026, 11, 23)),
    ("2024-02-29", datetime.date(2024, 2, 29)),
    ("2026-11-23 00:00:00", datetime.date(2026, 11, 23)),
    ("2026-02-30", None),
    ("2026-02-29", None),
    ("1900-02-29", None),
    ("2026-13-01", None),
    ("2026-11-32", None),
    ("2026-00-10", None),
    ("2026-11/23", None),
    ("2026113", None),
    ("202611231", None),
    ("26-11-23", None),
    ("2026年11月23", None),
    ("2026-11-23 08:30", None),  # a time that is not midnight is not a date
    ("23/11/2026", None),
    ("", None),
    ("not a date", None),
]


def test_dates_in_every_government_spelling(con):
    got = run(con, formats.date_expr, [v for v, _ in DATES])
    for (value, expected), answer in zip(DATES, got, strict=True):
        assert answer == expected, f"{value!r}: got {answer}, expected {expected}"


DATETIMES = [
    ("2026-11-23 08:30:00", datetime.datetime(2026, 11, 23, 8, 30)),
    ("2026/11/23 8:30", datetime.datetime(2026, 11, 23, 8, 30)),
    ("2026-11-23T08:30:15", datetime.datetime(2026, 11, 23, 8, 30, 15)),
    ("2026-11-23 08:30:15.250", datetime.datetime(2026, 11, 23, 8, 30, 15, 250000)),
    ("2026年11月23日 8:30", datetime.datetime(2026, 11, 23, 8, 30)),
    ("2026.1.3 23:59:59", datetime.datetime(2026, 1, 3, 23, 59, 59)),
    ("20261123 08:30", datetime.datetime(2026, 11, 23, 8, 30)),
    ("2026-11-23", datetime.datetime(2026, 11, 23)),
    ("2026-11-23 24:00", None),
    ("2026-11-23 08:60", None),
    ("2026-02-30 08:30", None),
    ("2026-11-23 8", None),
    ("2026-11-23 08:30 PM", None),
]


def test_datetimes(con):
    got = run(con, formats.datetime_expr, [v for v, _ in DATETIMES])
    for (value, expected), answer in zip(DATETIMES, got, strict=True):
        assert answer == expected, f"{value!r}: got {answer}, expected {expected}"


def uscc_reference(value: str) -> bool:
    try:
        return uscc.is_valid(value)
    except ValueError:  # stdnum raises for a newline among the first 8 characters: not valid
        return False


def test_vectorised_and_stdnum_paths_agree_with_nulls_slices_and_chunks(con):
    """Clean 18-character values take the vectorised path (whole vectors of one length are a view
    of the bytes; mixed lengths are gathered), values stdnum's clean-up changes go to stdnum, and
    NULLs stay NULL wherever they fall, through SQL and on sliced and chunked Arrow arrays."""
    rng = random.Random(2048)
    codes = division_codes()
    clean_ric = [random_ric(rng, codes) for _ in range(5000)]
    clean_uscc = [random_uscc(rng) for _ in range(5000)]
    # a newline before the check character passes stdnum's digit test and its base-13 sum
    newline_ric = [v[:16] + "\n" + v[17] for v in clean_ric[:50]]
    for fmt, function, reference, clean_values, odd in (
        ("cn-resident-id", formats.resident_id_valid, ric_reference, clean_ric, newline_ric),
        (
            "cn-uscc",
            formats.uscc_valid,
            uscc_reference,
            clean_uscc,
            ["9111000\n600037341L", "91110000600037341l"],
        ),
    ):
        mixed: list[str | None] = [
            rng.choice([v, mutate(rng, v), v.lower(), f" {v}", None]) for v in clean_values[:3000]
        ]
        mixed += odd
        for values in (clean_values, mixed, [None] * 10 + clean_values[:3000], [*mixed[:1], None]):
            expected = [None if v is None else reference(v) for v in values]
            assert run(con, lambda col, fmt=fmt: formats.check_expr(fmt, col), values) == expected
            array = pa.array([None, *values, None], pa.string())
            assert function(array.slice(1, len(values))).to_pylist() == expected
            chunks = pa.chunked_array(
                [
                    array.slice(1, len(values) // 2),
                    array.slice(1 + len(values) // 2, len(values) - len(values) // 2),
                ]
            )
            assert function(chunks).to_pylist() == expected
            assert function(pa.array(values, pa.large_string())).to_pylist() == expected
    assert any(ric_reference(v) for v in newline_ric)


def test_dates_fast_and_spelled_paths_with_nulls(con):
    values = [v for v, _ in DATES] * 100 + [None] * 7
    random.Random(8).shuffle(values)
    expected = dict(DATES)
    got = formats.parse_dates(pa.array(values, pa.string())).to_pylist()
    assert got == [None if v is None else expected[v] for v in values]
    padded = ["2026-11-23", "2026/11/23", "2026.11.23", "20261123", "2026年11月23日"] * 500
    assert set(run(con, formats.date_expr, padded)) == {datetime.date(2026, 11, 23)}
    # 0000 is read as DuckDB reads it (1 BC, a leap year); years before 1 do not fit Python's date
    got = run(
        con,
        lambda col: f"CAST({formats.date_expr(col)} AS VARCHAR)",
        ["0000-02-29", "00000229", "0001-02-29", None],
    )
    assert got == ["0001-02-29 (BC)", "0001-02-29 (BC)", None, None]


def test_register_twice_on_one_connection():
    con = duckdb.connect()
    formats.register(con)
    formats.register(con)
    sql = formats.check_expr("cn-uscc", "'91110000600037341L'")
    assert con.execute(f"SELECT {sql}").fetchone() == (True,)


# Residents of 兰山区, 临沂 (371302, a code created in 1994 when 临沂 became a prefecture-level
# city), born 1950-1989: real-looking numbers, as a 1999 re-issue gave them.
LINYI = [
    with_check(f"371302{born}{serial:03d}")
    for born, serial in (
        ("19520314", 12),
        ("19580721", 231),
        ("19630105", 57),
        ("19671130", 318),
        ("19700802", 444),
        ("19740419", 91),
        ("19781225", 602),
        ("19810607", 133),
        ("19850916", 275),
        ("19890228", 806),
    )
]


def test_residents_born_before_their_countys_code_existed_are_accepted(con):
    """The one place we differ from stdnum (which rejects all of these): the clause above."""
    assert not any(ric.is_valid(v) for v in LINYI)  # stdnum's false rejection
    assert run(con, lambda col: formats.check_expr("cn-resident-id", col), LINYI) == [True] * len(LINYI)
    assert run(con, lambda col: formats.reason_expr("cn-resident-id", col), LINYI) == [None] * len(LINYI)


def test_the_report_says_which_rule_a_resident_id_breaks(con):
    good = LINYI[0]
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    cases = [
        (good, None),
        (" " + good.lower(), None),  # stdnum's clean-up still applies
        (wrong_check, "id_check"),
        (with_check("37130219900230001"), "id_date"),  # 30 February
        (with_check("37130219901301001"), "id_date"),
        (with_check("37139919900101001"), "id_area"),  # no county 371399 in any year
        (with_check("99000019900101001"), "id_area"),
        ("371302560314121", "id_15"),  # first-generation number: refused with its own message
        ("37130219520314012", "id_length"),
        ("3713021952031401234", "id_length"),
        ("", "id_length"),
        ("37130219520314A12X", "id_characters"),
        ("３７１３０２１９５２０３１４０１２" + good[17], None),  # full-width digits: stdnum cleans them
        ("37130219520314012Y", "id_characters"),
        (None, None),
    ]
    got = run(con, lambda col: formats.reason_expr("cn-resident-id", col), [v for v, _ in cases])
    assert got == [why for _, why in cases]
    valid = run(con, lambda col: formats.check_expr("cn-resident-id", col), [v for v, _ in cases])
    assert valid == [None if v is None else why is None for v, why in cases]
