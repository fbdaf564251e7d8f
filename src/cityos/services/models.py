"""services: its tables (the module's own; others reach it through its service).

Departments and people are identity's: rows here keep their ids (and a department's id on every
application, so the one visibility clause in policy.py is a comparison on an indexed column).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cityos.core.db import Base, JSONType, UTCDateTime

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class ServiceItem(Base):
    """A service item (政务服务事项) of the 事项清单."""

    __tablename__ = "svc_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    department_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # 行政许可 / 公共服务 / ...
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False, default="")
    conditions: Mapped[str] = mapped_column(Text, nullable=False, default="")
    time_limit_days: Mapped[int] = mapped_column(Integer, nullable=False)  # promised, working days
    fee: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    online: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    license_kind: Mapped[str | None] = mapped_column(String(40), nullable=True)  # the result issued
    regulator_department_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 审管联动
    rectify_days: Mapped[int] = mapped_column(Integer, nullable=False, default=5)  # 好差评 整改时限
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ItemMaterial(Base):
    """A material an item asks for; `source` says where it comes from: `upload` (the applicant),
    `license` (an e-license of `license_kind` in the applicant's wallet) or `resource` (a base
    registry resource read through data sharing, by the applicant's code as its key)."""

    __tablename__ = "svc_item_materials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("svc_items.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    license_kind: Mapped[str | None] = mapped_column(String(40), nullable=True)
    resource_code: Mapped[str | None] = mapped_column(String(80), nullable=True)
    resource_fields: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)


class Application(Base):
    __tablename__ = "svc_applications"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), nullable=False, unique=True)
    item_id: Mapped[int] = mapped_column(Integer, ForeignKey("svc_items.id"), nullable=False)
    department_id: Mapped[int] = mapped_column(Integer, nullable=False)
    applicant_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    applicant_kind: Mapped[str] = mapped_column(String(8), nullable=False)  # person | company
    applicant_name: Mapped[str] = mapped_column(String(200), nullable=False)
    applicant_code: Mapped[str] = mapped_column(String(18), nullable=False)  # 身份证号 / 统一社会信用代码
    channel: Mapped[str] = mapped_column(String(8), nullable=False)  # online | window
    created_by: Mapped[str] = mapped_column(String(80), nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False)
    form: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    consent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    missing: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)
    returned_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    history: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    license_identifier: Mapped[str | None] = mapped_column(String(120), nullable=True)

    __table_args__ = (
        Index("ix_svc_applications_dept_state", "department_id", "state", "id"),
        Index("ix_svc_applications_dept_id", "department_id", "id"),
        Index("ix_svc_applications_state_id", "state", "id"),
        Index("ix_svc_applications_name", "applicant_name"),
        Index("ix_svc_applications_applicant", "applicant_user_id", "id"),
        Index("ix_svc_applications_code", "applicant_code"),
        Index("ix_svc_applications_item", "item_id", "state"),
    )


