"""NPZ blobs in the seeds' format: one 2-D float array per band, keys image_<band>.

Writing goes through zipfile with a fixed timestamp (numpy's savez stamps the
current time into the archive, so identical arrays would give different bytes).
Reading never unpickles: a blob that needs pickle is rejected.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

from stronglens.core.constants import BANDS

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class BlobError(ValueError):
    """A blob that cannot be decoded into the expected per-band arrays."""


def write_npz(target, arrays: dict[str, np.ndarray], compress: bool = False) -> None:
    """Write arrays as an NPZ (a zip of .npy members) to a path or binary file object, with a fixed member
    timestamp, so that equal arrays give equal bytes (`numpy.savez` stamps the current time); no pickles."""
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(target, "w", compression=mode) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_TIME)
            info.compress_type = mode
            array = np.asarray(array)  # (np.ascontiguousarray would turn a 0-d array into 1-d)
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, array if array.flags.c_contiguous else array.copy(order="C"), allow_pickle=False)


def encode_bands(image: np.ndarray, bands: tuple[str, ...] = BANDS) -> bytes:
    """(C, H, W) float array -> NPZ bytes with keys image_<band> (float32)."""
    if image.ndim != 3 or image.shape[0] != len(bands):
        raise ValueError(f"expected ({len(bands)}, H, W), got {image.shape}")
    buf = io.BytesIO()
    write_npz(buf, {f"image_{band}": np.asarray(plane, dtype=np.float32) for band, plane in zip(bands, image)})
    return buf.getvalue()


def decode_bands(blob: bytes, bands: tuple[str, ...] = BANDS, *, where: str = "blob") -> np.ndarray:
    """NPZ bytes -> (C, H, W) float32 array; `where` names the file/row/field in errors."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            missing = [f"image_{b}" for b in bands if f"image_{b}" not in npz.files]
            if missing:
                raise BlobError(f"{where}: missing keys {missing} (has {sorted(npz.files)})")
            planes = [np.asarray(npz[f"image_{b}"]) for b in bands]
    except BlobError:
        raise
    except Exception as exc:  # corrupt zip, pickled object, truncated data ...
        raise BlobError(f"{where}: cannot decode NPZ blob: {type(exc).__name__}: {exc}") from exc
    shapes = {p.shape for p in planes}
    if len(shapes) != 1 or planes[0].ndim != 2:
        raise BlobError(f"{where}: band arrays must be 2-D and equal in shape, got {[p.shape for p in planes]}")
    return np.stack(planes).astype(np.float32, copy=False)
