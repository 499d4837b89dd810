"""Calibration inputs for int8: a folder of images (resized to the model's input and
normalized with the spec's `normalize:` mean and std, the same the model is trained and scored
with; ImageNet's when the spec has none), .npy arrays already preprocessed to CxHxW, or seeded
synthetic inputs."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archc.errors import ArchcError, ExportError
from archc.lang.normalize import GRAY, IMAGENET, default_normalization
from archc.onnx import runtime

IMAGES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
MEAN, STD = IMAGENET  # the default when a spec has no `normalize:`
GRAY_MEAN, GRAY_STD = GRAY  # the RGB figures averaged, for 1-channel (Y) inputs
SEED = 1
MAX_BYTES = 256 * 1024 * 1024  # one calibration file
MAX_PIXELS = 64 * 1024 * 1024  # one decoded image (8K x 8K); PIL's own bomb check warns at 89 M


@dataclass(frozen=True)
class Chosen:
    """Calibration images a caller chose (a dataset's train split, archc.train.quality.calib_images),
    described by `name` in the build's report."""

    paths: tuple
    name: str


class Calibration:
    def __init__(self, shape, folder=None, samples: int = 16, normalize: tuple | None = None):
        """`folder`: a folder of images or arrays (--calib DIR), `Chosen` images, or None (synthetic inputs).
        `normalize`: (mean, std) per channel, the spec's (`Spec.normalization()`); None: the default."""
        self.shape, self.real = tuple(shape), folder is not None
        self.normalize = tuple(normalize) if normalize else default_normalization(self.shape[0])
        if folder is None:
            self.arrays = runtime.inputs(shape, samples, SEED)
            self.source = "synthetic"
            self.warning = (f"quantize=int8: no --calib DIR, so int8 ranges come from {samples} synthetic "
                            f"(random normal) inputs; fidelity on real images may be lower")
        else:
            self.arrays = [load(p, self.shape, self.normalize)[None] for p in files(folder, samples)]
            self.source, self.warning = folder.name if isinstance(folder, Chosen) else str(folder), None
        self.count = len(self.arrays)

    def reader(self):
        from onnxruntime.quantization import CalibrationDataReader

        arrays = list(self.arrays)

        class Reader(CalibrationDataReader):
            def get_next(self):
                return {"input": arrays.pop(0)} if arrays else None

        return Reader()


def files(folder, samples: int) -> list[Path]:
    if isinstance(folder, Chosen):
        return list(folder.paths[:samples])
    folder = Path(folder)
    if not folder.is_dir():
        raise ExportError(f"--calib {folder}: not a directory; give a folder of images")
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (*IMAGES, ".npy"))
    if not found:
        raise ExportError(f"--calib {folder}: no images found (reads {' '.join(IMAGES)} and .npy arrays of "
                          f"shape CxHxW)")
    return found[:samples]


def load(path: Path, shape, normalize: tuple | None = None) -> np.ndarray:
    """One calibration input of `shape` (C, H, W), float32; an image is normalized with `normalize`
    ((mean, std); None: the default for its channel count), an .npy array is taken as it is."""
    return _array(path, shape) if path.suffix.lower() == ".npy" else _image(path, shape, normalize)


def _read(path: Path) -> io.BytesIO:
    """The file's bytes, bounded (a device or FIFO named x.png cannot hang or fill memory)."""
    from archc.lang.yamlio import read_bytes

    try:
        return io.BytesIO(read_bytes(path, MAX_BYTES, "calibration file"))
    except ArchcError as exc:
        raise ExportError(f"--calib: {exc}") from None


def _array(path: Path, shape) -> np.ndarray:
    try:
        arr = np.load(_read(path), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ExportError(f"--calib: cannot read {path}: {exc}") from None
    if arr.shape != tuple(shape):
        raise ExportError(f"--calib: {path} holds an array of shape {list(arr.shape)}; the model takes "
                          f"{'x'.join(map(str, shape))} (.npy inputs are used as they are, already normalized)")
    return arr.astype(np.float32)


def _check_pixels(path: Path, size) -> None:
    """Refuse an image bomb (a small file that decodes to gigabytes) from its header, before decoding."""
    if size[0] * size[1] > MAX_PIXELS:
        raise ExportError(f"--calib: {path} is {size[0]}x{size[1]} pixels, more than the {MAX_PIXELS:,} a "
                          f"calibration image may have; resize it (it is resized to the model's input anyway)")


def _image(path: Path, shape, normalize: tuple | None = None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    c, h, w = shape
    if c not in (1, 3):
        raise ExportError(f"--calib: the model takes {c} channels; images give 1 or 3, so give .npy arrays "
                          f"of shape {c}x{h}x{w}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # our bound below, not a warning
            with Image.open(_read(path)) as img:
                _check_pixels(path, img.size)
                img = img.convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            ValueError) as exc:
        raise ExportError(f"--calib: cannot read image {path}: {str(exc).splitlines()[0][:200]}") from None
    arr = np.asarray(img, dtype=np.float32).reshape(h, w, c) / 255.0
    mean, std = (np.asarray(v, dtype=np.float32) for v in (normalize or default_normalization(c)))
    return ((arr - mean) / std).transpose(2, 0, 1).astype(np.float32)
