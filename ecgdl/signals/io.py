"""Readers and writers of 12-lead signals: WFDB (PTB-XL), the Kaggle signal CSV and train/test layout, resampling.

Every reader returns an :class:`~ecgdl.signals.record.EcgRecord` in :data:`ecgdl.constants.LEADS` order, in mV,
and raises ``FileNotFoundError`` / ``ValueError`` naming the file and what is wrong with it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import pandas as pd
import wfdb
from scipy import signal as sps

from ecgdl.constants import LEADS, N_LEADS
from ecgdl.signals.record import EcgRecord

#: Lower-cased lead name -> canonical name ('AVR' and 'avr' -> 'aVR', 'v1' -> 'V1').
_LEAD_BY_LOWER: dict[str, str] = {name.lower(): name for name in LEADS}
#: Physical units accepted from WFDB headers, as factors to mV.
_TO_MV: dict[str, float] = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}
_IMAGE_TYPE_RE = re.compile(r"^\d{4}$")
_IMAGE_EXTS = (".png", ".jpg", ".jpeg")


def canonical_lead_name(name: str) -> str | None:
    """The :data:`LEADS` spelling of ``name`` (case-insensitive, surrounding blanks ignored), or None."""
    return _LEAD_BY_LOWER.get(str(name).strip().lower())


def _lead_columns(names: list[str], where: str) -> list[int]:
    """Index into ``names`` of each lead of :data:`LEADS`; ValueError naming ``where`` if one is missing."""
    found: dict[str, int] = {}
    for i, raw in enumerate(names):
        lead = canonical_lead_name(raw)
        if lead is None:
            continue
        if lead in found:
            raise ValueError(f"{where}: lead {lead} appears twice (as {names[found[lead]]!r} and {raw!r})")
        found[lead] = i
    missing = [lead for lead in LEADS if lead not in found]
    if missing:
        raise ValueError(f"{where}: missing lead(s) {', '.join(missing)}; found {list(names)}")
    return [found[lead] for lead in LEADS]


def _strip_wfdb_ext(path: str | Path) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".hea", ".dat") else p


# --------------------------------------------------------------------------------------------------- WFDB


def read_wfdb(path: str | Path) -> EcgRecord:
    """Read a WFDB record (``path`` without extension, or the ``.hea`` path) as a 12-lead record in mV."""
    base = _strip_wfdb_ext(path)
    header = base.with_name(base.name + ".hea")
    if not header.is_file():
        raise FileNotFoundError(f"{header}: WFDB header not found")
    try:
        rec = wfdb.rdrecord(str(base))
    except Exception as err:
        raise ValueError(f"{header}: cannot read WFDB record ({type(err).__name__}: {err})") from err
    if rec.p_signal is None:
        raise ValueError(f"{header}: WFDB record has no physical signal")
    cols = _lead_columns(list(rec.sig_name or []), str(header))
    units = list(rec.units or ["mV"] * len(rec.sig_name))
    factors = []
    for c in cols:
        unit = str(units[c]).strip().lower()
        if unit not in _TO_MV:
            raise ValueError(
                f"{header}: lead {rec.sig_name[c]} has unsupported units {units[c]!r} (want mV, uV or V)"
            )
        factors.append(_TO_MV[unit])
    signal = np.asarray(rec.p_signal, dtype=np.float64)[:, cols] * np.asarray(factors)
    meta = {"source": "wfdb", "path": str(base), "comments": list(rec.comments or [])}
    return EcgRecord(signal_mv=signal, fs_hz=float(rec.fs), record_id=base.name, meta=meta)


def write_wfdb(record: EcgRecord, path: str | Path, adc_gain: float = 1000.0) -> Path:
    """Write ``record`` as WFDB format 16 (``adc_gain`` digital units per mV; 1000 = 1 uV, as PTB-XL).

    ``path`` is the record path without extension; returns it. NaN samples are stored as WFDB's missing value.
    """
    base = _strip_wfdb_ext(path)
    if not re.fullmatch(r"[-\w]+", base.name):
        raise ValueError(f"{base}: WFDB record names may contain only letters, digits, '-' and '_'")
    if not adc_gain > 0:
        raise ValueError(f"{base}: adc_gain must be positive, got {adc_gain}")
    sig = record.signal_mv
    limit = 32767.0 / adc_gain
    peak = float(np.nanmax(np.abs(sig))) if np.any(np.isfinite(sig)) else 0.0
    if peak > limit:
        raise ValueError(
            f"{base}: |signal| reaches {peak:.3f} mV, beyond the {limit:.3f} mV that format 16 holds at "
            f"adc_gain={adc_gain}; lower adc_gain"
        )
    if np.any(np.isinf(sig)):
        raise ValueError(f"{base}: signal contains inf")
    base.parent.mkdir(parents=True, exist_ok=True)
    fs = float(record.fs_hz)
    wfdb.wrsamp(
        base.name,
        fs=int(fs) if fs.is_integer() else fs,
        units=["mV"] * N_LEADS,
        sig_name=list(LEADS),
        p_signal=np.array(sig, dtype=np.float64),
        fmt=["16"] * N_LEADS,
        adc_gain=[float(adc_gain)] * N_LEADS,
        baseline=[0] * N_LEADS,
        write_dir=str(base.parent),
    )
    return base


# --------------------------------------------------------------------------------------------- Kaggle CSV


def read_kaggle_signal_csv(path: str | Path, fs_hz: float, record_id: str | None = None) -> EcgRecord:
    """Read a Kaggle ``<id>.csv`` (columns I..V6, empty field = NaN) exactly (float round trip)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: signal CSV not found")
    try:
        df = pd.read_csv(p, float_precision="round_trip")
    except Exception as err:
        raise ValueError(f"{p}: cannot parse signal CSV ({type(err).__name__}: {err})") from err
    cols = _lead_columns([str(c) for c in df.columns], str(p))
    if len(df) == 0:
        raise ValueError(f"{p}: signal CSV has no rows")
    try:
        signal = df.iloc[:, cols].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{p}: non-numeric value in signal CSV ({err})") from err
    rid = p.stem if record_id is None else record_id
    return EcgRecord(
        signal_mv=signal, fs_hz=float(fs_hz), record_id=rid, meta={"source": "kaggle", "path": str(p)}
    )


