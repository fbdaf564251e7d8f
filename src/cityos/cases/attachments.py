"""Photos and files of a case: before (with the report), after (with the report-back), other.

What a file is comes from its bytes, never its name: JPEG, PNG and WebP are opened with Pillow
(a file that only starts like an image is refused), PDF by its header; anything else is refused,
and so is a file over `CITYOS_MAX_UPLOAD_MB`. The bytes are kept as uploaded in the
content-addressed store (core.files) — staff may need the photo's GPS as evidence. Each photo also
gets a public rendition: re-encoded from its pixels, turned upright, at most 2048 px, with no EXIF
or any other metadata. The public case page and Open311 serve only that rendition, and only of
photos (never documents) of cases that were not rejected. Staff pages serve the original to people
who may see the case.

Who may attach: the reporter, and staff who may see the case; `after` photos only people who act
on cases (the department's report-back, the inspector's check). Every upload is in the audit
trail. The same bytes attached twice to the same case and stage are one attachment.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityos.cases.models import Case, CaseAttachment
from cityos.cases.queries import visible_case
from cityos.cases.schemas import STAGES, AttachmentOut
from cityos.core import audit, clock, files
from cityos.core.errors import Forbidden, Invalid, NotFound, TooLarge
from cityos.core.settings import get_settings
from cityos.identity.permissions import has
from cityos.identity.schemas import Principal

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MEDIA_TYPES = (*IMAGE_TYPES, "application/pdf")
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}
MAX_PER_CASE = 30  # attachments of one case
MAX_PIXELS = 60_000_000  # a 60-megapixel photo; more is a decompression bomb, not a phone photo
PUBLIC_MAX_SIDE = 2048
GPS_IFD = 0x8825
NOT_PUBLIC_STATES = ("rejected",)  # a rejected report's photos may be what made it unacceptable


@dataclass(frozen=True)
class Inspected:
    media_type: str
    width: int | None = None
    height: int | None = None
    has_location: bool = False
    public: bytes | None = None  # the photo without metadata; None for documents


# ---------------------------------------------------------------- what the bytes are
def sniff(data: bytes) -> str | None:
    """The media type the bytes' signature claims (magic numbers), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def inspect(data: bytes) -> Inspected:
    """Check the bytes are an allowed type and, for photos, make the public rendition."""
    media_type = sniff(data)
    if media_type is None:
        raise Invalid(
            "Only photos (JPEG, PNG, WebP) and PDF documents can be attached",
            field="file",
            code="file_type_not_allowed",
        )
    if media_type not in IMAGE_TYPES:
        return Inspected(media_type=media_type)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[IMAGE_TYPES[media_type]]) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise TooLarge("The photo has too many pixels", field="file", code="image_too_large")
                img.load()
                gps = img.getexif().get_ifd(GPS_IFD)
                upright = ImageOps.exif_transpose(img)
            public = _public_rendition(upright, IMAGE_TYPES[media_type])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge("The photo has too many pixels", field="file", code="image_too_large") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise Invalid("The photo cannot be read", field="file", code="bad_image") from None
    return Inspected(
        media_type=media_type,
        width=upright.width,
        height=upright.height,
        has_location=bool(gps),
        public=public,
    )


def _public_rendition(img: Image.Image, fmt: str) -> bytes:
    """The pixels only: a new image built from the raw pixel data carries no EXIF, XMP, ICC,
    comment or text chunk, whatever the encoder would otherwise copy over."""
    if img.mode not in ("RGB", "RGBA", "L", "LA"):
        transparent = img.mode in ("PA", "P") and "transparency" in img.info
        img = img.convert("RGBA" if transparent or img.mode.endswith("A") else "RGB")
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    clean = Image.frombytes(img.mode, img.size, img.tobytes())
    clean.thumbnail((PUBLIC_MAX_SIDE, PUBLIC_MAX_SIDE))
    out = io.BytesIO()
    if fmt == "PNG":
        clean.save(out, format="PNG")
    else:
        clean.save(out, format=fmt, quality=85)
    return out.getvalue()


