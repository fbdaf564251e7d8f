"""Before/after photos and files of a case: stored once by their SHA-256 under CITYOS_HOME/files,
refused when too large or not what their bytes say, GPS kept in the original for staff and gone
from the public rendition; the public page and Open311 serve nothing beyond what is public — on
SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import io
import os
import re

import pytest
from PIL import Image
from sqlalchemy import select

from cityos.cases import attachments, service
from cityos.cases.schemas import ReportIn
from cityos.core import files
from cityos.core.audit import AuditRecord
from cityos.core.errors import Forbidden, Invalid, NotFound, TooLarge
from cityos.core.settings import get_settings, use_settings
from cityos.identity import service as identity
from cityos.identity.schemas import UserIn

IN_LANSHAN = {"lon": 118.3515, "lat": 35.0515}  # grid 37130200100101
IN_LUOZHUANG = {"lon": 118.2815, "lat": 34.9915}  # grid 37131100100101
GPS_IFD = 0x8825


def jpeg_with_gps(color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (80, 60)) -> bytes:
    """A phone photo: maker, orientation and the GPS IFD (35°03′05″N 118°21′05″E)."""
    exif = Image.Exif()
    exif[0x010F] = "CityPhone"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to show upright
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (35.0, 3.0, 5.0)
    gps[3], gps[4] = "E", (118.0, 21.0, 5.0)
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", exif=exif, comment=b"taken at home")
    return out.getvalue()


def noisy_jpeg(size: tuple[int, int] = (400, 300)) -> bytes:
    """A photo that does not compress: about 100 KB and more."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "JPEG", quality=95)
    return out.getvalue()


def png(color: tuple[int, int, int] = (20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


def gps_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as img:
        return dict(img.getexif().get_ifd(GPS_IFD))


@pytest.fixture
def cases(city, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        service.load_default_taxonomy(session=s, actor=city.as_role("admin"))
    return city


def report(db, city, role="citizen", where=IN_LANSHAN):  # type: ignore[no-untyped-def]
    body = {"category_code": "E0402", "description": "店外经营占道", "channel": "citizen", **where}
    with db.transaction() as s:
        return service.report_case(session=s, actor=city.as_role(role), report=ReportIn(**body))


def attach(db, city, case_id, data, role="citizen", stage="before", filename="photo.jpg"):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return attachments.add_attachment(
            session=s, actor=city.as_role(role), case_id=case_id, stage=stage, filename=filename, data=data
        )


def stored_files(settings) -> list[str]:  # type: ignore[no-untyped-def]
    root = settings.filestore
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---------------------------------------------------------------- storage
def test_same_bytes_are_stored_once_under_their_hash(cases, db, settings):
    photo = jpeg_with_gps()
    one, two = report(db, cases), report(db, cases)
    a = attach(db, cases, one.id, photo)
    b = attach(db, cases, two.id, photo)
    again = attach(db, cases, one.id, photo)  # a phone re-sending after a lost answer
    sha = files.digest(photo)
    assert a.sha256 == b.sha256 == sha and a.id != b.id and again.id == a.id
    assert (settings.home / "files" / sha[:2] / sha).read_bytes() == photo
    # the original and its public rendition: two files for three uploads of the same photo
    assert len(stored_files(settings)) == 2 and sha in stored_files(settings)
    assert not [p for p in settings.filestore.rglob(".tmp-*")]  # written through a temp file and renamed
    with db.reader() as s:
        listed = attachments.attachments(session=s, actor=cases.as_role("citizen"), case_id=one.id)
    assert [x.id for x in listed] == [a.id]
    assert (a.media_type, a.width, a.height, a.has_location, a.filename) == (
        "image/jpeg",
        60,  # turned upright by its orientation tag: 80×60 becomes 60×80
        80,
        True,
        "photo.jpg",
    )


def test_each_upload_is_audited(cases, db):
    c = report(db, cases)
    a = attach(db, cases, c.id, png(), role="inspector", stage="other", filename="现场.png")
    with db.reader() as s:
        rec = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "case.attach", AuditRecord.subject_id == c.number)
        ).one()
        actor, payload = rec.actor, rec.payload
    assert actor == "user:inspector1"
    assert payload["attachment_id"] == a.id and payload["sha256"] == a.sha256
    assert payload["media_type"] == "image/png" and payload["stage"] == "other"


# ---------------------------------------------------------------- limits and types
def test_a_file_over_the_limit_is_refused(cases, db, settings):
    c = report(db, cases)
    use_settings(dataclasses.replace(settings, max_upload_bytes=100 * 1024))
    with pytest.raises(TooLarge) as e:
        attach(db, cases, c.id, noisy_jpeg())
    assert e.value.code == "file_too_large" and e.value.status == 413
    assert e.value.text("zh_CN") == "文件超过 0.1 MB"
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (HTML, "x.jpg", "file_type_not_allowed"),  # the name says photo, the bytes say HTML
        (b"GIF89a" + b"\0" * 40, "x.gif", "file_type_not_allowed"),
        (b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10, "x.jpg", "bad_image"),  # only the signature
        (b"", "empty.jpg", "empty_file"),
    ],
)
def test_the_type_comes_from_the_bytes_not_the_name(cases, db, settings, data, name, code):
    c = report(db, cases)
    with pytest.raises(Invalid) as e:
        attach(db, cases, c.id, data, filename=name)
    assert e.value.code == code and e.value.status == 422
    assert stored_files(settings) == []