def write_kaggle_signal_csv(record: EcgRecord, path: str | Path) -> Path:
    """Write ``record`` as a Kaggle signal CSV: header I..V6, shortest round-trip float text, NaN as empty."""
    p = Path(path)
    if np.any(np.isinf(record.signal_mv)):
        raise ValueError(f"{p}: record {record.record_id!r} contains inf, which a Kaggle CSV cannot hold")
    p.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(LEADS)]
    for row in record.signal_mv.tolist():
        lines.append(",".join("" if v != v else repr(v) for v in row))
    p.write_text("\n".join(lines) + "\n", encoding="ascii")
    return p


class KaggleItem(NamedTuple):
    """One train item: id, sampling rate, its signal CSV and its images as (4-digit type, path), sorted by type."""

    id: str
    fs_hz: float
    signal_path: Path
    images: list[tuple[str, Path]]


def _check_id(item_id: str, where: str) -> str:
    sid = str(item_id)
    if not sid or not re.fullmatch(r"[-\w.]+", sid) or sid in (".", ".."):
        raise ValueError(f"{where}: invalid item id {item_id!r} (letters, digits, '-', '_', '.' only)")
    return sid


def _fs_value(fs: float) -> int | float:
    f = float(fs)
    return int(f) if f.is_integer() else f