def _clean_filename(name: str, media_type: str, sha: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()[:200]
    return base or f"{sha[:12]}.{EXTENSIONS[media_type]}"


# ---------------------------------------------------------------- use cases
def _case(session: Session, actor: Principal, case_id: int, with_report: bool = False) -> Case:
    """The case if `actor` may see it (policy.visible), else not found. `with_report`: the file comes
    with the report that created the case in this same request (Open311's POST, whose token sees no
    case afterwards)."""
    if with_report:
        case = session.get(Case, case_id)
        if case is None or case.channel != "api" or not has(actor, "cases.open311"):
            raise NotFound("Case not found", params={"id": case_id})
        return case
    return visible_case(session, actor, case_id)


def _may_attach(actor: Principal, case: Case, stage: str) -> None:
    if stage not in STAGES:
        raise Invalid("The stage must be before, after or other", field="stage", code="bad_stage")
    if stage == "after" and not has(actor, "cases.act"):
        raise Forbidden(
            "Only the people who handle or check a case add after photos", code="role_not_allowed"
        )
    if case.duplicate_of is not None:
        raise Invalid(
            "This case was merged; attach to the case it was merged into",
            field="case_id",
            code="case_merged",
        )


def _room_for_one_more(session: Session, case_id: int) -> None:
    n = session.scalar(select(func.count()).where(CaseAttachment.case_id == case_id)) or 0
    if n >= MAX_PER_CASE:
        raise Invalid(
            "A case holds at most {n} attachments",
            field="file",
            code="too_many_attachments",
            params={"n": MAX_PER_CASE},
        )


def add_attachment(
    *,
    session: Session,
    actor: Principal,
    case_id: int,
    stage: str,
    filename: str,
    data: bytes,
    with_report: bool = False,
) -> AttachmentOut:
    """Attach a photo or PDF to a case. `data` are the uploaded bytes (callers read at most one byte
    more than the limit, so an oversized upload is refused without reading it all)."""
    case = _case(session, actor, case_id, with_report)
    _may_attach(actor, case, stage)
    limit = get_settings().max_upload_bytes
    if not data:
        raise Invalid("The file is empty", field="file", code="empty_file")
    if len(data) > limit:
        raise TooLarge(
            "The file is larger than {mb} MB",
            field="file",
            code="file_too_large",
            params={"mb": round(limit / 1024 / 1024, 1)},
        )
    found = inspect(data)
    sha = files.digest(data)
    same = session.scalar(
        select(CaseAttachment).where(
            CaseAttachment.case_id == case.id, CaseAttachment.stage == stage, CaseAttachment.sha256 == sha
        )
    )
    if same is not None:  # a phone re-sending after a lost answer: one attachment
        return AttachmentOut.model_validate(same)
    _room_for_one_more(session, case.id)
    files.store(data)
    public_sha = files.store(found.public) if found.public is not None else None
    row = CaseAttachment(
        case_id=case.id,
        stage=stage,
        sha256=sha,
        public_sha256=public_sha,
        media_type=found.media_type,
        size=len(data),
        filename=_clean_filename(filename, found.media_type, sha),
        width=found.width,
        height=found.height,
        has_location=found.has_location,
        uploaded_by=actor.actor,
        uploaded_by_user_id=actor.id if actor.kind == "user" else None,
        uploaded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(  # the last write: the audit chain's lock is held only until the commit
        session,
        actor=actor.actor,
        action="case.attach",
        subject_type="case",
        subject_id=case.number,
        payload={
            "attachment_id": row.id,
            "stage": stage,
            "sha256": sha,
            "media_type": found.media_type,
            "size": len(data),
            "has_location": found.has_location,
        },
    )
    return AttachmentOut.model_validate(row)


def add_link(
    *,
    session: Session,
    actor: Principal,
    case_id: int,
    url: str,
    stage: str = "before",
    with_report: bool = False,
) -> AttachmentOut:
    """Attach a link to media kept elsewhere (Open311 `media_url`). Stored as given, never fetched."""
    case = _case(session, actor, case_id, with_report)
    _may_attach(actor, case, stage)
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 1000:
        raise Invalid("The media link must be an http or https URL", field="media_url", code="bad_media_url")
    _room_for_one_more(session, case.id)
    row = CaseAttachment(
        case_id=case.id,
        stage=stage,
        url=url,
        media_type="",
        size=0,
        filename="",
        has_location=False,
        uploaded_by=actor.actor,
        uploaded_by_user_id=actor.id if actor.kind == "user" else None,
        uploaded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.actor,
        action="case.attach",
        subject_type="case",
        subject_id=case.number,
        payload={"attachment_id": row.id, "stage": stage, "url": url},
    )
    return AttachmentOut.model_validate(row)


def attachments(*, session: Session, actor: Principal, case_id: int) -> list[AttachmentOut]:
    """A case's attachments for those who may see the case, oldest first."""
    _case(session, actor, case_id)
    rows = session.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == case_id).order_by(CaseAttachment.id)
    )
    return [AttachmentOut.model_validate(r) for r in rows]


