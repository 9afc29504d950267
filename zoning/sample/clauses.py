"""Sample access-list clause library (SYNTHETIC) for the generated control units.

Province- and city-wide general requirements per unit class, and each generated unit's own
clauses in the four dimensions; clauses that a rule of layers/rules/nanping.yaml decides name
it. The texts are illustrative, written in the style of 福建省/南平市 生态环境准入清单, and not
official.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from zoning.vocabulary import (CITY_TIER, DIMENSIONS, GENERAL, KEY, PRIORITY, PROVINCE_TIER, UNIT_TIER)

SPACE, POLLUTION, RISK, RESOURCE = DIMENSIONS
VERSION = "2024.1-sample"

GENERAL_CLAUSES = [
    # tier, unit class (None: every unit), dimension, text, rule
    (PROVINCE_TIER, None, SPACE, "严格控制高耗能、高排放（“两高”）项目盲目发展，新建“两高”项目须符合国家和本省产业政策、"
                                 "产能置换及能耗、碳排放要求。", None),
    (PROVINCE_TIER, None, POLLUTION, "在大气污染防治重点区域的高污染燃料禁燃区内，禁止新建、扩建燃用高污染燃料的设施。",
     "BL-02"),
    (PROVINCE_TIER, None, RISK, "新建化工项目应进入依法合规设立、环保基础设施齐全的化工园区。", "CH-01"),
    (PROVINCE_TIER, None, RESOURCE, "新建“两高”项目须达到能效标杆水平，落实能源消费和碳排放控制要求。", "TH-01"),
    (CITY_TIER, None, POLLUTION, "禁燃区内 10 蒸吨/小时及以下的燃煤锅炉一律淘汰，不再新建。", "BL-01"),
    (CITY_TIER, None, POLLUTION, "35 蒸吨/小时及以上燃煤锅炉应实现超低排放。", "BL-03"),
    (CITY_TIER, None, RISK, "饮用水水源保护区周边的工业项目应开展环境风险评估，落实事故应急防范措施。", "WS-03"),
    (CITY_TIER, None, RESOURCE, "电解铝项目可再生能源使用比例应符合国家及本省要求。", "AL-01"),
    (CITY_TIER, PRIORITY, SPACE, "优先保护单元以生态保护为主，禁止新建工业、采矿及火电项目。", "UC-1"),
    (CITY_TIER, PRIORITY, SPACE, "优先保护单元内的非工业项目须严格控制开发强度，不得降低生态功能。", "UC-1b"),
    (CITY_TIER, PRIORITY, POLLUTION, "优先保护单元内不得新增工业污染物排放口。", None),
    (CITY_TIER, PRIORITY, RISK, "优先保护单元内禁止新建涉及有毒有害物质的储存、运输设施。", None),
    (CITY_TIER, PRIORITY, RESOURCE, "优先保护单元内严格控制林地占用，确需占用的应依法办理审批并落实补偿。", None),
    (CITY_TIER, KEY, SPACE, "重点管控单元内新建项目须符合园区产业定位和规划环评要求。", None),
    (CITY_TIER, KEY, POLLUTION, "重点管控单元执行园区或城镇规划环评及主要污染物排放总量控制要求。", "UC-2"),
    (CITY_TIER, KEY, RISK, "重点管控单元内企业应编制突发环境事件应急预案，园区应建立环境风险防控体系。", None),
    (CITY_TIER, KEY, RESOURCE, "重点管控单元内新建项目用水、用能效率应达到国内先进水平。", None),
    (CITY_TIER, GENERAL, SPACE, "一般管控单元执行区域生态环境保护的基本要求。", "UC-3"),
    (CITY_TIER, GENERAL, POLLUTION, "一般管控单元内新建项目污染物排放须满足相应排放标准和总量控制要求。", None),
    (CITY_TIER, GENERAL, RISK, "一般管控单元内涉危险化学品项目应落实环境风险防范措施。", None),
    (CITY_TIER, GENERAL, RESOURCE, "一般管控单元内严格执行用水总量和强度控制要求。", None),
]
#: each unit's own clauses, by class: (dimension, text)
UNIT_CLAUSES = {
    PRIORITY: [(SPACE, "{name}内生态保护红线按禁止开发区域管理，一般控制区严格限制开发建设活动。"),
               (RESOURCE, "{name}内保持林草覆盖，不得擅自改变林地用途。")],
    KEY: [(SPACE, "{name}新建项目应布局在规划的产业用地范围内，与居住区保持卫生防护距离。"),
          (POLLUTION, "{name}新建项目废水应纳入集中污水处理设施处理，达标排放。"),
          (RISK, "{name}内涉及有毒有害物质的企业应落实土壤和地下水污染防治措施。"),
          (RESOURCE, "{name}推广清洁能源，新建项目不得使用高污染燃料。")],
    GENERAL: [(SPACE, "{name}内新建项目不得占用基本农田，避让生态敏感区。"),
              (POLLUTION, "{name}内畜禽养殖应符合禁养区、限养区规定，养殖废弃物资源化利用。")],
}
#: the example units' own clauses that a rule decides (see layers/rules/nanping.yaml)
RULED_UNIT_CLAUSES = [
    ("ZH35070220003", SPACE, "荣华山产业组团主导产业为机电制造、新材料、食品加工，禁止新建化工项目。", "ZH35070220003-01"),
    ("ZH35078120003", POLLUTION, "化工项目须符合园区氟化工、精细化工产业定位和规划环评，落实主要污染物区域削减及特征污染物管控。",
     "ZH35078120003-01"),
    *((code, SPACE, "环武夷山国家公园保护发展带一般管控单元内禁止新建“两高”项目。", "ZH350782-3-01")
      for code in ("ZH35078230001", "ZH35078230002", "ZH35078230003")),
]


def sample_clause_library(units) -> dict:
    """The library document for ``units`` (code, name, class columns; canonical or sample names)."""
    code_c = "单元编码" if "单元编码" in units.columns else "code"
    name_c = "单元名称" if "单元名称" in units.columns else "name"
    class_c = "管控类别" if "管控类别" in units.columns else "class"
    clauses = []
    numbers: dict[tuple, int] = {}

    def add(entry: dict) -> None:
        key = (entry["tier"], entry.get("unit_class"), entry.get("unit_code"), entry["dimension"])
        numbers[key] = numbers.get(key, 0) + 1
        clauses.append({**entry, "number": str(numbers[key])})

    for tier, cls, dim, text, rule in GENERAL_CLAUSES:
        add({k: v for k, v in {"tier": tier, "unit_class": cls, "dimension": dim, "text": text, "rule": rule}.items()
             if v is not None})
    ruled = {}
    for code, dim, text, rule in RULED_UNIT_CLAUSES:
        ruled.setdefault(code, []).append((dim, text, rule))
    for code, name, cls in sorted(zip(units[code_c].astype(str), units[name_c].astype(str), units[class_c])):
        for dim, text, rule in ruled.get(code, []):
            add({"tier": UNIT_TIER, "unit_code": code, "dimension": dim, "text": text, "rule": rule})
        for dim, text in UNIT_CLAUSES.get(cls, []):
            add({"tier": UNIT_TIER, "unit_code": code, "dimension": dim, "text": text.format(name=name)})
    return {"name": "南平市生态环境准入清单条款库（合成示例） / Nanping access-list clause library (SYNTHETIC sample)",
            "version": VERSION, "synthetic": True, "clauses": clauses}


def write_sample_clauses(units, path: Path | str) -> Path:
    path = Path(path)
    doc = sample_clause_library(units)
    head = ("# Access-list clause library (生态环境准入清单条款库) for the SYNTHETIC sample units.\n"
            "# Written by `zoning sample build` (zoning/sample/clauses.py); illustrative texts, not official.\n")
    path.write_text(head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8")
    return path