class KaggleLayout:
    """The Kaggle train layout under ``root``: ``train.csv`` (id,fs,sig_len) and ``train/<id>/<id>[-<type>].*``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._pending: dict[str, tuple[int | float, int]] = {}

    @property
    def index_path(self) -> Path:
        return self.root / "train.csv"

    def item_dir(self, item_id: str) -> Path:
        return self.root / "train" / _check_id(item_id, str(self.root))

    def signal_path(self, item_id: str) -> Path:
        sid = _check_id(item_id, str(self.root))
        return self.item_dir(sid) / f"{sid}.csv"

    def read_index(self) -> pd.DataFrame:
        """``train.csv`` as a DataFrame: ``id`` (str), ``fs`` (float), ``sig_len`` (int)."""
        path = self.index_path
        if not path.is_file():
            raise FileNotFoundError(f"{path}: Kaggle index train.csv not found")
        try:
            df = pd.read_csv(path, dtype={"id": str})
        except Exception as err:
            raise ValueError(f"{path}: cannot parse index ({type(err).__name__}: {err})") from err
        missing = [c for c in ("id", "fs", "sig_len") if c not in df.columns]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
        try:
            fs = pd.to_numeric(df["fs"], errors="raise").astype(np.float64)
            sig_len = pd.to_numeric(df["sig_len"], errors="raise")
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: non-numeric fs or sig_len ({err})") from err
        if df["id"].isna().any() or fs.isna().any() or sig_len.isna().any():
            raise ValueError(f"{path}: empty id, fs or sig_len field")
        if (fs <= 0).any() or (sig_len <= 0).any() or not np.all(sig_len == np.round(sig_len)):
            raise ValueError(f"{path}: fs must be positive and sig_len a positive integer")
        if df["id"].duplicated().any():
            dup = sorted(df.loc[df["id"].duplicated(), "id"].unique())[:5]
            raise ValueError(f"{path}: duplicated id(s) {dup}")
        return pd.DataFrame({"id": df["id"].astype(str), "fs": fs, "sig_len": sig_len.astype(np.int64)})

    def image_paths(self, item_id: str) -> list[tuple[str, Path]]:
        """Images ``<id>-<type>.{png,jpg,jpeg}`` of one item as (4-digit type, path), sorted by type."""
        sid = _check_id(item_id, str(self.root))
        folder = self.item_dir(sid)
        out = []
        if folder.is_dir():
            for p in folder.iterdir():
                if p.suffix.lower() not in _IMAGE_EXTS or not p.stem.startswith(f"{sid}-"):
                    continue
                img_type = p.stem[len(sid) + 1 :]
                if _IMAGE_TYPE_RE.fullmatch(img_type):
                    out.append((img_type, p))
        return sorted(out)

    def iter_items(self) -> Iterator[KaggleItem]:
        """Items in ``train.csv`` order (the signal CSV may not exist, e.g. for image-only sets)."""
        for row in self.read_index().itertuples(index=False):
            yield KaggleItem(str(row.id), float(row.fs), self.signal_path(row.id), self.image_paths(row.id))

    def read_signal(self, item_id: str, fs_hz: float | None = None, sig_len: int | None = None) -> EcgRecord:
        """The truth signal of one item; its row count must equal ``sig_len`` from ``train.csv``."""
        sid = str(item_id)
        if fs_hz is None or sig_len is None:
            idx = self.read_index()
            rows = idx[idx["id"] == sid]
            if rows.empty:
                raise ValueError(f"{self.index_path}: no item with id {sid!r}")
            fs_hz, sig_len = float(rows["fs"].iloc[0]), int(rows["sig_len"].iloc[0])
        path = self.signal_path(sid)
        record = read_kaggle_signal_csv(path, fs_hz, record_id=sid)
        if record.n_samples != int(sig_len):
            raise ValueError(f"{path}: has {record.n_samples} rows but train.csv says sig_len={sig_len}")
        record.meta["image_paths"] = {t: str(p) for t, p in self.image_paths(sid)}
        return record

    def write_item(
        self,
        item_id: str,
        record: EcgRecord,
        images: Mapping[str, np.ndarray] | None = None,
        extra_files: Mapping[str, str | bytes] | None = None,
    ) -> Path:
        """Write ``train/<id>/<id>.csv``, each image ``<id>-<type>.png`` (H x W x 3 uint8 RGB) and extra files.

        ``extra_files`` maps a file name inside the item folder to its text or bytes. The item is remembered for
        :meth:`write_index`. Returns the item folder.
        """
        sid = _check_id(item_id, str(self.root))
        folder = self.item_dir(sid)
        checked: list[tuple[str, np.ndarray]] = []
        for img_type, img in (images or {}).items():
            where = f"{folder / f'{sid}-{img_type}.png'}"
            if not _IMAGE_TYPE_RE.fullmatch(str(img_type)):
                raise ValueError(f"{where}: image type must be 4 digits, got {img_type!r}")
            arr = np.asarray(img)
            if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
                raise ValueError(f"{where}: image must be H x W x 3 uint8 RGB, got {arr.dtype} {arr.shape}")
            checked.append((str(img_type), arr))
        for name in extra_files or {}:
            if Path(name).name != name or name in (".", ".."):
                raise ValueError(f"{folder}: extra file name {name!r} must be a plain file name")
        folder.mkdir(parents=True, exist_ok=True)
        write_kaggle_signal_csv(record, folder / f"{sid}.csv")
        for img_type, arr in checked:
            out = folder / f"{sid}-{img_type}.png"
            if not cv2.imwrite(str(out), cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR)):
                raise ValueError(f"{out}: OpenCV could not write the image")
        for name, content in (extra_files or {}).items():
            target = folder / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        self._pending[sid] = (_fs_value(record.fs_hz), record.n_samples)
        return folder

    @property
    def pending(self) -> dict[str, tuple[int | float, int]]:
        """Items written or registered here that :meth:`write_index` will add: id -> (fs, sig_len)."""
        return dict(self._pending)

    def register(self, item_id: str, fs_hz: float, sig_len: int) -> None:
        """Remember an item written elsewhere (e.g. by a worker process) for :meth:`write_index`."""
        self._pending[_check_id(item_id, str(self.root))] = (_fs_value(fs_hz), int(sig_len))

    def write_index(self) -> Path:
        """Write ``train.csv``: rows already there (if any), updated and extended by the items written here."""
        rows: dict[str, tuple[int | float, int]] = {}
        if self.index_path.is_file():
            for row in self.read_index().itertuples(index=False):
                rows[str(row.id)] = (_fs_value(row.fs), int(row.sig_len))
        rows.update(self._pending)
        self.root.mkdir(parents=True, exist_ok=True)
        df = pd.DataFrame(
            {"id": list(rows), "fs": [v[0] for v in rows.values()], "sig_len": [v[1] for v in rows.values()]}
        )
        df.to_csv(self.index_path, index=False)
        return self.index_path


def read_test_csv(path: str | Path) -> pd.DataFrame:
    """Kaggle ``test.csv``: columns ``id`` (str), ``lead`` (canonical name), ``fs`` (float), ``number_of_rows`` (int)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: test.csv not found")
    try:
        df = pd.read_csv(p, dtype={"id": str, "lead": str})
    except Exception as err:
        raise ValueError(f"{p}: cannot parse test CSV ({type(err).__name__}: {err})") from err
    missing = [c for c in ("id", "lead", "fs", "number_of_rows") if c not in df.columns]
    if missing:
        raise ValueError(f"{p}: missing column(s) {missing}; found {list(df.columns)}")
    leads = [canonical_lead_name(v) for v in df["lead"].astype(str)]
    bad = sorted({str(v) for v, lead in zip(df["lead"], leads, strict=True) if lead is None})
    if bad:
        raise ValueError(f"{p}: unknown lead name(s) {bad}; valid: {list(LEADS)}")
    try:
        fs = pd.to_numeric(df["fs"], errors="raise").astype(np.float64)
        n_rows = pd.to_numeric(df["number_of_rows"], errors="raise")
    except (TypeError, ValueError) as err:
        raise ValueError(f"{p}: non-numeric fs or number_of_rows ({err})") from err
    if (fs <= 0).any() or (n_rows <= 0).any() or not np.all(n_rows == np.round(n_rows)):
        raise ValueError(f"{p}: fs must be positive and number_of_rows a positive integer")
    return pd.DataFrame(
        {"id": df["id"].astype(str), "lead": leads, "fs": fs, "number_of_rows": n_rows.astype(np.int64)}
    )