class ApplicationMaterial(Base):
    """What an application holds for one of its item's materials: `status` uploaded (a file, by
    its content hash), shared (read through data sharing), license (a wallet e-license) or
    missing."""

    __tablename__ = "svc_application_materials"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("svc_applications.id", ondelete="CASCADE"), nullable=False, index=True
    )
    material_id: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    reference: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class LicenseKind(Base):
    """A kind of e-license (证照类型): `type_code` is the GB/T 36904 证照类型代码; the issuing
    department signs with its key, `issuer_code` is its 统一社会信用代码."""

    __tablename__ = "svc_license_kinds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    type_code: Mapped[str] = mapped_column(String(40), nullable=False)
    department_id: Mapped[int] = mapped_column(Integer, nullable=False)
    issuer_code: Mapped[str] = mapped_column(String(18), nullable=False)
    validity_years: Mapped[int | None] = mapped_column(Integer, nullable=True)
    next_serial: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class IssuerKey(Base):
    """A department's signing key (Ed25519). The private half lives outside the database under
    CITYOS_HOME/keys/services/<kid>.pem; a retired key signs nothing more and still verifies."""

    __tablename__ = "svc_issuer_keys"
    kid: Mapped[str] = mapped_column(String(40), primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    issuer_code: Mapped[str] = mapped_column(String(18), nullable=False)
    public_key: Mapped[str] = mapped_column(String(64), nullable=False)  # base64url, 32 bytes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class License(Base):
    """An issued e-license with the GB/T 36903 core metadata."""

    __tablename__ = "svc_licenses"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    kind_code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    number: Mapped[str] = mapped_column(String(40), nullable=False)  # 证照编号
    holder_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    holder_name: Mapped[str] = mapped_column(String(200), nullable=False)
    holder_code: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    holder_code_type: Mapped[str] = mapped_column(String(20), nullable=False)
    issuer_department_id: Mapped[int] = mapped_column(Integer, nullable=False)
    issuer_name: Mapped[str] = mapped_column(String(200), nullable=False)
    issuer_code: Mapped[str] = mapped_column(String(18), nullable=False)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    jurisdiction: Mapped[str] = mapped_column(String(12), nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    kid: Mapped[str] = mapped_column(String(40), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="valid")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoke_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    application_id: Mapped[int | None] = mapped_column(BIG_ID, nullable=True)


class SupervisionTask(Base):
    """审管联动: an approval of a configured item hands the regulator a supervision task."""

    __tablename__ = "svc_supervision_tasks"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    application_id: Mapped[int] = mapped_column(BIG_ID, nullable=False, unique=True)
    item_id: Mapped[int] = mapped_column(Integer, nullable=False)
    department_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(8), nullable=False, default="open")
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Rating(Base):
    """好差评 (GB/T 39734-2020): one rating per completed application, five levels (5 非常满意 …
    1 非常不满意) and the standard's rating items."""

    __tablename__ = "svc_ratings"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    application_id: Mapped[int] = mapped_column(BIG_ID, nullable=False, unique=True)
    item_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    department_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    aspects: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Rectification(Base):
    """A 差评's rectification task (整改): due in the item's working days, answered, called back
    (回访), and open to the applicant's appeal (申诉), on which the data bureau rules."""

    __tablename__ = "svc_rectifications"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    rating_id: Mapped[int] = mapped_column(BIG_ID, ForeignKey("svc_ratings.id"), nullable=False, unique=True)
    department_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(10), nullable=False)  # open|rectified|closed|appealed
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    response: Mapped[str] = mapped_column(Text, nullable=False, default="")
    callback: Mapped[str] = mapped_column(Text, nullable=False, default="")
    appeal: Mapped[str] = mapped_column(Text, nullable=False, default="")
    ruling: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")  # the bureau's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class QueueTicket(Base):
    """A service-hall ticket (取号) for one window type."""

    __tablename__ = "svc_queue_tickets"
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    window_type: Mapped[str] = mapped_column(String(20), nullable=False)
    number: Mapped[str] = mapped_column(String(12), nullable=False)
    state: Mapped[str] = mapped_column(String(8), nullable=False)  # waiting | called | done
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    window: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    called_by: Mapped[str] = mapped_column(String(80), nullable=False, default="")

    __table_args__ = (Index("ix_svc_queue_type_state", "window_type", "state", "id"),)


class RealName(Base):
    """A person's real-name record: the resident ID they gave and whether its check digit and
    date of birth check out (the OpenID Connect `acr` for real-name assurance)."""

    __tablename__ = "svc_real_names"
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    id_number: Mapped[str] = mapped_column(String(18), nullable=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OidcClient(Base):
    __tablename__ = "svc_oidc_clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    redirect_uris: Mapped[list[Any]] = mapped_column(JSONType, nullable=False, default=list)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class OidcConsent(Base):
    __tablename__ = "svc_oidc_consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    client_id: Mapped[str] = mapped_column(String(40), nullable=False)
    scope: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    __table_args__ = (UniqueConstraint("user_id", "client_id"),)


class OidcGrant(Base):
    """An authorization code (kind `code`, single use) or an access token (kind `token`), stored
    by the SHA-256 of its value."""

    __tablename__ = "svc_oidc_grants"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(6), nullable=False)
    client_id: Mapped[str] = mapped_column(String(40), nullable=False)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    redirect_uri: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    scope: Mapped[str] = mapped_column(String(200), nullable=False)
    nonce: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    code_challenge: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
