"""Record linkage where a key is missing or dirty (enterprise names without USCC, old 15-digit IDs,
name + birth date + address only).

Two steps, per link definition:
1. exact: resident IDs are normalised first (GB 11643: 15 digits upgraded to 18, bad check
   characters dropped, `ids.normalise`); records whose normalised IDs are equal are linked outright;
2. probabilistic: the rest go through Splink (Fellegi–Sunter) on DuckDB in-process, or on Spark
   (`engine="spark"`: the cross-checks' SparkSession, with the string-similarity UDF jar that ships
   inside the splink wheel on its classpath — nothing fetched) with the link's blocking rules and
   comparisons; a pair at or above `match` is a link, a pair between
   `review` and `match` goes to a data steward (`LinkPair`, state pending), below is no link.
The parameters are estimated on the data itself (u by random sampling, m by EM on each blocking
rule); nothing is downloaded.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.core import audit, clock
from cityos.core.errors import Invalid, NotFound
from cityos.identity.permissions import authorize
from cityos.identity.schemas import Principal
from cityos.registries.ids import normalise
from cityos.registries.models import LinkPair


@dataclass(frozen=True)
class LinkDef:
    code: str
    name: str
    blocking: list[list[str]]  # each: columns that must be equal for a pair to be compared
    names: list[str] = field(default_factory=lambda: ["name"])  # compared by Jaro-Winkler
    exact: list[str] = field(default_factory=list)  # compared for equality
    fuzzy: list[str] = field(default_factory=list)  # compared by Levenshtein (addresses)
    match: float = 0.95
    review: float = 0.6
    id_column: str = "id_number"


PEOPLE = LinkDef(
    code="people",
    name="人员记录关联（无证件号或旧证件号）",
    blocking=[["birth_date", "gender"], ["name", "division"]],
    names=["name"],
    exact=["birth_date", "gender", "division"],
    fuzzy=["address"],
)


@dataclass
class Linked:
    pairs: list[tuple[str, str, float, str]]  # left id, right id, probability, how (id|model)
    review: list[tuple[str, str, float]]

    @property
    def links(self) -> set[tuple[str, str]]:
        return {(a, b) for a, b, _p, _h in self.pairs}


def _settings(d: LinkDef) -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons: list[Any] = [cl.JaroWinklerAtThresholds(c, [0.92, 0.8]) for c in d.names]
    comparisons += [cl.ExactMatch(c) for c in d.exact]
    comparisons += [cl.LevenshteinAtThresholds(c, [2, 5]) for c in d.fuzzy]
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="rid",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in d.blocking],
        retain_intermediate_calculation_columns=False,
    )


def _api(engine: str) -> Any:
    if engine == "spark":
        from splink.backends.spark import SparkAPI

        from cityos.registries.engines import spark_session

        spark = spark_session()
        # lineage broken by caching (no checkpoint directory to configure or clean up)
        return SparkAPI(
            spark_session=spark,
            break_lineage_method="persist",
            num_partitions_on_repartition=spark_partitions(spark),
        )
    if engine == "duckdb":
        from splink.backends.duckdb import DuckDBAPI

        return DuckDBAPI()
    raise Invalid(
        "Unknown engine {engine}: duckdb or spark",
        field="engine",
        code="bad_engine",
        params={"engine": engine},
    )


def spark_partitions(spark: Any) -> int:
    return int(spark.conf.get("spark.sql.shuffle.partitions", "4"))


def _model(
    d: LinkDef, left: pd.DataFrame, rest: pd.DataFrame, cols: list[str], seed: int, engine: str
) -> Any:
    """Splink's predictions for the records left without an ID match (pairs at or above review)."""
    from splink import Linker, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # pyspark 4.3 warns that pandas 3 is newer than it was tested with; the frames it converts
        # here hold plain strings
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
        api = _api(engine)
        a = api.register(left[cols].copy(), dataset_display_name="registry")
        b = api.register(rest[cols].copy(), dataset_display_name="source")
        linker = Linker([a, b], _settings(d), log_level=logging.WARNING)
        linker.training.estimate_u_using_random_sampling(max_pairs=200_000, seed=seed)
        for cols_ in d.blocking:
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols_))
        # through Arrow: pyspark 4.3's toPandas trips over pandas 3's deprecations
        return linker.inference.predict(threshold_match_probability=d.review).as_pyarrow_table().to_pandas()