def test_pdf_documents_are_accepted_without_a_rendition(cases, db):
    c = report(db, cases)
    a = attach(db, cases, c.id, PDF, role="dispatcher", stage="other", filename="../../etc/整改通知书.pdf")
    assert a.media_type == "application/pdf" and a.width is None and not a.is_image
    assert a.filename == "整改通知书.pdf"  # no directories from the client's name


# ---------------------------------------------------------------- who may attach and see
def test_who_may_attach(cases, db):
    c = report(db, cases)
    with pytest.raises(NotFound), db.transaction() as s:  # a citizen who did not report it
        other = identity.add_user(
            session=s,
            actor=identity.SYSTEM,
            user=UserIn(
                username="citizen2", display_name="另一位市民", password="pw-pw-pw-pw", roles=["citizen"]
            ),
        )
        attachments.add_attachment(
            session=s,
            actor=identity.principal_for(session=s, username=other.username),
            case_id=c.id,
            stage="before",
            filename="x.png",
            data=png(),
        )
    with pytest.raises(Forbidden) as e:  # after photos are the department's and the inspector's
        attach(db, cases, c.id, png(), role="citizen", stage="after")
    assert e.value.code == "role_not_allowed"
    far = report(db, cases, where=IN_LUOZHUANG)
    with pytest.raises(NotFound):  # a grid worker of another grid: not a case they can see
        attach(db, cases, far.id, png(), role="grid_worker")
    with pytest.raises(Invalid) as e:
        attach(db, cases, c.id, png(), role="inspector", stage="during")
    assert e.value.code == "bad_stage"
    assert attach(db, cases, c.id, png(), role="inspector", stage="after").stage == "after"


def test_gps_stays_in_the_original_and_leaves_the_public_rendition(cases, db):
    c = report(db, cases)
    a = attach(db, cases, c.id, jpeg_with_gps())
    with db.reader() as s:
        _o, original = attachments.open_attachment(
            session=s, actor=cases.as_role("dispatcher"), case_id=c.id, attachment_id=a.id
        )
        _p, public = attachments.open_public_photo(session=s, number=c.number, attachment_id=a.id)
    assert gps_of(original.read_bytes())[2] == (35.0, 3.0, 5.0)  # evidence for staff
    with Image.open(public) as img:
        assert dict(img.getexif()) == {}  # no GPS, no maker, no orientation
        assert "comment" not in img.info and "exif" not in img.info
        assert img.size == (60, 80)  # upright without needing the orientation tag


# ---------------------------------------------------------------- over HTTP
def upload(client, case_id, *items, stage="before", csrf=None):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/cases/{case_id}/attachments",
        files=[("files", (name, data, "image/jpeg")) for name, data in items],
        data={"stage": stage},
        headers={"X-CSRF-Token": csrf} if csrf else {},
    )


