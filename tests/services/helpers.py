"""The services tests' small world on top of tests/factories.SmallCity: a license kind issued by
the police (gaj), an item of gaj's with an uploaded material and one from an e-license, and a
citizen with a verified real name."""

from __future__ import annotations

import random

from cityos.identity import service as identity
from cityos.identity.schemas import UserIn
from cityos.services import service
from cityos.services.schemas import ItemIn, KindIn, MaterialIn
from tests.catalog.helpers import credit_code, resident_id
from tests.factories import PASSWORD

TYPE_CODE = "11100000000013338W011"
ISSUER = "11371300MB28559184"


def world(db, city) -> dict:  # type: ignore[no-untyped-def,type-arg]
    admin = city.as_role("admin")
    rng = random.Random(12)
    with db.transaction() as s:
        service.add_kind(
            session=s,
            actor=admin,
            kind=KindIn(
                code="residence_permit",
                name="居住证",
                type_code=TYPE_CODE,
                department_code="gaj",
                issuer_code=ISSUER,
                validity_years=3,
            ),
        )
        service.add_kind(
            session=s,
            actor=admin,
            kind=KindIn(
                code="shop_licence",
                name="食品经营许可证",
                type_code="11100000000013338W050",
                department_code="gaj",
                issuer_code=ISSUER,
                validity_years=5,
            ),
        )
        service.save_item(
            session=s,
            actor=admin,
            data=ItemIn(
                code="GA-001",
                name="居住证办理",
                department_code="gaj",
                time_limit_days=5,
                license_kind="residence_permit",
                regulator_code="cgj",
                materials=[
                    MaterialIn(name="居住登记表", source="upload"),
                    MaterialIn(name="照片", source="upload", required=False),
                ],
            ),
        )
        service.save_item(
            session=s,
            actor=admin,
            data=ItemIn(
                code="GA-002",
                name="食品经营许可",
                department_code="gaj",
                time_limit_days=10,
                license_kind="shop_licence",
                rectify_days=15,
                materials=[
                    MaterialIn(name="居住证", source="license", license_kind="residence_permit"),
                    MaterialIn(name="经营场所证明", source="upload"),
                ],
            ),
        )
        for name, roles, dept in (
            ("citizen9", ["citizen"], None),
            ("window9", ["handler"], "gaj"),
            ("other9", ["handler"], "cgj"),
        ):
            identity.add_user(
                session=s,
                actor=identity.SYSTEM,
                user=UserIn(
                    username=name,
                    display_name=name,
                    password=PASSWORD,
                    roles=roles,
                    department_code=dept,
                    region_code="371302",
                ),
            )
        citizen = identity.principal_for(session=s, username="citizen9")
        idn = resident_id(rng)
        service.set_real_name(session=s, actor=citizen, name="王小明", id_number=idn)
        return {
            "admin": admin,
            "citizen": citizen,
            "staff": identity.principal_for(session=s, username="window9"),
            "other": identity.principal_for(session=s, username="other9"),
            "id_number": idn,
            "uscc": credit_code(rng),
        }
