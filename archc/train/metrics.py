"""Segmentation scores from a confusion matrix: IoU per class, their mean, pixel accuracy.

One class means a sigmoid: a pixel is the object where its logit is > 0 (probability > 0.5), never an argmax
(the argmax of one channel is always 0); its `miou` is the object's IoU, as the IoT thesis reports it.
Pixels labelled 255 are ignored. A class absent from both labels and predictions has no IoU (null) and does
not count in the mean.

    conf = Confusion(classes=4); conf.add(logits, masks); conf.scores()["miou"]
"""
from __future__ import annotations

import numpy as np

from archc.train.datasets import IGNORE


def predict(logits: np.ndarray) -> np.ndarray:
    """N x K x H x W logits -> N x H x W class ids; one channel: the sigmoid threshold 0.5."""
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).astype(np.int64)
    return logits.argmax(1)


class Confusion:
    def __init__(self, classes: int):
        self.classes = classes
        self.n = max(classes, 2)  # one class: background and object
        self.matrix = np.zeros((self.n, self.n), np.int64)

    def fit(self, classes: int) -> "Confusion":
        """This matrix, emptied and resized if it was made for another class count (a placeholder)."""
        if classes != self.classes:
            self.__init__(classes)
        return self

    def add(self, logits, masks) -> None:
        """Count one batch; logits and masks as numpy arrays or CPU tensors."""
        pred, target = predict(np.asarray(logits)).ravel(), np.asarray(masks).ravel()
        keep = target != IGNORE
        idx = target[keep].astype(np.int64) * self.n + pred[keep]
        self.matrix += np.bincount(idx, minlength=self.n * self.n).reshape(self.n, self.n)

    def scores(self) -> dict:
        m = self.matrix.astype(np.float64)
        tp, union = np.diag(m), m.sum(0) + m.sum(1) - np.diag(m)
        iou = [float(t / u) if u > 0 else None for t, u in zip(tp, union)]
        per_class = iou[1:] if self.classes == 1 else iou
        present = [v for v in per_class if v is not None]
        total = m.sum()
        return {"miou": round(float(np.mean(present)), 6) if present else None,
                "pixel_accuracy": round(float(tp.sum() / total), 6) if total else None,
                "per_class_iou": [None if v is None else round(v, 6) for v in per_class],
                "pixels": int(total)}