def test_api_round_trip(cases, db, client):
    c = report(db, cases)
    cases.login(client, "citizen")
    csrf = cases.csrf(client)
    photo, second = jpeg_with_gps(), png()
    r = upload(client, c.id, ("门口.jpg", photo), ("second.png", second), csrf=csrf)
    assert r.status_code == 201, r.text
    body = r.json()
    assert [(x["filename"], x["media_type"], x["stage"]) for x in body] == [
        ("门口.jpg", "image/jpeg", "before"),
        ("second.png", "image/png", "before"),
    ]
    listed = client.get(f"/api/v1/cases/{c.id}/attachments").json()
    assert [x["id"] for x in listed] == [x["id"] for x in body] and listed[0]["has_location"] is True
    f = client.get(f"/api/v1/cases/{c.id}/attachments/{body[0]['id']}/file")
    assert f.status_code == 200 and f.content == photo and f.headers["content-type"] == "image/jpeg"
    assert (
        f.headers["x-content-type-options"] == "nosniff" and "sandbox" in f.headers["content-security-policy"]
    )
    assert "filename*=UTF-8''%E9%97%A8%E5%8F%A3.jpg" in f.headers["content-disposition"]
    thumb = client.get(f"/api/v1/cases/{c.id}/attachments/{body[0]['id']}/file?rendition=public")
    assert thumb.status_code == 200 and gps_of(thumb.content) == {}
    # without the form's CSRF token a cookie-authenticated upload is refused
    assert upload(client, c.id, ("x.png", png((1, 2, 3)))).status_code == 403


def test_api_refusals_carry_their_codes(cases, db, client, settings):
    c = report(db, cases)
    cases.login(client, "dispatcher")
    csrf = cases.csrf(client)
    r = upload(client, c.id, ("x.jpg", HTML), csrf=csrf)
    assert r.status_code == 422 and r.json()["error"]["code"] == "file_type_not_allowed"
    assert r.json()["error"]["message"]["zh-CN"].startswith("只能上传照片")
    use_settings(dataclasses.replace(settings, max_upload_bytes=2000))
    r = upload(client, c.id, ("big.jpg", noisy_jpeg()), csrf=csrf)
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    # a body larger than any acceptable form (10 files of the limit and 1 MB) is refused unparsed
    client.app.state.settings = get_settings()
    r = upload(client, c.id, *[(f"{i}.jpg", b"\xff" * 600_000) for i in range(2)], csrf=csrf)
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
    assert client.get(f"/api/v1/cases/{c.id}/attachments").json() == []


def test_staff_file_route_needs_someone_who_may_see_the_case(cases, db, client):
    far = report(db, cases, where=IN_LUOZHUANG)
    a = attach(db, cases, far.id, jpeg_with_gps(), role="dispatcher")
    url = f"/api/v1/cases/{far.id}/attachments/{a.id}/file"
    assert client.get(url).status_code == 401
    cases.login(client, "grid_worker")  # 金雀山社区第1网格: not this case's region
    assert client.get(url).json()["error"]["code"] == "not_found"  # nothing said about the case
    assert client.get(f"/api/v1/cases/{far.id}/attachments").status_code == 404


