"""Training augmentation at real sizes: a random scale of the full image (0.5-2.0 by default, as the
Cityscapes recipes use; drawn uniformly, as mmcv's RandomResize draws its ratio; the label resized
nearest-exact, the image bilinear, in the same pixel-centre geometry), a uniform random crop to the training
size with ignore padding where the scaled image is smaller, a horizontal flip, and an optional photometric
jitter.

Every draw comes from the generator the dataset makes from (seed, epoch, index): different every epoch, the
same in every process with the same seed (a resumed run, a sweep worker, another machine).

    aug = Augment(scale=(0.5, 2.0), flip=True, jitter=0.2)
    image, mask = aug(np.random.default_rng([seed, epoch, i]), image_u8, mask_u8, (512, 1024), mean)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from archc.errors import ArchcError
from archc.train.classes import IGNORE


@dataclass(frozen=True)
class Augment:
    scale: Optional[tuple] = (0.5, 2.0)  # None: the image at its own size, only cropped and flipped
    flip: bool = True
    jitter: float = 0.0  # brightness, contrast and saturation factors drawn from [1 - jitter, 1 + jitter]

    def __post_init__(self):
        if self.scale is not None and not 0 < self.scale[0] <= self.scale[1]:
            raise ArchcError(f"--scale {self.scale[0]}-{self.scale[1]}: give 0 < low <= high, e.g. 0.5-2.0")
        if not 0 <= self.jitter < 1:
            raise ArchcError(f"--jitter {self.jitter}: give a value in [0, 1), e.g. 0.2")

    def __call__(self, rng, image, mask, crop: tuple, mean):
        """C x H x W uint8 image, H x W uint8 mask -> float image and uint8 mask of size `crop`; pixels outside
        the scaled image are the mean colour (0 once normalised) and ignore in the mask."""
        import torch.nn.functional as F

        image = image.float()
        if self.scale is not None:
            s = rng.uniform(*self.scale)
            size = (max(1, round(image.shape[1] * s)), max(1, round(image.shape[2] * s)))
            if size != tuple(image.shape[1:]):
                image = F.interpolate(image[None], size, mode="bilinear", align_corners=False)[0]
                # nearest-exact: the pixel-centre geometry of bilinear with align_corners=False, so every label
                # lands where its pixel's colour does; plain "nearest" (OpenCV's rule) shifts the mask toward
                # the top left by up to half a source pixel (tests/test_augment_geometry.py)
                mask = F.interpolate(mask[None, None].float(), size, mode="nearest-exact")[0, 0].to(mask.dtype)
        if self.jitter:
            image = _jitter(rng, image, self.jitter)
        image, mask = _crop(rng, image, mask, crop, mean)
        if self.flip and rng.random() < 0.5:
            image, mask = image.flip(-1), mask.flip(-1)
        return image, mask


def _crop(rng, image, mask, crop: tuple, mean):
    import torch.nn.functional as F

    (ch, cw), (_, h, w) = crop, image.shape
    ph, pw = max(ch - h, 0), max(cw - w, 0)
    if ph or pw:  # pad bottom and right: the mean colour, ignore in the mask
        image = F.pad(image - mean, (0, pw, 0, ph)) + mean
        mask = F.pad(mask, (0, pw, 0, ph), value=IGNORE)
    y = int(rng.integers(0, image.shape[1] - ch + 1))
    x = int(rng.integers(0, image.shape[2] - cw + 1))
    return image[:, y:y + ch, x:x + cw], mask[y:y + ch, x:x + cw]


def _jitter(rng, image, amount: float):
    b, c, s = rng.uniform(1 - amount, 1 + amount, 3)
    image = image * b
    image = (image - image.mean()) * c + image.mean()
    if image.shape[0] == 3:
        gray = image.mean(0, keepdim=True)
        image = gray + (image - gray) * s
    return image.clamp(0, 255)