def link(
    d: LinkDef, left: pd.DataFrame, right: pd.DataFrame, *, seed: int = 1, engine: str = "duckdb"
) -> Linked:
    """Link `left` (the registry side) with `right`; both carry `rid` (a unique record id), the
    link's columns and optionally the ID column (15 or 18 digits, or empty). `engine`: Splink's
    DuckDB backend (in-process) or its Spark one."""

    cols = ["rid", *d.names, *d.exact, *d.fuzzy]
    for side in (left, right):
        missing = [c for c in cols if c not in side.columns]
        if missing:
            raise Invalid("Columns missing: {cols}", code="link_columns", params={"cols": ", ".join(missing)})
    pairs: list[tuple[str, str, float, str]] = []
    lid = left[d.id_column].map(normalise) if d.id_column in left else pd.Series([None] * len(left))
    rid_ = right[d.id_column].map(normalise) if d.id_column in right else pd.Series([None] * len(right))
    by_id = dict(zip(lid, left["rid"], strict=True))
    done = set()
    for r, norm in zip(right["rid"], rid_, strict=True):
        if norm is not None and norm in by_id:
            pairs.append((str(by_id[norm]), str(r), 1.0, "id"))
            done.add(r)
    rest = right[~right["rid"].isin(done)]
    review: list[tuple[str, str, float]] = []
    if len(rest):
        out = _model(d, left, rest, cols, seed, engine)
        best: dict[str, tuple[str, float]] = {}
        for row in out.itertuples():
            left_id, right_id = (row.rid_l, row.rid_r)
            if row.source_dataset_l != "registry":
                left_id, right_id = right_id, left_id
            p = float(row.match_probability)
            if right_id not in best or p > best[right_id][1]:
                best[right_id] = (str(left_id), p)
        for right_id, (left_id, p) in best.items():
            if p >= d.match:
                pairs.append((left_id, str(right_id), p, "model"))
            else:
                review.append((left_id, str(right_id), p))
    return Linked(pairs=pairs, review=review)


def queue_review(*, session: Session, actor: Principal, d: LinkDef, linked: Linked) -> int:
    """Put the uncertain band in front of the data stewards."""
    authorize(actor, "registries.admin")
    now: datetime = clock.now()
    for left_id, right_id, p in linked.review:
        session.add(
            LinkPair(
                link=d.code,
                left_id=left_id,
                right_id=right_id,
                probability=p,
                state="pending",
                created_at=now,
            )
        )
    session.flush()
    return len(linked.review)


def review_pairs(*, session: Session, actor: Principal, link_code: str | None = None) -> list[LinkPair]:
    authorize(actor, "registries.admin")
    stmt = select(LinkPair).where(LinkPair.state == "pending").order_by(LinkPair.probability.desc())
    if link_code:
        stmt = stmt.where(LinkPair.link == link_code)
    return list(session.scalars(stmt.limit(500)))


def decide_pair(*, session: Session, actor: Principal, pair_id: int, match: bool) -> LinkPair:
    authorize(actor, "registries.admin")
    p = session.get(LinkPair, pair_id)
    if p is None:
        raise NotFound("No such pair", code="pair_not_found")
    if p.state != "pending":
        raise Invalid("This pair was already decided", code="already_decided")
    p.state, p.decided_by, p.decided_at = ("match" if match else "no_match"), actor.actor, clock.now()
    audit.record(
        session,
        actor=actor.actor,
        action="registries.link.decided",
        subject_type="registry_link_pair",
        subject_id=p.id,
        payload={"link": p.link, "left": p.left_id, "right": p.right_id, "match": match},
    )
    return p