def test_public_route_serves_only_public_photos_of_that_case(cases, db, client):
    c, other = report(db, cases), report(db, cases)
    photo = attach(db, cases, c.id, jpeg_with_gps())
    doc = attach(db, cases, c.id, PDF, role="dispatcher", stage="other", filename="内部.pdf")
    theirs = attach(db, cases, other.id, png((9, 9, 9)))
    r = client.get(f"/p/cases/{c.number}/photos/{photo.id}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and gps_of(r.content) == {}
    assert r.content != jpeg_with_gps()
    assert client.get(f"/p/cases/{c.number}/photos/{doc.id}").status_code == 404  # documents are staff-only
    assert client.get(f"/p/cases/{c.number}/photos/{theirs.id}").status_code == 404  # another case's photo
    assert client.get(f"/p/cases/{c.number}/photos/999999").status_code == 404
    page = client.get(f"/p/cases/{c.number}").text
    assert f"/p/cases/{c.number}/photos/{photo.id}" in page and "内部.pdf" not in page
    assert "/api/v1/cases/" not in page  # never the originals
    with db.transaction() as s:
        service.transition(
            session=s, actor=cases.as_role("dispatcher"), case_id=c.id, action="reject", reason="不属实"
        )
    assert client.get(f"/p/cases/{c.number}/photos/{photo.id}").status_code == 404
    assert "/photos/" not in client.get(f"/p/cases/{c.number}").text
    with db.reader() as s, pytest.raises(NotFound):
        attachments.open_public_photo(session=s, number=c.number, attachment_id=photo.id)


# ---------------------------------------------------------------- pages
def test_report_page_takes_photos_and_the_case_page_shows_them(cases, db, client):
    cases.login(client, "citizen")
    csrf = cases.csrf(client)
    assert 'capture="environment"' in client.get("/cases/report").text
    r = client.post(
        "/cases/report",
        data={
            "csrf_token": csrf,
            "category_code": "E0402",
            "description": "占道经营",
            **{k: str(v) for k, v in IN_LANSHAN.items()},
        },
        files=[
            ("photos", ("现场.jpg", jpeg_with_gps(), "image/jpeg")),
        ],
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    case_id = int(re.search(r"/cases/(\d+)", r.headers["location"]).group(1))
    page = client.get(f"/cases/{case_id}").text
    m = re.search(rf'src="/api/v1/cases/{case_id}/attachments/(\d+)/file\?rendition=public"', page)
    assert m and 'data-testid="attachments-before"' in page
    # a refused photo leaves no case behind and keeps what was typed
    r = client.post(
        "/cases/report",
        data={
            "csrf_token": csrf,
            "category_code": "E0402",
            "description": "第二次上报",
            **{k: str(v) for k, v in IN_LANSHAN.items()},
        },
        files=[("photos", ("x.jpg", HTML, "image/jpeg"))],
    )
    assert r.status_code == 422 and "只能上传照片" in r.text and "第二次上报" in r.text
    with db.reader() as s:
        assert len(service.my_reports(session=s, actor=cases.as_role("citizen"))) == 1


def test_report_back_carries_after_photos(cases, db, client):
    c = report(db, cases)
    for role, action, kw in [
        ("dispatcher", "file", {}),
        ("dispatcher", "dispatch", {"department_code": "ls-cgj"}),
        ("handler", "accept", {}),
    ]:
        with db.transaction() as s:
            c = service.transition(session=s, actor=cases.as_role(role), case_id=c.id, action=action, **kw)
    cases.login(client, "handler")
    csrf = cases.csrf(client)
    page = client.get(f"/cases/{c.id}").text
    assert re.search(r'data-testid="action-report_back" enctype="multipart/form-data"', page)
    r = client.post(
        f"/cases/{c.id}/act",
        data={"csrf_token": csrf, "action": "report_back", "reason": "已清理", "expected_version": c.version},
        files=[("photos", ("after.png", png((0, 200, 0)), "image/png"))],
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with db.reader() as s:
        [a] = attachments.attachments(session=s, actor=cases.as_role("handler"), case_id=c.id)
        assert service.get_case(session=s, actor=cases.as_role("handler"), case_id=c.id).state == "handled"
    assert a.stage == "after" and a.uploaded_by == "user:handler1"
    assert 'data-testid="attachments-after"' in client.get(f"/cases/{c.id}").text


# ---------------------------------------------------------------- Open311 media_url
@pytest.fixture
def o311_key(cases, db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return identity.create_token(
            session=s, actor=cases.as_role("admin"), client="市民通 App", scopes=["open311"]
        ).token


def post311(client, key, files=None, **fields):  # type: ignore[no-untyped-def]
    data = {"api_key": key, "service_code": "E0402", "lat": "35.0515", "long": "118.3515", **fields}
    return client.post("/open311/v2/requests.json", data=data, files=files)


def test_open311_media_url_is_kept_as_a_link_and_returned(o311_key, client):
    link = "https://img.example.cn/r/123.jpg"
    rid = post311(client, o311_key, media_url=link).json()[0]["service_request_id"]
    [req] = client.get(f"/open311/v2/requests/{rid}.json").json()
    assert req["media_url"] == link
    r = post311(client, o311_key, media_url="javascript:alert(1)")
    assert r.status_code == 400 and "http or https" in r.json()[0]["description"]
    plain = post311(client, o311_key).json()[0]["service_request_id"]
    rows = {x["service_request_id"]: x for x in client.get("/open311/v2/requests.json").json()}
    assert rows[rid]["media_url"] == link and rows[plain]["media_url"] is None


def test_open311_photo_is_served_without_gps(o311_key, client):
    r = post311(client, o311_key, files={"media": ("p.jpg", jpeg_with_gps(), "image/jpeg")})
    assert r.status_code == 200, r.text
    rid = r.json()[0]["service_request_id"]
    url = client.get(f"/open311/v2/requests/{rid}.json").json()[0]["media_url"]
    assert re.fullmatch(rf"http://testserver/p/cases/{rid}/photos/\d+", url)
    assert gps_of(client.get(url).content) == {}
    bad = post311(client, o311_key, files={"media": ("p.jpg", HTML, "image/jpeg")})
    assert bad.status_code == 400
