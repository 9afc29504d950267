"""The unit's access-list clauses with their statuses, the reviewer's checklist and the drafted
opinion, as stored in the result (nothing is recomputed)."""
from __future__ import annotations

from zoning.render.labels import dimension_label, t
from zoning.screening.result import ScreenResult
from zoning.vocabulary import CLAUSE_STATUS_EN, CLAUSE_STATUS_ZH, CLAUSE_TIER_EN


def status_label(status: str, lang: str = "zh") -> str:
    return CLAUSE_STATUS_EN[status] if lang == "en" else CLAUSE_STATUS_ZH[status]


def tier_label(tier: str, lang: str = "zh") -> str:
    return CLAUSE_TIER_EN.get(tier, tier) if lang == "en" else tier


def clause_table(result: ScreenResult, lang: str = "zh") -> tuple[list[str], list[tuple[str, ...]]] | None:
    """(headers, rows): unit, tier, dimension, number, clause text, status, rule; None without clauses."""
    if not result.clauses:
        return None
    headers = [t(k, lang) for k in ("clause_unit", "clause_tier", "dimension", "clause_number", "clause_text",
                                     "clause_status", "rule_id")]
    rows = [(c["unit_code"], tier_label(c["tier"], lang), dimension_label(c["dimension"], lang), c["number"],
             c["text"], status_label(c["status"], lang), c["rule_id"] or "—") for c in result.clauses]
    return headers, rows


def checklist(result: ScreenResult, lang: str = "zh") -> list[str]:
    """The clauses left to the reviewer (需人工核查), one line each."""
    return [f"☐ {c['unit_code']} {tier_label(c['tier'], lang)} {dimension_label(c['dimension'], lang)} "
            f"{c['number']}: {c['text']}" for c in result.clauses if c["status"] == "manual"]


def opinion_text(result: ScreenResult, lang: str = "zh") -> str | None:
    if not result.opinion:
        return None
    return result.opinion["en"] if lang == "en" else result.opinion["zh"]
