"""Data augmentation of a training minibatch: random horizontal flips and translations.

The standard CIFAR-10 augmentation (Springenberg et al. 2014 trained the
augmented All-CNN-C with flips and translations; KellerJordan/cifar10-airbench
with flips and 2-pixel translations): each image of a minibatch is shifted by
an independent random offset in -``translate``..``translate`` pixels on both
axes, the border filled by reflection, and mirrored left-right with
probability 1/2. It runs on whole minibatch tensors on the training device;
its randomness comes from a caller's generator (one per seed), so a training
stays a function of its seed and a resumed one draws what the uninterrupted one
would have drawn. Off by default (``train.hflip``, ``train.translate``):
mirrored digits are other digits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def flip_and_translate(images: torch.Tensor, generator: torch.Generator, hflip: bool, translate: int) -> torch.Tensor:
    """``images`` (B x C x H x W float) randomly translated by up to ``translate`` pixels and mirrored (``hflip``).

    Offsets and flips are drawn on the CPU from ``generator`` (whatever the
    images' device), translations first. Unchanged when both are off.
    """
    n, channels, height, width = images.shape
    device = images.device
    if translate > 0:
        offsets = torch.randint(0, 2 * translate + 1, (2, n), generator=generator).to(device)
        padded = F.pad(images, (translate,) * 4, mode="reflect")
        rows = (offsets[0][:, None] + torch.arange(height, device=device))[:, None, :, None]
        cols = (offsets[1][:, None] + torch.arange(width, device=device))[:, None, None, :]
        batch = torch.arange(n, device=device)[:, None, None, None]
        channel = torch.arange(channels, device=device)[None, :, None, None]
        images = padded[batch, channel, rows, cols]
    if hflip:
        mirrored = (torch.rand(n, generator=generator) < 0.5).to(device)[:, None, None, None]
        images = torch.where(mirrored, images.flip(3), images)
    return images
