"""Training and evaluation on the user's data: datasets, the synthetic set, the training loop, mIoU."""
