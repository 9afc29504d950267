"""Tables of site coordinates and attributes as reviewers receive them.

- headers below title rows (``表2-1 项目用地界址点坐标表（2000国家大地坐标系…）``), with units
  (``X坐标(m)``) and the usual synonyms (X/北坐标/纵坐标, 经度/东经, 点号/界址点号/拐点编号,
  地块编号/宗地号, 圈号);
- angles as decimal degrees or 度分秒 with or without a hemisphere (``118°10'12"E``);
- corner tables (界址点/拐点) as polygons, rings by 圈号: the largest ring is a shell, a ring
  inside a shell is its hole, any other ring is another part;
- the 界址点 coordinate text file of land-use submissions (``[属性描述]`` … ``[地块坐标]``);
- attribute columns by canonical name, Chinese name or pinyin initials (XMMC, HYDM …), with
  units in the header (``年综合能耗(吨标煤)``), or as the caller maps them (``fields``).
"""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from shapely.geometry import MultiPolygon, Polygon

from zoning.errors import SiteError, UnreadableInput
from zoning.io.archive import unpack_zip
from zoning.io.inputs import load_json, load_yaml, path_is_file, read_text

#: largest --field mapping file read (bytes): a real one is a few lines
MAX_MAPPING_BYTES = 1024 * 1024

# ------------------------------------------------------------------------------------------
# header names (normalised: lower case, no spaces, no unit in brackets)
LON_NAMES = ("lon", "lng", "long", "longitude", "经度", "东经", "经度e", "经度(e)", "jd")
LAT_NAMES = ("lat", "latitude", "纬度", "北纬", "纬度n", "wd")
X_NAMES = ("x", "x坐标", "北坐标", "纵坐标", "纵坐标x", "x(北)", "北坐标x", "xzb")
Y_NAMES = ("y", "y坐标", "东坐标", "横坐标", "横坐标y", "y(东)", "东坐标y", "yzb")
#: point number columns that make a lon/lat table a corner table (a polygon), not a list of points
CORNER_NAMES = ("点号", "界址点号", "界址点", "拐点编号", "拐点号", "拐点", "拐点序号", "界址点编号", "point_no", "jzdh")
ORDER_NAMES = CORNER_NAMES + ("序号", "order", "seq", "point", "pt", "编号顺序")
RING_NAMES = ("圈号", "环号", "ring", "ring_no", "qh")
PART_ID_NAMES = ("地块编号", "宗地号", "宗地编号", "地块号", "site_id", "id", "项目编号", "编号", "parcel",
                 "parcel_id", "dkbh", "zdh", "zdbh", "xmbh")
#: canonical attribute -> header names (normalised) that mean it; the screening attribute
#: names (zoning.screening.attributes.ATTRIBUTES) are the keys
ATTRIBUTE_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("name", "项目名称", "名称", "地块名称", "xmmc", "mc", "dkmc"),
    "industry": ("industry", "行业代码", "行业类别代码", "国民经济行业代码", "主行业", "主行业代码", "hydm", "hylbdm",
                 "zhydm", "industry_code"),
    "industry_other": ("其他行业", "其他行业代码", "次要行业", "次要行业代码", "industry_other", "industry2", "qthydm",
                       "qthy"),
    "two_high": ("two_high", "是否两高", "两高", "是否“两高”项目", "sflg"),
    "chemical": ("chemical", "是否化工", "化工", "是否化工项目", "sfhg"),
    "boiler_th": ("boiler_th", "锅炉蒸吨", "锅炉容量", "锅炉规模", "glzd", "glgm"),
    "boiler_fuel": ("boiler_fuel", "锅炉燃料", "燃料类型", "glrllx", "rllx"),
    "energy_tce": ("energy_tce", "年综合能耗", "综合能耗", "年能耗", "nzhnh", "zhnh"),
    "renewable_share": ("renewable_share", "可再生能源比例", "可再生能源使用比例", "kzsnybl"),
    "clear_share": ("clear_share", "植被清除比例", "清除比例", "占地范围内植被清除比例", "zbqcbl"),
}
CANONICAL_ATTRIBUTES = tuple(k for k in ATTRIBUTE_HEADERS if k != "industry_other")
#: columns of a site file that are bookkeeping, not attributes
BOOKKEEPING = {"site_id", "crs_in", "warnings", "error", "geometry", "kml_id", "placemark_name", "description", "layer",
               "_n", "fid", "objectid", "shape_leng", "shape_area", "shape_length"}

