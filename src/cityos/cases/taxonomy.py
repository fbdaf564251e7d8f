"""The default case taxonomy, after the national digital urban management practice (CJ/T 214,
GB/T 30428): two classes, 部件 (components: broken or missing city objects) and 事件 (events:
behaviours and situations), each with 2-digit 大类 (major) and 2-digit 小类 (minor) codes.

Each minor category: filing condition, closing condition, time limits (working hours) to handle it
when urgent / normal, the default handling department, the duplicate radius (m) and window (h).
Admins edit the taxonomy in the UI and via Excel; this list seeds a new city.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Minor:
    code: str  # class letter + major + minor, e.g. "C0101" (部件) / "E0405" (事件)
    name: str
    department: str  # default handling department code (demo city codes)
    urgent_h: float
    normal_h: float
    radius_m: float = 50.0
    window_h: float = 72.0


COMPONENT_MAJORS = {
    "01": "公用设施",
    "02": "道路交通",
    "03": "市容环境",
    "04": "园林绿化",
    "05": "房屋土地",
    "06": "其他设施",
}
EVENT_MAJORS = {
    "01": "市容环境",
    "02": "宣传广告",
    "03": "施工管理",
    "04": "街面秩序",
    "05": "突发事件",
    "06": "其他事件",
}

# (minor code, name, department, urgent hours, normal hours[, radius, window])
_C: dict[str, list[tuple[Any, ...]]] = {
    "01": [
        ("01", "上水井盖", "slj", 2, 16),
        ("02", "污水井盖", "cgj", 2, 16),
        ("03", "雨水井盖", "cgj", 2, 16),
        ("04", "雨水箅子", "cgj", 4, 16),
        ("05", "电力井盖", "gxj", 2, 16),
        ("06", "路灯井盖", "cgj", 2, 16),
        ("07", "通讯井盖", "gxj", 4, 24),
        ("08", "燃气井盖", "zjj", 1, 8),
        ("09", "消防栓", "yjj", 2, 16),
        ("10", "路灯", "cgj", 8, 40),
        ("11", "地灯", "cgj", 8, 40),
        ("12", "景观灯", "cgj", 8, 40),
        ("13", "电力设施", "gxj", 4, 24),
        ("14", "通信交接箱", "gxj", 8, 40),
    ],
    "02": [
        ("01", "停车场", "jtj", 8, 40),
        ("02", "公交站亭", "jtj", 8, 40),
        ("03", "交通标志牌", "gaj", 4, 24),
        ("04", "交通信号灯", "gaj", 2, 8),
        ("05", "路名牌", "zrzyj", 8, 40),
        ("06", "过街天桥", "zjj", 4, 40),
        ("07", "地下通道", "zjj", 4, 40),
        ("08", "交通护栏", "jtj", 4, 24),
        ("09", "隔离墩", "jtj", 4, 24),
        ("10", "道路破损", "zjj", 8, 40),
    ],
    "03": [
        ("01", "公共厕所", "cgj", 4, 24),
        ("02", "垃圾箱", "cgj", 4, 16),
        ("03", "广告牌匾", "cgj", 8, 40),
        ("04", "报刊亭", "cgj", 8, 40),
        ("05", "环卫工具房", "cgj", 8, 40),
        ("06", "垃圾中转站", "cgj", 4, 24),
    ],
    "04": [
        ("01", "古树名木", "zrzyj", 4, 40),
        ("02", "行道树", "cgj", 8, 40),
        ("03", "护树设施", "cgj", 8, 40),
        ("04", "绿地护栏", "cgj", 8, 40),
        ("05", "城市雕塑", "cgj", 8, 80),
        ("06", "街头座椅", "cgj", 8, 40),
    ],
    "05": [
        ("01", "人防工事", "zjj", 8, 80),
        ("02", "危房", "zjj", 2, 16),
        ("03", "水域附属设施", "slj", 8, 40),
    ],
    "06": [
        ("01", "健身设施", "cgj", 8, 40),
        ("02", "监控电子眼", "gaj", 4, 24),
        ("03", "充电桩", "fgw", 8, 40),
    ],
}
_E: dict[str, list[tuple[Any, ...]]] = {
    "01": [
        ("01", "私搭乱建", "cgj", 8, 40, 30),
        ("02", "暴露垃圾", "cgj", 2, 8),
        ("03", "积存垃圾渣土", "cgj", 4, 16),
        ("04", "道路不洁", "cgj", 2, 8),
        ("05", "水域不洁", "slj", 4, 24, 100),
        ("06", "绿地脏乱", "cgj", 4, 16),
        ("07", "焚烧垃圾树叶", "sthjj", 1, 4, 200, 24),
        ("08", "餐饮油烟", "sthjj", 4, 24),
        ("09", "废弃车辆", "gaj", 8, 40),
        ("10", "动物尸体", "cgj", 1, 4),
    ],
    "02": [
        ("01", "非法小广告", "cgj", 4, 16),
        ("02", "违规户外广告", "cgj", 8, 40),
        ("03", "街头散发广告", "cgj", 2, 8),
        ("04", "占道宣传咨询", "cgj", 2, 8),
    ],
    "03": [
        ("01", "施工扰民", "zjj", 2, 8, 200, 24),
        ("02", "工地扬尘", "sthjj", 2, 8, 200, 24),
        ("03", "道路遗撒", "cgj", 2, 8, 200, 24),
        ("04", "施工占道", "zjj", 4, 16),
        ("05", "无证掘路", "zjj", 4, 16),
        ("06", "施工废弃料", "zjj", 4, 24),
    ],
    "04": [
        ("01", "无照经营游商", "scjgj", 2, 8),
        ("02", "店外经营", "cgj", 2, 8),
        ("03", "占道废品收购", "cgj", 4, 16),
        ("04", "机动车乱停放", "gaj", 1, 4, 30, 12),
        ("05", "非机动车乱停放", "gaj", 2, 8, 30, 12),
        ("06", "摆摊设点", "cgj", 2, 8),
        ("07", "占道堆物", "cgj", 4, 16),
        ("08", "流浪乞讨", "mzj", 4, 16),
        ("09", "露天烧烤", "cgj", 1, 4),
    ],
    "05": [
        ("01", "路面塌陷", "zjj", 1, 8, 100, 24),
        ("02", "自来水管破裂", "slj", 1, 4, 100, 24),
        ("03", "燃气管道破裂", "zjj", 0.5, 2, 200, 12),
        ("04", "下水道堵塞", "cgj", 2, 8),
        ("05", "道路积水", "cgj", 1, 4, 200, 12),
        ("06", "道路积雪结冰", "cgj", 2, 8, 500, 24),
        ("07", "火灾", "yjj", 0.5, 1, 300, 6),
        ("08", "树木倒伏", "cgj", 1, 4),
    ],
    "06": [
        ("01", "噪声扰民", "sthjj", 4, 16, 100, 24),
        ("02", "违法排污", "sthjj", 2, 8, 300, 48),
        ("03", "违规养犬", "gaj", 4, 16),
    ],
}


def _minors(prefix: str, table: dict[str, list[tuple[Any, ...]]]) -> list[Minor]:
    out = []
    for major, rows in table.items():
        for row in rows:
            code, name, dept, urgent, normal, *rest = row
            out.append(
                Minor(
                    f"{prefix}{major}{code}",
                    name,
                    dept,
                    float(urgent),
                    float(normal),
                    float(rest[0]) if rest else 50.0,
                    float(rest[1]) if len(rest) > 1 else 72.0,
                )
            )
    return out


DEFAULT = _minors("C", _C) + _minors("E", _E)


def major_name(code: str) -> str:
    majors = COMPONENT_MAJORS if code[0] == "C" else EVENT_MAJORS
    return majors[code[1:3]]


def case_class(code: str) -> str:
    return "component" if code[0] == "C" else "event"


# Extra questions some categories ask (Open311 service definitions: attributes).
# code → [(attribute code, datatype, required, description, [(key, name), …])]
ATTRIBUTES: dict[str, list[tuple[str, str, bool, str, list[tuple[str, str]]]]] = {
    "E0404": [("PLATE", "string", False, "车牌号 Licence plate", [])],
    "E0505": [
        (
            "DEPTH",
            "singlevaluelist",
            True,
            "积水深度 Water depth",
            [
                ("lt10", "10 厘米以下 below 10 cm"),
                ("10to30", "10–30 厘米 10–30 cm"),
                ("gt30", "30 厘米以上 above 30 cm"),
            ],
        )
    ],
    "C0110": [("LIGHTS", "number", False, "不亮的路灯数量 Lamps out", [])],
}
