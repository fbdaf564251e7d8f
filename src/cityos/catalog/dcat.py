"""The open catalog as DCAT-AP (https://semiceu.github.io/DCAT-AP/), in JSON-LD and Turtle, for
harvesters of national and European portals: one dcat:Catalog, a dcat:Dataset per resource open
without condition, a dcat:Distribution per download (CSV, NDJSON, Parquet of the public fields).
Conditionally open and closed resources are not in it, as in the CKAN API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD
from sqlalchemy.orm import Session

from cityos.catalog import ckan, portal
from cityos.catalog.schemas import ResourceOut, slug
from cityos.core import i18n
from cityos.identity import service as identity

router = APIRouter(include_in_schema=False)

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
FREQ = Namespace("http://publications.europa.eu/resource/authority/frequency/")
FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
IANA = "https://www.iana.org/assignments/media-types/"
FREQUENCIES = {
    "realtime": "CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "halfyearly": "ANNUAL_2",
    "yearly": "ANNUAL",
    "irregular": "IRREG",
}
FILE_TYPES = {"csv": "CSV", "ndjson": "JSON", "parquet": "PARQUET"}
CONTEXT = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "vcard": str(VCARD),
    "skos": str(SKOS),
    "xsd": str(XSD),
}


def _when(value: datetime) -> Literal:
    return Literal(value.astimezone(UTC).replace(microsecond=0), datatype=XSD.dateTime)


def _text(msgid: str) -> list[Literal]:
    return [Literal(i18n.gettext(msgid, "zh_CN"), lang="zh"), Literal(i18n.gettext(msgid, "en"), lang="en")]


def _typed(g: Graph, node: URIRef, cls: URIRef) -> URIRef:
    """`node`, stated to be a `cls`: DCAT-AP's shapes check the class of every referenced node
    (frequency, file type, media type, contact point, page) and infer nothing."""
    g.add((node, RDF.type, cls))
    return node


def _add_dataset(g: Graph, base: str, r: ResourceOut) -> URIRef:
    page = _typed(g, URIRef(f"{base}/open/r/{slug(r.code)}"), FOAF.Document)  # the portal's page
    ds = URIRef(f"{page}#dataset")  # the dataset, not its page: a foaf:Document is not a dataset
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Literal(r.code)))
    g.add((ds, DCTERMS.title, Literal(r.name, lang="zh")))
    g.add((ds, DCTERMS.description, Literal(r.summary or r.name, lang="zh")))
    g.add((ds, DCAT.landingPage, page))
    publisher = URIRef(f"{base}/open/?department={quote(r.provider_code)}")
    g.add((ds, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, FOAF.name, Literal(r.provider_name, lang="zh")))
    g.add((publisher, DCTERMS.identifier, Literal(r.provider_code)))
    contact = BNode(f"contact-{slug(r.code)}")
    g.add((ds, DCAT.contactPoint, contact))
    g.add((contact, RDF.type, VCARD.Kind))
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, VCARD.fn, Literal(r.provider_name, lang="zh")))
    for t in r.tags:
        g.add((ds, DCAT.keyword, Literal(t, lang="zh")))
    for t in r.topics:
        theme = URIRef(f"{base}/open/?topic={quote(t)}")
        g.add((ds, DCAT.theme, theme))
        g.add((theme, RDF.type, SKOS.Concept))
        g.add((theme, SKOS.prefLabel, Literal(t, lang="zh")))
    if r.publish_date is not None:
        g.add((ds, DCTERMS.issued, Literal(r.publish_date, datatype=XSD.date)))
    g.add((ds, DCTERMS.modified, _when(r.last_loaded_at or r.updated_at)))
    freq = FREQ[FREQUENCIES.get(r.update_cycle, "UNKNOWN")]
    g.add((ds, DCTERMS.accrualPeriodicity, _typed(g, freq, DCTERMS.Frequency)))
    if ckan.downloadable(r):
        for fmt, (label, media) in ckan.FORMATS.items():
            dist = URIRef(f"{base}/open/r/{slug(r.code)}/download.{fmt}#distribution")
            url = URIRef(ckan.download_url(base, r, fmt))
            g.add((ds, DCAT.distribution, dist))
            g.add((dist, RDF.type, DCAT.Distribution))
            g.add((dist, DCTERMS.identifier, Literal(ckan.resource_id(r.code, fmt))))
            g.add((dist, DCTERMS.title, Literal(f"{r.name} ({label})", lang="zh")))
            g.add((dist, DCAT.accessURL, page))
            g.add((dist, DCAT.downloadURL, url))
            g.add((dist, DCTERMS.format, _typed(g, FILE_TYPE[FILE_TYPES[fmt]], DCTERMS.MediaTypeOrExtent)))
            g.add((dist, DCAT.mediaType, _typed(g, URIRef(IANA + media), DCTERMS.MediaType)))
            if r.last_loaded_at is not None:
                g.add((dist, DCTERMS.modified, _when(r.last_loaded_at)))
    return ds


def catalog_graph(*, session: Session, base: str) -> Graph:
    """The open catalog as an RDF graph (base: the site's address, no trailing slash)."""
    g = Graph()
    for prefix, ns in CONTEXT.items():
        g.bind(prefix, ns)
    cat = URIRef(f"{base}/open/catalog")
    g.add((cat, RDF.type, DCAT.Catalog))
    city = identity.city(session=session)
    prefix = city.name if city else ""
    zh, en = _text("Open data catalog")
    g.add((cat, DCTERMS.title, Literal(prefix + str(zh), lang="zh")))
    g.add((cat, DCTERMS.title, Literal(f"{prefix} {en}".strip(), lang="en")))
    for lit in _text("Public data released by the city's departments"):
        g.add((cat, DCTERMS.description, lit))
    g.add((cat, FOAF.homepage, _typed(g, URIRef(f"{base}/open/"), FOAF.Document)))
    # the catalog's publisher: the city, whose departments publish the datasets
    publisher = _typed(g, URIRef(f"{base}/open/#publisher"), FOAF.Agent)
    g.add((publisher, FOAF.name, Literal(city.name if city else "CityOS", lang="zh")))
    if city is not None:
        g.add((publisher, DCTERMS.identifier, Literal(city.code)))
    g.add((cat, DCTERMS.publisher, publisher))
    items = portal.open_resources(session=session)
    if items:
        g.add((cat, DCTERMS.modified, _when(max(r.updated_at for r in items))))
    for r in items:
        g.add((cat, DCAT.dataset, _add_dataset(g, base, r)))
    return g


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/open/catalog.jsonld")
def catalog_jsonld(request: Request) -> Response:
    with request.app.state.db.reader() as session:
        g = catalog_graph(session=session, base=_base(request))
    body = g.serialize(format="json-ld", context=CONTEXT, indent=2)
    return Response(body, media_type="application/ld+json")


@router.get("/open/catalog.ttl")
def catalog_turtle(request: Request) -> Response:
    with request.app.state.db.reader() as session:
        g = catalog_graph(session=session, base=_base(request))
    return Response(g.serialize(format="turtle"), media_type="text/turtle; charset=utf-8")
