"""The monthly report as a document: charts drawn server-side with matplotlib (Agg, a CJK font),
PDF with reportlab (the CJK font embedded) or DOCX with python-docx. Both carry the same parts:
title, summary paragraph, a table of the main indicators, one table per indicator with the
districts (当月/累计/同比/排名), the charts, and the district annex."""

from __future__ import annotations

import io
import os
from pathlib import Path

from cityos.cockpit.report import Indicator, Report, growth_of, num, span
from cityos.core.errors import Invalid

FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
]


def cjk_font() -> Path:
    """A font with Chinese glyphs (CITYOS_CJK_FONT, else fonts-wqy-microhei from system-deps.sh)."""
    for p in [os.environ.get("CITYOS_CJK_FONT", ""), *FONT_CANDIDATES]:
        if p and Path(p).is_file():
            return Path(p)
    raise Invalid("No CJK font found: install fonts-wqy-microhei or set CITYOS_CJK_FONT", code="no_cjk_font")


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


# ---------------------------------------------------------------------------------- charts
def charts(r: Report) -> list[tuple[str, bytes]]:
    """(caption, PNG) per chart: the year's 累计同比 of the indicators, and the districts'
    累计同比 of the first indicator."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    font = cjk_font()
    font_manager.fontManager.addfont(str(font))
    name = font_manager.FontProperties(fname=str(font)).get_name()
    plt.rcParams["font.family"] = name
    plt.rcParams["axes.unicode_minus"] = False
    out = []
    ok = [i for i in r.indicators if i.status == "ok" and i.kind == "month"]
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
    for i in ok[:6]:
        pts = [(int(x.period[5:7]), x.ytd_yoy_pct) for x in i.trend if x.ytd_yoy_pct is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=i.name)
    ax.axhline(0, color="#999", linewidth=0.8)
    ax.set_xlabel("月份")
    ax.set_ylabel("累计同比（%）")
    ax.legend(fontsize=8, ncol=3)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.append((f"图1  {r.month[:4]}年主要指标累计增速（%）", _png(fig)))
    plt.close(fig)
    first = next((i for i in r.indicators if i.status == "ok" and i.districts), None)
    if first is not None:
        fig, ax = plt.subplots(figsize=(8, 3.4), dpi=110)
        rows = [d for d in first.districts if d["growth"] is not None]
        ax.bar(
            [d["name"] for d in rows],
            [d["growth"] for d in rows],
            color=["#c0392b" if d["growth"] < 0 else "#1f78c1" for d in rows],
        )
        ax.set_ylabel("累计同比（%）")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        out.append((f"图2  {span(first.period, first.kind)}各区县{first.name}累计增速（%）", _png(fig)))
        plt.close(fig)
    return out


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")  # type: ignore[attr-defined]
    return buf.getvalue()


def main_table(r: Report) -> list[list[str]]:
    head = [
        "指标",
        "单位",
        "当月（季）",
        "同比%",
        "累计",
        "累计同比%",
        "全省累计同比%",
        "目标完成率%",
        "序时进度%",
    ]
    rows = [head]
    for i in r.indicators:
        if i.status == "refused":
            rows.append([i.name, i.unit, "未授权", "", "", "", "", "", ""])
        elif i.city is None:
            rows.append([i.name, i.unit, "暂无数据", "", "", "", "", "", ""])
        else:
            c = i.city
            rows.append(
                [
                    i.name,
                    i.unit,
                    num(c.value),
                    _pct(c.yoy_pct),
                    num(c.ytd),
                    _pct(c.ytd_yoy_pct),
                    _pct(growth_of(i.province)) if i.province is not None else "—",
                    _pct(c.target_pct),
                    _pct(c.schedule_pct),
                ]
            )
    return rows


def district_table(i: Indicator) -> list[list[str]]:
    rows = [["区县", "当月（季）", "累计", "同比%", "累计同比%", "排名"]]
    for d in i.districts:
        rows.append(
            [
                d["name"],
                num(d["value"]),
                num(d["ytd"]),
                _pct(d["yoy_pct"]),
                _pct(d["ytd_yoy_pct"]),
                str(d["rank"] or "—"),
            ]
        )
    return rows


def annex(r: Report) -> list[tuple[str, list[list[str]]]]:
    """Per district: every indicator's 累计, 累计同比 and rank among the districts."""
    per: dict[str, list[list[str]]] = {}
    for i in r.indicators:
        for d in i.districts:
            per.setdefault(d["name"], [["指标", "累计", "累计同比%", "排名"]]).append(
                [i.name, f"{num(d['ytd'])}{i.unit}", _pct(d["ytd_yoy_pct"]), str(d["rank"] or "—")]
            )
    return sorted(per.items())