# ------------------------------------------------------------------------------------------------- PTB-XL


class PtbXlIndex:
    """PTB-XL records under ``root``: from its ``RECORDS`` file if present, else ``records500/*/*_hr.hea`` (sorted)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: PTB-XL root folder not found")
        listing = self.root / "RECORDS"
        if listing.is_file():
            names = [ln.strip() for ln in listing.read_text().splitlines() if ln.strip()]
        else:
            names = sorted(
                str(p.relative_to(self.root).with_suffix("")) for p in self.root.glob("records500/*/*_hr.hea")
            )
        if not names:
            raise FileNotFoundError(
                f"{self.root}: no PTB-XL records (no RECORDS file and no records500/*/*_hr.hea)"
            )
        self.records: list[str] = names

    def __len__(self) -> int:
        return len(self.records)

    def path(self, index: int) -> Path:
        """Record path (without extension) of entry ``index``."""
        if not -len(self.records) <= index < len(self.records):
            raise IndexError(f"{self.root}: record index {index} out of range 0..{len(self.records) - 1}")
        return self.root / self.records[index]

    def read(self, index: int) -> EcgRecord:
        """Entry ``index`` as a 12-lead record (record_id = the file stem, e.g. '00201_hr')."""
        return read_wfdb(self.path(index))


# ----------------------------------------------------------------------------------------------- resample


def resample_record(record: EcgRecord, fs_hz: float, max_denominator: int = 1000) -> EcgRecord:
    """``record`` at ``fs_hz`` by polyphase filtering (scipy ``resample_poly``), ``round(T * fs_hz / fs)`` samples.

    The ratio is approximated by a fraction with denominator at most ``max_denominator`` (exact for the Kaggle
    rates). The record must be NaN-free.
    """
    fs_new = float(fs_hz)
    if not (math.isfinite(fs_new) and fs_new > 0):
        raise ValueError(f"record {record.record_id!r}: target fs_hz must be positive, got {fs_hz}")
    if not np.all(np.isfinite(record.signal_mv)):
        raise ValueError(f"record {record.record_id!r}: cannot resample a signal with NaN/inf samples")
    meta = dict(record.meta)
    if fs_new == float(record.fs_hz):
        return EcgRecord(record.signal_mv.copy(), fs_new, record.record_id, meta)
    ratio = Fraction(fs_new / float(record.fs_hz)).limit_denominator(max_denominator)
    out = sps.resample_poly(record.signal_mv, ratio.numerator, ratio.denominator, axis=0)
    n_out = round(record.n_samples * fs_new / float(record.fs_hz))
    if out.shape[0] >= n_out:
        out = out[:n_out]
    else:
        out = np.concatenate([out, np.repeat(out[-1:], n_out - out.shape[0], axis=0)], axis=0)
    meta["resampled_from_hz"] = float(record.fs_hz)
    return EcgRecord(out, fs_new, record.record_id, meta)