#: columns the reader adds or GIS software keeps for itself: never carried into summaries (the
#: file's own bookkeeping a reader may want, such as a KML description or layer, is)
_NOT_CARRIED = BOOKKEEPING - {"kml_id", "placemark_name", "description", "layer"}


def source_columns(frame) -> list:
    """The columns of a read site frame that are the file's own and no screening attribute
    (项目编号, 建设单位, a KML description …): summaries carry them after their own columns."""
    ids = frame["site_id"].astype(str).tolist() if "site_id" in frame.columns else None
    return [c for c in frame.columns if str(c).lower() not in _NOT_CARRIED and c not in ATTRIBUTE_HEADERS
            and not re.fullmatch(r"industry_\d+", str(c)) and not str(c).startswith("_")
            and not (ids is not None and frame[c].astype(str).tolist() == ids)]  # the id column itself: once


_UNIT_RE = re.compile(r"[（(\[【].*?[）)\]】]")


def norm(header) -> str:
    """A header as compared: no unit in brackets, no spaces or line breaks, lower case."""
    text = re.sub(r"\s+", "", str(header))
    bare = _UNIT_RE.sub("", text)
    return (bare or text).lower()


def unit_of(header) -> str:
    m = _UNIT_RE.search(str(header))
    return m.group(0)[1:-1] if m else ""


def find_column(columns, names) -> str | None:
    """The first column whose normalised header is one of ``names``."""
    by_norm: dict[str, object] = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    for n in names:
        if n in by_norm:
            return by_norm[n]
    return None


# ------------------------------------------------------------------------------------------
# header row detection
_COORD_HEADERS = set(LON_NAMES + LAT_NAMES + X_NAMES + Y_NAMES)


def _header_score(row) -> int:
    return sum(1 for v in row if norm(v) in _COORD_HEADERS)


def frame_from_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """A frame whose header is the first row among the first 20 that names two coordinate
    columns (title rows above it are skipped); the first row when none does.

    Spreadsheet cells holding a formula without a saved value (``rows.attrs["formula_cells"]``,
    positions in ``rows``) are listed in the result's ``attrs["formula_cells"]`` as
    {(data row, header): cell address such as "B3"}."""
    formulas = set(rows.attrs.get("formula_cells", ()))
    rows = rows.fillna("").astype(str)
    if rows.empty:  # an empty file: no header row to read
        raise UnreadableInput("表格为空：没有表头和数据行", "the table is empty: no header and no rows")
    at = 0
    for i in range(min(20, len(rows))):
        if _header_score(rows.iloc[i].tolist()) >= 2:
            at = i
            break
    header = [str(h).strip() for h in rows.iloc[at].tolist()]
    body = rows.iloc[at + 1:].reset_index(drop=True)
    # unnamed trailing columns and blank rows are layout, not data
    keep = [i for i, h in enumerate(header) if h or body.iloc[:, i].str.strip().ne("").any()]
    header = [h if h else f"column{i + 1}" for i, h in enumerate(header)]
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        if h in seen:
            seen[h] += 1
            header[i] = f"{h}_{seen[h]}"
        else:
            seen[h] = 1
    body.columns = header
    body = body.iloc[:, keep]
    body = body[body.apply(lambda r: r.str.strip().ne("").any(), axis=1)]
    cells = {}
    if formulas:
        from openpyxl.utils import get_column_letter

        for new_row, old_row in enumerate(body.index):
            for c in keep:
                if (at + 1 + old_row, c) in formulas:
                    cells[(new_row, header[c])] = f"{get_column_letter(c + 1)}{at + 2 + old_row}"
    body = body.reset_index(drop=True)
    body.attrs["formula_cells"] = cells
    return body