def open_attachment(
    *, session: Session, actor: Principal, case_id: int, attachment_id: int, rendition: str = "original"
) -> tuple[AttachmentOut, Path]:
    """The file to send to someone who may see the case: the original as uploaded, or (`public`)
    the photo's rendition without metadata, which pages use for thumbnails."""
    _case(session, actor, case_id)
    row = session.get(CaseAttachment, attachment_id)
    if row is None or row.case_id != case_id or row.sha256 is None:
        raise NotFound("Attachment not found", params={"id": attachment_id})
    if rendition not in ("original", "public"):
        raise Invalid("The rendition must be original or public", field="rendition", code="bad_rendition")
    sha = row.public_sha256 if rendition == "public" and row.public_sha256 else row.sha256
    return _file(row, sha, public=rendition == "public")


def _file(row: CaseAttachment, sha: str, *, public: bool) -> tuple[AttachmentOut, Path]:
    path = files.path_of(sha)
    if not path.is_file():
        raise NotFound("Attachment not found", params={"id": row.id})
    out = AttachmentOut.model_validate(row)
    if public:  # what a stripped rendition is: no location, its own bytes
        out = out.model_copy(update={"has_location": False, "sha256": sha, "size": path.stat().st_size})
    return out, path


# ---------------------------------------------------------------- the public side
def _public_rows(session: Session, case_ids: list[int]) -> list[CaseAttachment]:
    if not case_ids:
        return []
    return list(
        session.scalars(
            select(CaseAttachment)
            .join(Case, Case.id == CaseAttachment.case_id)
            .where(
                CaseAttachment.case_id.in_(case_ids),
                Case.state.not_in(NOT_PUBLIC_STATES),
                CaseAttachment.public_sha256.is_not(None) | CaseAttachment.url.is_not(None),
            )
            .order_by(CaseAttachment.id)
        )
    )


def _public_out(row: CaseAttachment) -> AttachmentOut:
    """Nothing about the uploader or the original leaves for the public."""
    return AttachmentOut.model_validate(row).model_copy(
        update={"uploaded_by": "", "has_location": False, "sha256": row.public_sha256, "filename": ""}
    )


def public_photos(*, session: Session, number: str) -> list[AttachmentOut]:
    """The photos anyone with the case number may see (stored photos only, no links, no documents)."""
    case_id = session.scalar(select(Case.id).where(Case.number == number))
    if case_id is None:
        raise NotFound("Case not found", params={"id": number})
    return [_public_out(r) for r in _public_rows(session, [case_id]) if r.public_sha256]


def open_public_photo(*, session: Session, number: str, attachment_id: int) -> tuple[AttachmentOut, Path]:
    """The public rendition of one photo of the case with this number; anything else is not found."""
    row = session.get(CaseAttachment, attachment_id)
    case = session.get(Case, row.case_id) if row is not None else None
    if (
        row is None
        or case is None
        or case.number != number
        or case.state in NOT_PUBLIC_STATES
        or row.public_sha256 is None
    ):
        raise NotFound("Attachment not found", params={"id": attachment_id})
    _out, path = _file(row, row.public_sha256, public=True)
    return _public_out(row), path


def first_public_media(*, session: Session, numbers: list[str]) -> dict[str, AttachmentOut]:
    """Each case's first public photo or media link, by case number (Open311 `media_url`)."""
    if not numbers:
        return {}
    ids: dict[int, str] = {
        i: n for i, n in session.execute(select(Case.id, Case.number).where(Case.number.in_(numbers)))
    }
    first: dict[str, AttachmentOut] = {}
    for row in _public_rows(session, list(ids)):
        first.setdefault(ids[row.case_id], _public_out(row))
    return first