# ------------------------------------------------------------------------------------- PDF
def pdf(r: Report, path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if "CJK" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("CJK", str(cjk_font()), subfontIndex=0))
    title = ParagraphStyle(
        "t",
        fontName="CJK",
        fontSize=20,
        leading=28,
        alignment=TA_CENTER,
        textColor=colors.HexColor("#b00000"),
    )
    sub = ParagraphStyle("s", fontName="CJK", fontSize=11, leading=16, alignment=TA_CENTER)
    h2 = ParagraphStyle("h", fontName="CJK", fontSize=13, leading=20, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("b", fontName="CJK", fontSize=11, leading=19, firstLineIndent=22, wordWrap="CJK")
    small = ParagraphStyle("n", fontName="CJK", fontSize=9, leading=13, wordWrap="CJK")

    def table(rows: list[list[str]]) -> Table:
        t = Table(rows, repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), "CJK", 8.5),
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                    ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ]
            )
        )
        return t

    y, m = r.month[:4], int(r.month[5:7])
    story: list[object] = [
        Paragraph(r.title, title),
        Paragraph(f"{y}年第{m}期（{y}年{m}月）　　{r.generated_at}", sub),
        Spacer(1, 6 * mm),
        Paragraph("一、总体情况", h2),
        Paragraph(r.summary, body),
    ]
    for n in r.notes:
        story.append(Paragraph(n, small))
    story += [Paragraph("二、主要指标", h2), table(main_table(r))]
    for caption, png in charts(r):
        story += [
            Spacer(1, 4 * mm),
            Image(io.BytesIO(png), width=170 * mm, height=170 * mm * 0.45),
            Paragraph(caption, sub),
        ]
    story.append(Paragraph("三、分指标区县情况", h2))
    for i in r.indicators:
        if i.status == "ok" and i.districts:
            story += [
                Paragraph(f"{i.name}（{span(i.period, i.kind)}，{i.unit}）", small),
                table(district_table(i)),
                Spacer(1, 3 * mm),
            ]
    story += [PageBreak(), Paragraph("附件：各区县主要经济指标", h2)]
    for name, rows in annex(r):
        story += [Paragraph(name, small), table(rows), Spacer(1, 3 * mm)]
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        title=r.title,
        author=r.city_name,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    doc.build(story)


# ------------------------------------------------------------------------------------ DOCX
def docx(r: Report, path: Path) -> None:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    doc = Document()
    st = doc.styles["Normal"]
    st.font.name = "SimSun"
    st.font.size = Pt(11)
    st.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")

    def para(
        text: str,
        size: float = 11,
        bold: bool = False,
        center: bool = False,
        color: RGBColor | None = None,
        indent: bool = False,
    ) -> None:
        p = doc.add_paragraph()
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if indent:
            p.paragraph_format.first_line_indent = Pt(22)
        run = p.add_run(text)
        run.font.size = Pt(size)
        run.bold = bold
        if color is not None:
            run.font.color.rgb = color

    def table(rows: list[list[str]]) -> None:
        t = doc.add_table(rows=len(rows), cols=len(rows[0]))
        t.style = "Table Grid"
        for i, row in enumerate(rows):
            for j, cell in enumerate(row):
                t.cell(i, j).text = cell

    y, m = r.month[:4], int(r.month[5:7])
    para(r.title, 20, True, True, RGBColor(0xB0, 0, 0))
    para(f"{y}年第{m}期（{y}年{m}月）　　{r.generated_at}", 11, center=True)
    para("一、总体情况", 13, True)
    para(r.summary, indent=True)
    for n in r.notes:
        para(n, 9)
    para("二、主要指标", 13, True)
    table(main_table(r))
    for caption, png in charts(r):
        doc.add_picture(io.BytesIO(png), width=Mm(165))
        para(caption, 10, center=True)
    para("三、分指标区县情况", 13, True)
    for i in r.indicators:
        if i.status == "ok" and i.districts:
            para(f"{i.name}（{span(i.period, i.kind)}，{i.unit}）", 10, True)
            table(district_table(i))
    doc.add_page_break()
    para("附件：各区县主要经济指标", 13, True)
    for name, rows in annex(r):
        para(name, 10, True)
        table(rows)
    doc.save(str(path))


def write(r: Report, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        pdf(r, path)
    elif suffix == ".docx":
        docx(r, path)
    else:
        raise Invalid("The report is written as .pdf or .docx", code="bad_format", field="--out")