def _named(read, rows, name: str):
    """``read(rows)`` with a refusal that does not name its file named by ``name``."""
    try:
        return read(rows)
    except UnreadableInput as exc:
        if name in exc.zh:
            raise
        raise UnreadableInput(f"{name}：{exc.zh}", f"{name}: {exc.en}") from None


def read_excel_rows(path: Path) -> pd.DataFrame:
    """The first sheet's rows. Formulas are read as Excel saved their values; a formula cell with
    no saved value (a workbook written by a program, never opened in Excel) keeps its formula text
    (``=HYPERLINK(…)``) instead of coming out empty, and is listed in ``attrs["formula_cells"]``."""
    from zoning.io.vector import not_valid_file

    try:
        raw = pd.read_excel(path, dtype=str, header=None)
    except Exception:  # the reader's own words (zipfile, openpyxl) help nobody
        raise not_valid_file(path.name, path) from None
    if path.suffix.lower() == ".xlsx" and raw.isna().to_numpy().any():
        raw = _formula_texts(path, raw)
    return _named(frame_from_rows, raw, path.name)


def _formula_texts(path: Path, raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` with every empty cell that holds a formula in the workbook filled with the formula's
    text; their positions in ``attrs["formula_cells"]``."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception:  # noqa: BLE001 - the values were read: the formulas are a courtesy
        return raw
    out = raw.copy()
    found = set()
    try:
        sheet = book.worksheets[0]
        for r, row in enumerate(sheet.iter_rows(values_only=True)):
            if r >= out.shape[0]:
                break
            for c, value in enumerate(row[:out.shape[1]]):
                text = getattr(value, "text", value)  # an ArrayFormula carries its text
                if isinstance(text, str) and text.startswith("=") and pd.isna(out.iat[r, c]):
                    out.iat[r, c] = text
                    found.add((r, c))
    finally:
        book.close()
    out.attrs["formula_cells"] = found
    return out


def read_csv_rows(text: str, path: Path) -> pd.DataFrame:
    from io import StringIO
    lines = [ln for ln in text.splitlines()]
    sample = "\n".join(ln for ln in lines[:50] if ln.strip())
    delim = max(",\t;，", key=lambda d: sample.count(d))
    if delim == "，":
        text = text.replace("，", ",")
        delim = ","
    width = max((ln.count(delim) for ln in lines), default=0) + 1
    try:
        raw = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, header=None, sep=delim,
                          names=range(width), engine="python", skip_blank_lines=True)
    except Exception as exc:
        raise UnreadableInput(f"无法解析 CSV {path.name}：不是有效的 CSV 表格（格式不对或已损坏）",
                              f"cannot parse CSV {path.name}: {exc}") from None
    return _named(frame_from_rows, raw, path.name)


# ------------------------------------------------------------------------------------------
# angles
_DMS_RE = re.compile(
    r"^\s*([NSEW东西南北]|东经|西经|北纬|南纬)?\s*(-?\d+(?:\.\d+)?)\s*(?:[°度:]\s*(?:(\d+(?:\.\d+)?)\s*['′’分:]?\s*"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|”|''|′′|秒)?)?)?)?\s*([NSEW东西南北])?\s*$", re.IGNORECASE)


def parse_angle(value) -> float:
    """Decimal degrees or 度分秒 (``118°10'12"E``, ``东经118度10分12秒``, ``N26°38′24″``) -> degrees.

    NaN for an empty cell; ValueError for text that is not an angle.
    """
    text = str(value).strip()
    if text in ("", "nan", "None"):
        return float("nan")
    m = _DMS_RE.match(text)
    if not m:
        raise ValueError(text)
    pre, deg, minutes, seconds, post = m.groups()
    minutes_f, seconds_f = float(minutes or 0), float(seconds or 0)
    if minutes_f >= 60 or seconds_f >= 60:
        raise ValueError(text)
    number = float(deg)
    sign = -1.0 if number < 0 else 1.0
    out = abs(number) + minutes_f / 60 + seconds_f / 3600
    hemi = (pre or post or "").upper()
    if hemi and hemi[0] in ("S", "W", "西", "南"):
        sign = -1.0
    return sign * out


def angle_values(values: pd.Series, column: str, source: str) -> np.ndarray:
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = parse_angle(v)
        except ValueError:
            raise UnreadableInput(f"{source} 第 {i + 1} 个数据行 {column} 列不是角度（小数度或度分秒）：{v!r}",
                                  f"{source} data row {i + 1}: column {column} is not a number (decimal degrees "
                                  f"or DMS): {v!r}") from None
    return out


def number_values(values: pd.Series, column: str, source: str) -> np.ndarray:
    text = values.astype(str).str.strip().str.replace(",", "", regex=False)
    out = pd.to_numeric(text.replace({"": np.nan, "nan": np.nan}), errors="coerce").to_numpy(dtype="float64")
    bad = np.isnan(out) & text.ne("").to_numpy() & text.ne("nan").to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise UnreadableInput(f"{source} 第 {i + 1} 个数据行 {column} 列不是数字：{values.iloc[i]!r}",
                              f"{source} data row {i + 1}: column {column} is not a number: {values.iloc[i]!r}")
    return out


# ------------------------------------------------------------------------------------------
# rings -> polygons
def rings_to_geometry(rings: list[list[tuple[float, float]]]):
    """Polygon or MultiPolygon from rings in any order: each ring, largest first, is a hole of
    the first shell that contains it, otherwise a new shell. None when no ring has 3 points."""
    clean = []
    for ring in rings:
        ring = list(ring)
        if len(ring) >= 2 and ring[0] == ring[-1]:
            ring = ring[:-1]
        if len(ring) >= 3:
            clean.append(ring)
    if not clean:
        return None
    clean.sort(key=lambda r: -abs(Polygon(r).area))
    shells: list[tuple[Polygon, list]] = []
    for ring in clean:
        poly = Polygon(ring)
        for shell, holes in shells:
            if shell.contains(poly.representative_point()) and shell.buffer(0).covers(poly.buffer(0)):
                holes.append(ring)
                break
        else:
            shells.append((poly, []))
    polys = [Polygon(shell.exterior.coords, holes) for shell, holes in shells]  # the points in their given order
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def corner_polygons(ids, rings, order, xs, ys) -> list[tuple[str, object, int]]:
    """(site id, polygon, number of points) per id from corner rows (x = easting/lon, y = northing/lat)."""
    work = pd.DataFrame({"sid": list(ids), "ring": list(rings), "order": list(order), "x": xs, "y": ys})
    out = []
    for sid, grp in work.groupby("sid", sort=False):
        ring_list = []
        for _, part in grp.groupby("ring", sort=False):
            part = part.sort_values("order", kind="stable")
            ring_list.append(list(zip(part["x"], part["y"])))
        out.append((str(sid), rings_to_geometry(ring_list), len(grp)))
    return out


def order_numbers(values: pd.Series) -> np.ndarray:
    """Point numbers (J1, 2, 拐点3 …) as floats for sorting; row order where there is none."""
    found = values.astype(str).str.extract(r"(\d+)", expand=False).astype(float).to_numpy()
    return np.where(np.isnan(found), np.arange(len(found), dtype=float), found)


# ------------------------------------------------------------------------------------------
# 界址点 coordinate text file (国土资源部 land-use submission format)
def is_jzd_text(text: str) -> bool:
    return "[地块坐标]" in text


def read_jzd_text(text: str, source: str) -> tuple[pd.DataFrame, dict, list[str]]:
    """Parse a 界址点 coordinate text file.

    Returns (frame of site_id, geometry (x = easting as written, y = northing), attributes…),
    the ``[属性描述]`` entries, and notes. Each parcel starts with a line
    ``点数,面积(公顷),地块编号,地块名称,类型,图幅号,用途,地类编码,@``, followed by its points
    ``点号,圈号,X(北),Y(东)``.
    """
    meta: dict[str, str] = {}
    section = None
    parcels: list[dict] = []
    for raw in text.splitlines():
        line = raw.strip().replace("，", ",")
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line
            continue
        if section == "[属性描述]":
            if "=" in line:
                k, v = line.split("=", 1)
                meta[k.strip()] = v.strip()
            continue
        if section != "[地块坐标]":
            continue
        parts = [p.strip() for p in line.split(",")]
        if parts[-1] == "@":
            fields = parts[:-1] + [""] * 9
            parcels.append({"count": fields[0], "area_ha": fields[1], "code": fields[2], "name": fields[3],
                            "shape": fields[4], "sheet": fields[5], "use": fields[6], "landclass": fields[7],
                            "points": []})
            continue
        if len(parts) < 4:
            raise UnreadableInput(f"{source}：无法解析坐标行 {raw.strip()[:80]!r}（应为 点号,圈号,X,Y）",
                                  f"{source}: cannot parse coordinate line {raw.strip()[:80]!r} (expected "
                                  f"point,ring,X,Y)")
        if not parcels:
            parcels.append({"count": "", "area_ha": "", "code": "", "name": "", "shape": "", "sheet": "",
                            "use": "", "landclass": "", "points": []})
        try:
            north, east = float(parts[2]), float(parts[3])
        except ValueError:
            raise UnreadableInput(f"{source}：坐标行 {raw.strip()[:80]!r} 的 X、Y 不是数字",
                                  f"{source}: X/Y of line {raw.strip()[:80]!r} are not numbers") from None
        parcels[-1]["points"].append((parts[0], parts[1], north, east))
    if not parcels or not any(p["points"] for p in parcels):
        raise SiteError(f"{source} 的 [地块坐标] 中没有界址点", f"{source}: [地块坐标] holds no boundary points")
    notes: list[str] = []
    zone = meta.get("带号", "").strip()
    rows = []
    for i, p in enumerate(parcels, start=1):
        pts = p["points"]
        if not pts:
            continue
        easts = np.array([e for *_, e in pts])
        norths = np.array([n for _, _, n, _ in pts])
        # eastings without the zone prefix (6 digits) and northings (7 digits): the header names the
        # zone. Other values (X and Y swapped: a prefixed or 7-digit value in the Y column) are left
        # as written, so that the reader says what is wrong instead of moving the site a zone away
        if zone.isdigit() and np.all((easts >= 0) & (easts < 1e6)) and np.all(np.abs(norths) < 1e7):
            easts = easts + int(zone) * 1e6
        rings: dict[str, list] = {}
        for (pt, ring, north, _), east in zip(pts, easts):
            rings.setdefault(ring, []).append((east, north))
        geom = rings_to_geometry(list(rings.values()))
        row = {"site_id": p["code"] or f"S{i}", "geometry": geom, "_n": len(pts)}
        if p["name"]:
            row["name"] = p["name"]
        if p["area_ha"]:
            row["地块面积(公顷)"] = p["area_ha"]
        if p["use"]:
            row["地块用途"] = p["use"]
        if p["landclass"]:
            row["地类编码"] = p["landclass"]
        if p["sheet"]:
            row["图幅号"] = p["sheet"]
        rows.append(row)
    if meta.get("坐标系"):
        notes.append(f"界址点文件声明坐标系：{meta['坐标系']}，带号 {zone or '—'} / declared CRS {meta['坐标系']}, "
                     f"zone {zone or '—'}")
    return pd.DataFrame(rows), meta, notes


# ------------------------------------------------------------------------------------------
# attribute columns
def blank_column(values: pd.Series) -> bool:
    """True when no cell of ``values`` holds anything (None, NaN, blank text)."""
    return bool(values.astype(object).where(values.notna(), "").astype(str).str.strip().isin(["", "nan", "None"]).all())


def header_index() -> dict[str, str]:
    """Normalised header → the canonical attribute it names (``项目名称`` → ``name``)."""
    return _header_index()


def _header_index() -> dict[str, str]:
    out = {}
    for canonical, names in ATTRIBUTE_HEADERS.items():
        for n in names:
            out[norm(n)] = canonical
    return out


def load_fields(fields) -> dict[str, str]:
    """``fields`` as {canonical: column}: a mapping, ``["energy_tce=能耗", …]`` or a YAML/JSON
    mapping file (or a list mixing pairs and files)."""
    if fields is None:
        return {}
    if isinstance(fields, dict):
        return {str(k).strip(): str(v).strip() for k, v in fields.items()}
    if isinstance(fields, (str, Path)):
        fields = [fields]
    out: dict[str, str] = {}
    for item in fields:
        text = str(item)
        if "=" in text:
            k, v = text.split("=", 1)
            out[k.strip()] = v.strip()
            continue
        path = Path(text)
        if not path_is_file(path):
            raise SiteError(f"字段映射应写成 CANONICAL=COLUMN 或映射文件路径：{text!r}",
                            f"a field mapping is CANONICAL=COLUMN or a mapping file: {text!r}")
        # UTF-8 or GBK; size, nesting and aliases bounded; unsafe tags refused: one line for each
        body = read_text(path, "字段映射文件", "field mapping file", error=SiteError, max_bytes=MAX_MAPPING_BYTES)
        data = (load_json(body, path.name, error=SiteError) if path.suffix.lower() == ".json"
                else load_yaml(body, path.name, error=SiteError))
        if isinstance(data, dict) and isinstance(data.get("fields"), dict):
            data = data["fields"]
        if not isinstance(data, dict):
            raise SiteError(f"{path.name} 应为 属性名: 列名 的映射", f"{path.name} must map attribute names to columns")
        out.update({str(k).strip(): str(v).strip() for k, v in data.items()})
    return out


def _scale(values: pd.Series, factor: float) -> pd.Series:
    nums = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    return values.where(nums.isna(), (nums * factor).map(lambda v: f"{v:g}"))


def canonical_attributes(frame: pd.DataFrame, fields=None, *, used=(), truncated=False
                         ) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with attribute columns renamed to canonical names, and notes.

    A column is an attribute when ``fields`` names it, or its header (unit removed) is a
    canonical name, a Chinese name or pinyin initials of one (``truncated``: also a
    shapefile field cut at 10 bytes, i.e. a prefix of one name). Several industry columns
    become ``industry``, ``industry_2`` …. Columns not recognised keep their names and are
    listed in a note: nothing is dropped.
    """
    mapping = load_fields(fields)
    notes: list[str] = []
    unknown = [k for k in mapping if k not in CANONICAL_ATTRIBUTES]
    if unknown:
        raise SiteError(f"--field 中的属性名未知：{unknown}；可用：{', '.join(CANONICAL_ATTRIBUTES)}",
                        f"unknown attribute in --field: {unknown}; known: {', '.join(CANONICAL_ATTRIBUTES)}")
    missing = [v for v in mapping.values() if v not in frame.columns]
    if missing:
        # the user's columns only (not the geometry or the ids/warnings the reader added)
        own = [str(c) for c in frame.columns if c not in ("geometry", "site_id", "crs_in", "warnings", "error")]
        raise SiteError(f"--field 指定的列不存在：{missing}；文件中的列：{own}",
                        f"--field names columns that do not exist: {missing}; the file has {own}")
    index = _header_index()
    chosen: dict[object, str] = {v: k for k, v in mapping.items()}
    taken = set(mapping)
    skip = set(used) | {c for c in frame.columns if str(c).lower() in BOOKKEEPING
                        or norm(c) in PART_ID_NAMES or norm(c) in ORDER_NAMES or norm(c) in RING_NAMES}
    # columns named exactly by a canonical name first: an alias never displaces them; of two columns
    # meaning the same attribute, one that holds values before one that is empty throughout (a KML
    # <Schema> declares every field for every placemark)
    ordered = sorted(frame.columns, key=lambda c: (norm(c) not in CANONICAL_ATTRIBUTES,
                                                   isinstance(c, str) and blank_column(frame[c])))
    for col in ordered:
        if col in chosen or col in skip or not isinstance(col, str):
            continue
        key = norm(col)
        canonical = index.get(key)
        if canonical is None and truncated and len(key.encode("utf-8")) >= 6:
            hits = {c for n, c in index.items() if n.startswith(key)}
            canonical = hits.pop() if len(hits) == 1 else None
        if canonical is None:
            continue
        if canonical != "industry" and canonical != "industry_other" and canonical in taken:
            continue
        chosen[col] = canonical
        taken.add(canonical)
    rename: dict[object, str] = {}
    n_industry = 0
    for col, canonical in sorted(chosen.items(), key=lambda kv: kv[1] != "industry"):
        if canonical in ("industry", "industry_other"):
            n_industry += 1
            rename[col] = "industry" if n_industry == 1 else f"industry_{n_industry}"
        else:
            rename[col] = canonical
    out = frame.copy()
    for col, new in rename.items():
        unit = unit_of(col)
        if new in ("energy_tce", "boiler_th") and unit.startswith("万"):
            out[col] = _scale(out[col], 1e4)
            notes.append(f"列 {col} 以万为单位，已乘以 10000 / column {col} is in units of 10^4: multiplied by 10000")
        if str(col) != new:
            notes.append(f"列 {col} 读作 {new} / column {col} read as {new}")
    clash = [c for c in rename.values() if c in out.columns and c not in rename]
    if clash:  # a column already called so, displaced by --field: kept under another name, and said
        out = out.rename(columns={c: f"{c}_原列" for c in clash})
        notes.append(f"列 {', '.join(clash)} 已改名为 {', '.join(c + '_原列' for c in clash)}（--field 指定了其他列）/ "
                     f"column(s) {', '.join(clash)} renamed {', '.join(c + '_原列' for c in clash)} (--field maps "
                     f"another column)")
    out = out.rename(columns=rename)
    rest = [c for c in out.columns if c not in rename.values() and c not in skip and str(c).lower() not in BOOKKEEPING
            and c != "geometry"]
    if rest:
        notes.append(f"未识别为筛查属性的列（未用于判断，原样写入汇总表）：{', '.join(map(str, rest))}；如需使用请加 "
                     f"--field 属性名=列名 / columns not used as screening attributes (carried into the summaries as "
                     f"they are): "
                     f"{', '.join(map(str, rest))}; map one with --field NAME=COLUMN")
    return out, notes


# ------------------------------------------------------------------------------------------
# shapefiles: zips, folders, cut field names
def repair_dbf_field_names(dbf: Path) -> bool:
    """Drop the broken tail of UTF-8 field names cut mid-character at 10 bytes (GDAL/QGIS do this).

    Rewrites ``dbf`` in place; True when a name was repaired.
    """
    data = bytearray(dbf.read_bytes())
    if len(data) < 32:
        return False
    hlen = int.from_bytes(data[8:10], "little")
    changed = False
    names: set[bytes] = set()
    pos = 32
    while pos + 32 <= hlen and data[pos] != 0x0D:
        raw = bytes(data[pos:pos + 11]).split(b"\0", 1)[0]
        try:
            raw.decode("utf-8")
            fixed = raw
        except UnicodeDecodeError:
            fixed = raw.decode("utf-8", errors="ignore").encode("utf-8")
        if fixed != raw:
            base, n = fixed, 1
            while fixed in names:
                n += 1
                fixed = base[:10 - len(str(n))] + str(n).encode()
            data[pos:pos + 11] = fixed.ljust(11, b"\0")
            changed = True
        names.add(fixed)
        pos += 32
    if changed:
        dbf.write_bytes(bytes(data))
    return changed


def dbf_needs_repair(dbf: Path) -> bool:
    """True when a field name of ``dbf`` (a UTF-8 DBF) is not valid UTF-8."""
    data = dbf.read_bytes()[:8192]
    if len(data) < 32:
        return False
    hlen = int.from_bytes(data[8:10], "little")
    pos = 32
    while pos + 32 <= min(hlen, len(data)) and data[pos] != 0x0D:
        try:
            data[pos:pos + 11].split(b"\0", 1)[0].decode("utf-8")
        except UnicodeDecodeError:
            return True
        pos += 32
    return False


def copy_shapefile(shp: Path, into: Path) -> Path:
    for part in shp.parent.iterdir():
        if part.stem == shp.stem and part.is_file():
            shutil.copy2(part, into / part.name)
    return into / shp.name


def vector_files(folder: Path) -> list[Path]:
    """Site-like vector files inside ``folder`` (recursively), shapefiles first."""
    found = []
    for pattern in ("*.shp", "*.geojson", "*.gpkg", "*.kml", "*.json"):
        found += sorted(p for p in folder.rglob(pattern) if not p.name.startswith(("._", "."))
                        and "__MACOSX" not in p.parts)
    return found


def extract_zip(path: Path) -> tempfile.TemporaryDirectory:
    """A zip of site files unpacked into a temporary folder (removed when the object is cleaned
    up): ``../`` and absolute entries, links and zip bombs refused (zoning.io.archive)."""
    tmp = tempfile.TemporaryDirectory(prefix="zoning-zip-")
    try:
        unpack_zip(path, Path(tmp.name))
    except BaseException:
        tmp.cleanup()
        raise
    return tmp


# ------------------------------------------------------------------------------------------
# the 界址点 table of a polygon site
#: most corner points listed in a report (a longer boundary is summarised by its count)
MAX_CORNERS = 2000


def corner_rows(geom, epsg: int) -> list[dict]:
    """The 界址点 of a (multi)polygon in GK zone ``epsg``: one row per vertex, numbered J1, J2 …
    across rings (closing points not repeated), with part (地块), ring (圈号: 1 = outer boundary),
    X = northing and Y = easting in metres (3 decimals). Empty for other geometries."""
    return corner_tables([geom], [epsg])[0]


def _rank_in_group(group: np.ndarray) -> np.ndarray:
    """1, 2, 3 … within each run of equal values of a non-decreasing array."""
    if not len(group):
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    return np.arange(len(group)) - first + 1


def corner_tables(geoms, epsgs) -> list[list[dict]]:
    """:func:`corner_rows` of many geometries (``epsgs[i]``: the GK zone of ``geoms[i]``), with one
    coordinate transform per zone instead of one per site."""
    import shapely

    from zoning.geo.crs import transformer

    geoms = np.asarray(geoms, dtype=object)
    epsgs = np.asarray(epsgs)
    out: list[list[dict]] = [[] for _ in range(len(geoms))]
    polygonal = np.array([g is not None and not g.is_empty and g.geom_type.endswith("Polygon") for g in geoms],
                         dtype=bool)
    for epsg in np.unique(epsgs[polygonal]) if polygonal.any() else ():
        sites = np.flatnonzero(polygonal & (epsgs == epsg))
        parts, part_site = shapely.get_parts(geoms[sites], return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)  # exterior first, then holes
        xy, vertex_ring = shapely.get_coordinates(rings, return_index=True)
        # the closing point of each ring is not a corner of its own
        last = np.r_[np.flatnonzero(np.diff(vertex_ring)), len(vertex_ring) - 1]
        keep = np.ones(len(vertex_ring), dtype=bool)
        keep[last] = False
        xy, vertex_ring = xy[keep], vertex_ring[keep]
        vertex_part = ring_part[vertex_ring]
        vertex_site = part_site[vertex_part]
        number = _rank_in_group(vertex_site)
        listed = number <= MAX_CORNERS
        east, north = transformer(4490, int(epsg)).transform(xy[listed, 0], xy[listed, 1])
        part_no = _rank_in_group(part_site)[vertex_part[listed]].tolist()
        ring_no = _rank_in_group(ring_part)[vertex_ring[listed]].tolist()
        for site, n, p, r, e, nn in zip(vertex_site[listed].tolist(), number[listed].tolist(), part_no, ring_no,
                                        np.asarray(east).tolist(), np.asarray(north).tolist()):
            out[sites[site]].append({"point": f"J{n}", "part": p, "ring": r, "x": round(nn, 3), "y": round(e, 3)})
    return out
