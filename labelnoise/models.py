"""The paper's CNNs and a small registry to build them by name.

Section 5 (MNIST) and Appendix A (CIFAR-10 embedding net) of Drory, Avidan,
Giryes use the same structure::

    cnv@20 - cnv@20 - pool - cnv@50 - cnv@50 - pool - fc@F - fc@L - softmax

with 5x5 zero-padded ('same') convolutions, 2x2 max-pooling, and BatchNorm then
ReLU after every convolution and fully connected layer except the last
(F = 500 in Section 5, F = 256 in Appendix A). :class:`PaperCNN` implements it,
with a ``width`` factor on the convolution channels for quick CPU runs.

Input convention shared by every registered model: ``forward`` takes float
images scaled to [0, 1] (see :func:`labelnoise.training.preprocess`); the model
standardises them itself with an :class:`InputStandardiser` whose per-channel
mean/std are buffers set from the training set by the training loop. The
statistics therefore travel inside the ``state_dict``: a saved model predicts
correctly without any side information.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: Convolution channel counts of the paper's net at width 1 (Section 5).
PAPER_CONV_CHANNELS: tuple[int, int, int, int] = (20, 20, 50, 50)
#: Width of the penultimate fully connected layer in Section 5 (Appendix A uses 256).
PAPER_FC_DIM: int = 500
#: Square kernel size of every convolution (Section 5: "5x5 filter").
PAPER_KERNEL_SIZE: int = 5
#: Side of the square max-pooling window and its stride (Section 5: "2x2 max-pooling").
PAPER_POOL_SIZE: int = 2
#: Floor on a channel's standard deviation, so a constant channel cannot divide by zero.
MIN_CHANNEL_STD: float = 1e-6

#: All-CNN-C (Springenberg et al. 2014, Table 2, model C) channel counts at width 1.
ALLCNN_CHANNELS: tuple[int, int] = (96, 192)
#: All-CNN-C's dropout: on the input, and after each of the two stride-2 convolutions.
ALLCNN_INPUT_DROPOUT: float = 0.2
ALLCNN_STAGE_DROPOUT: float = 0.5


class InputStandardiser(nn.Module):
    """Per-channel ``(x - mean) / std`` with the statistics held as buffers.

    The buffers start as mean 0 / std 1 (identity) and are set from the
    training images by :meth:`set_statistics`; being buffers, they are saved
    and restored with the model's ``state_dict``.
    """

    def __init__(self, n_channels: int):
        super().__init__()
        if n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        self.register_buffer("mean", torch.zeros(1, n_channels, 1, 1))
        self.register_buffer("std", torch.ones(1, n_channels, 1, 1))

    @property
    def n_channels(self) -> int:
        return self.mean.shape[1]

    def set_statistics(self, mean: torch.Tensor | list[float], std: torch.Tensor | list[float]) -> None:
        """Store per-channel ``mean`` and ``std`` (std floored at ``MIN_CHANNEL_STD``)."""
        mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1)
        if mean_t.numel() != self.n_channels or std_t.numel() != self.n_channels:
            raise ValueError(
                f"expected {self.n_channels} per-channel statistics, got mean of {mean_t.numel()} "
                f"and std of {std_t.numel()}"
            )
        if not (torch.isfinite(mean_t).all() and torch.isfinite(std_t).all()) or (std_t < 0).any():
            raise ValueError(f"statistics must be finite with std >= 0, got mean={mean_t}, std={std_t}")
        with torch.no_grad():
            self.mean.copy_(mean_t.view_as(self.mean))
            self.std.copy_(std_t.clamp_min(MIN_CHANNEL_STD).view_as(self.std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def scaled_channels(base: int, width: float) -> int:
    """``base`` channels scaled by ``width``, rounded, and at least 1."""
    return max(1, int(round(base * width)))


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    # The conv bias is dropped: the BatchNorm that follows subtracts the batch
    # mean and has its own shift, so a bias there would be a dead parameter.
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, PAPER_KERNEL_SIZE, padding="same", bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class PaperCNN(nn.Module):
    """The paper's MNIST net (Section 5); with ``fc_dim=256`` the Appendix A net.

    cnv@20 - cnv@20 - pool - cnv@50 - cnv@50 - pool - fc@fc_dim - fc@n_classes,
    5x5 'same' convolutions, 2x2 max-pooling, BatchNorm + ReLU after every
    layer but the last. ``width`` multiplies the four convolution channel
    counts (rounded, at least 1); ``width=1`` is exactly the paper's net.
    ``fc_dim`` is not scaled. Two poolings take 28x28 to 7x7 and 8x8 to 2x2
    (odd sizes are floored, as ``MaxPool2d`` does).
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        n_classes: int,
        width: float = 1.0,
        fc_dim: int = PAPER_FC_DIM,
    ):
        super().__init__()
        _check_common_arguments(in_channels, image_size, n_classes, width, fc_dim)
        min_size = PAPER_POOL_SIZE**2
        if image_size < min_size:
            raise ValueError(f"image_size must be >= {min_size} to survive two 2x2 poolings, got {image_size}")
        c1, c2, c3, c4 = (scaled_channels(c, width) for c in PAPER_CONV_CHANNELS)
        self.in_channels = in_channels
        self.image_size = image_size
        self.n_classes = n_classes
        self.width = width
        self.conv_channels = (c1, c2, c3, c4)
        self.feature_dim = fc_dim

        self.input_standardiser = InputStandardiser(in_channels)
        self.conv = nn.Sequential(
            _conv_bn_relu(in_channels, c1),
            _conv_bn_relu(c1, c2),
            nn.MaxPool2d(PAPER_POOL_SIZE),
            _conv_bn_relu(c2, c3),
            _conv_bn_relu(c3, c4),
            nn.MaxPool2d(PAPER_POOL_SIZE),
        )
        pooled_size = image_size // PAPER_POOL_SIZE // PAPER_POOL_SIZE
        self.flat_dim = c4 * pooled_size * pooled_size
        # The penultimate fc keeps its bias: Appendix A's embedding is this
        # layer's raw output, so its affine shift is part of the features.
        self.fc_hidden = nn.Linear(self.flat_dim, fc_dim)
        self.fc_hidden_bn = nn.BatchNorm1d(fc_dim)
        self.classifier = nn.Linear(fc_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs of fc@fc_dim, before its BatchNorm and ReLU (Appendix A)."""
        h = self.conv(self.input_standardiser(x))
        return self.fc_hidden(torch.flatten(h, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (pre-softmax) for images scaled to [0, 1]."""
        return self.classifier(torch.relu(self.fc_hidden_bn(self.features(x))))

    def layer_sequence(self) -> list[nn.Module]:
        """The forward pass as a flat list of layers (for :class:`SeedStack`)."""
        return [
            self.input_standardiser, *_leaf_layers(self.conv), nn.Flatten(),
            self.fc_hidden, self.fc_hidden_bn, nn.ReLU(), self.classifier,
        ]


def _leaf_layers(module: nn.Module) -> list[nn.Module]:
    """The leaves of nested ``nn.Sequential`` containers, in forward order."""
    if isinstance(module, nn.Sequential):
        return [leaf for child in module for leaf in _leaf_layers(child)]
    return [module]


def _conv_bn_relu_3x3(in_channels: int, out_channels: int, stride: int = 1, padding: int = 1, kernel_size: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def allcnn_output_size(image_size: int) -> int:
    """Side of All-CNN-C's last feature map: two stride-2 3x3 convs (pad 1), then a 'valid' 3x3.

    32 -> 16 -> 8 -> 6, the 6x6 map the original averages over.
    """
    return -(-(-(-image_size // 2)) // 2) - 2


class AllCNNC(nn.Module):
    """All-CNN-C of Springenberg et al. 2014 (the paper's CIFAR-10 net, "[20]"), with BatchNorm.

    conv3x3@96 - conv3x3@96 - conv3x3@96/2 - conv3x3@192 - conv3x3@192 -
    conv3x3@192/2 - conv3x3@192 (valid) - conv1x1@192 - conv1x1@n_classes -
    global average pooling (softmax in the loss). As in the original, the
    3x3 convolutions are zero-padded except the one after the second stride-2
    layer ('valid': 8x8 -> 6x6 on CIFAR). BatchNorm + ReLU follow every
    convolution but the last, as in the paper's MNIST net (the drop-in BN the
    issue asks for; the original had none). ``width`` scales the 96/192
    channel counts. ``dropout=True`` adds the original's dropout (0.2 on the
    input, 0.5 after each stride-2 layer): without data augmentation, which
    our CIFAR run does not use, it was the original's only regulariser.

    ``features(x)`` is the penultimate representation: the global average of
    the ReLU outputs of conv1x1@192, i.e. exactly the vector the last (linear)
    1x1 convolution maps to the logits, since a 1x1 convolution commutes with
    average pooling. (The paper embeds CIFAR-10 with the Appendix A net, not
    with this one.)
    """

    def __init__(self, in_channels: int, image_size: int, n_classes: int, width: float = 1.0, dropout: bool = False):
        super().__init__()
        _check_common_arguments(in_channels, image_size, n_classes, width)
        if allcnn_output_size(image_size) < 1:
            raise ValueError(f"image_size must be >= 9 for All-CNN-C's strides and 'valid' conv, got {image_size}")
        c96, c192 = (scaled_channels(c, width) for c in ALLCNN_CHANNELS)
        self.in_channels = in_channels
        self.image_size = image_size
        self.n_classes = n_classes
        self.width = width
        self.dropout = bool(dropout)
        self.conv_channels = (c96, c192)
        self.feature_dim = c192

        def drop(p: float) -> list[nn.Module]:
            return [nn.Dropout(p)] if dropout else []

        self.input_standardiser = InputStandardiser(in_channels)
        self.body = nn.Sequential(
            *drop(ALLCNN_INPUT_DROPOUT),
            _conv_bn_relu_3x3(in_channels, c96),
            _conv_bn_relu_3x3(c96, c96),
            _conv_bn_relu_3x3(c96, c96, stride=2),
            *drop(ALLCNN_STAGE_DROPOUT),
            _conv_bn_relu_3x3(c96, c192),
            _conv_bn_relu_3x3(c192, c192),
            _conv_bn_relu_3x3(c192, c192, stride=2),
            *drop(ALLCNN_STAGE_DROPOUT),
            _conv_bn_relu_3x3(c192, c192, padding=0),
            _conv_bn_relu_3x3(c192, c192, padding=0, kernel_size=1),
        )
        self.classifier = nn.Conv2d(c192, n_classes, 1)
        self.global_pool = nn.AdaptiveAvgPool2d(1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Global-average-pooled ReLU outputs of conv1x1@192 (N x 192*width)."""
        return torch.flatten(self.global_pool(self.body(self.input_standardiser(x))), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (pre-softmax) for images scaled to [0, 1]."""
        h = self.classifier(self.body(self.input_standardiser(x)))
        return torch.flatten(self.global_pool(h), 1)

    def layer_sequence(self) -> list[nn.Module]:
        """The forward pass as a flat list of layers (for :class:`SeedStack`)."""
        return [self.input_standardiser, *_leaf_layers(self.body), self.classifier, self.global_pool, nn.Flatten()]


def _check_common_arguments(
    in_channels: int, image_size: int, n_classes: int, width: float, fc_dim: int | None = None
) -> None:
    if int(in_channels) != in_channels or in_channels < 1:
        raise ValueError(f"in_channels must be a positive integer, got {in_channels!r}")
    if int(image_size) != image_size or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if int(n_classes) != n_classes or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if not (isinstance(width, (int, float)) and math.isfinite(width) and width > 0):
        raise ValueError(f"width must be a finite number > 0, got {width!r}")
    if fc_dim is not None and (int(fc_dim) != fc_dim or fc_dim < 1):
        raise ValueError(f"fc_dim must be a positive integer, got {fc_dim!r}")


# --------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------

#: A builder takes (in_channels, image_size, n_classes, width, fc_dim) by keyword.
ModelBuilder = Callable[..., nn.Module]
_ARCHITECTURES: dict[str, ModelBuilder] = {}


def register_architecture(name: str) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator adding a builder to the registry under ``name``.

    A builder is called as ``builder(in_channels=, image_size=, n_classes=,
    width=, fc_dim=)``, where ``fc_dim=None`` means the architecture's own
    default (it may ignore arguments that do not apply), and must return a
    module that (a) maps [0, 1] images to logits, (b) contains an
    :class:`InputStandardiser` applied to its input, (c) offers
    ``features(x)`` if it is to be used as an embedding net, and (d) offers
    ``layer_sequence()`` if its seeds are to be trained batched
    (:class:`SeedStack`).
    """

    def decorate(builder: ModelBuilder) -> ModelBuilder:
        if name in _ARCHITECTURES:
            raise ValueError(f"architecture {name!r} is already registered")
        _ARCHITECTURES[name] = builder
        return builder

    return decorate


def available_architectures() -> tuple[str, ...]:
    """Names accepted by :func:`build_model`, sorted."""
    return tuple(sorted(_ARCHITECTURES))


@register_architecture("paper_cnn")
def _build_paper_cnn(*, in_channels: int, image_size: int, n_classes: int, width: float, fc_dim: int | None) -> nn.Module:
    return PaperCNN(in_channels, image_size, n_classes, width=width, fc_dim=PAPER_FC_DIM if fc_dim is None else fc_dim)


@register_architecture("allcnn_c")
def _build_allcnn_c(*, in_channels: int, image_size: int, n_classes: int, width: float, fc_dim: int | None) -> nn.Module:
    # fc_dim does not apply: the penultimate width is the scaled 192 channels.
    return AllCNNC(in_channels, image_size, n_classes, width=width, dropout=True)


@register_architecture("allcnn_c_nodropout")
def _build_allcnn_c_nodropout(*, in_channels: int, image_size: int, n_classes: int, width: float, fc_dim: int | None) -> nn.Module:
    return AllCNNC(in_channels, image_size, n_classes, width=width, dropout=False)


def build_model(
    arch: str,
    in_channels: int,
    image_size: int,
    n_classes: int,
    width: float = 1.0,
    fc_dim: int | None = None,
) -> nn.Module:
    """Build the registered architecture ``arch`` (e.g. ``"paper_cnn"``, ``"allcnn_c"``).

    ``fc_dim`` is the penultimate fc width of ``paper_cnn`` (None: 500, the
    Section 5 net); the All-CNN-C variants have no fc layer and ignore it
    (their feature width is 192 x ``width``), so one config shape serves all.
    """
    try:
        builder = _ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(
            f"unknown architecture {arch!r}; known: {', '.join(available_architectures())}"
        ) from None
    model = builder(in_channels=in_channels, image_size=image_size, n_classes=n_classes, width=width, fc_dim=fc_dim)
    if not any(isinstance(m, InputStandardiser) for m in model.modules()):
        raise TypeError(f"architecture {arch!r} built a model without an InputStandardiser")
    return model


def input_standardiser_of(model: nn.Module) -> InputStandardiser:
    """The model's (single) :class:`InputStandardiser`; ValueError if it has none or several."""
    found = [m for m in model.modules() if isinstance(m, InputStandardiser)]
    if len(found) != 1:
        raise ValueError(
            f"model {type(model).__name__} must contain exactly one InputStandardiser, found {len(found)}"
        )
    return found[0]


# --------------------------------------------------------------------------
# Seeds stacked into one model (SeedStack), in one of two layouts
# --------------------------------------------------------------------------
#
# Both layouts compute the same function (STACK_LAYOUTS), and in both one
# loss, one backward pass and one optimiser step cover all seeds:
# - "wide": one model S times as wide. Each stacked tensor holds the S seeds'
#   copies one after another, in the shape its functional op wants (seed s's
#   own tensor is ``stacked.view(S, *seed_shape)[s]``). Activations are
#   B x (S*C) x H x W in the convolutional part (seed s owns channels
#   s*C..(s+1)*C-1; grouped convolutions) and B x S x F after the flatten
#   (batched matrix products). One kernel per layer for all seeds: what a GPU
#   wants, where a small net's step is bound by kernel launches.
# - "seed_major": each seed keeps its own tensors and the network runs seed
#   after seed (training: forward and backward per seed, then the one
#   optimiser step), so seeds that have stopped early cost nothing. What a
#   CPU wants: there a step is bound by compute and memory traffic, not
#   launches, and the wide activations (S times larger) fall out of cache.
#   With one thread per job the wide layout runs 0.55-0.85x the speed of
#   training the models one by one, seed-major 1.00-1.01x, on the very
#   kernels of a lone model, so with the same numbers bit for bit
#   (bench/train.py, tests/test_batched.py).
#
# Seed states are read out and written in through ``seed_view`` in either.


#: Ways a :class:`SeedStack` can compute (see the section comment).
STACK_LAYOUTS: tuple[str, ...] = ("wide", "seed_major")


def preferred_stack_layout(device: torch.device) -> str:
    """The faster :class:`SeedStack` layout on ``device``: wide on CUDA, seed-major elsewhere."""
    return "wide" if torch.device(device).type == "cuda" else "seed_major"


class _StackedLayer(nn.Module):
    """Base of the stacked layers: holds each seed's tensors and maps them back to it.

    Wide layout: one stacked tensor per name, used by ``forward``. Seed-major
    layout: one tensor per seed and name (``{name}_seed{s}``), each its own
    parameter or buffer, used by ``forward_seed(x, tensors)``; so each seed's
    gradient lands in its own tensor, as in a lone model, with no stacked
    copy to gather it into.
    """

    def __init__(self, n_seeds: int, source_name: str, layout: str):
        super().__init__()
        self.n_seeds = n_seeds
        self.source_name = source_name
        self.layout = layout
        self.seed_shapes: dict[str, tuple[int, ...]] = {}

    def _adopt(self, name: str, tensors: Sequence[torch.Tensor], stacked_shape: tuple[int, ...], parameter: bool) -> None:
        self.seed_shapes[name] = tuple(tensors[0].shape)
        if self.layout == "wide":
            values = {name: torch.stack([t.detach() for t in tensors]).reshape(stacked_shape).clone()}
        else:
            values = {f"{name}_seed{s}": t.detach().clone() for s, t in enumerate(tensors)}
        for key, value in values.items():
            if parameter:
                self.register_parameter(key, nn.Parameter(value))
            else:
                self.register_buffer(key, value)

    def seed_view(self, name: str, seed_index: int) -> torch.Tensor:
        """Seed ``seed_index``'s copy of tensor ``name`` (a view into the wide layout's stacked tensor)."""
        if self.layout == "wide":
            return getattr(self, name).view(self.n_seeds, *self.seed_shapes[name])[seed_index]
        return getattr(self, f"{name}_seed{seed_index}")

    def seed_tensors(self, seed_index: int) -> dict[str, torch.Tensor]:
        """Seed ``seed_index``'s tensors by name (for ``forward_seed``)."""
        return {name: self.seed_view(name, seed_index) for name in self.seed_shapes}

    def forward_seed(self, x: torch.Tensor, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError


def _concat_shape(n_seeds: int, shape: torch.Size) -> tuple[int, ...]:
    return (n_seeds * shape[0], *shape[1:])


class _StackedStandardiser(_StackedLayer):
    def __init__(self, layers: Sequence[InputStandardiser], source_name: str, layout: str):
        super().__init__(len(layers), source_name, layout)
        for name in ("mean", "std"):
            self._adopt(name, [getattr(m, name) for m in layers], (1, len(layers) * layers[0].n_channels, 1, 1), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def forward_seed(self, x: torch.Tensor, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        return (x - tensors["mean"]) / tensors["std"]


class _StackedConv2d(_StackedLayer):
    """S convolutions as one with ``groups = S * groups``."""

    def __init__(self, layers: Sequence[nn.Conv2d], source_name: str, layout: str):
        super().__init__(len(layers), source_name, layout)
        conv = layers[0]
        if conv.padding_mode != "zeros":
            raise ValueError(f"stacking supports zero padding only, got {conv.padding_mode!r}")
        self.stride, self.padding, self.dilation = conv.stride, conv.padding, conv.dilation
        self.seed_groups = conv.groups
        self.groups = len(layers) * conv.groups
        self._adopt("weight", [m.weight for m in layers], _concat_shape(len(layers), conv.weight.shape), True)
        if conv.bias is not None:
            self._adopt("bias", [m.bias for m in layers], (len(layers) * conv.out_channels,), True)
        elif layout == "wide":
            self.bias = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def forward_seed(self, x: torch.Tensor, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.conv2d(x, tensors["weight"], tensors.get("bias"), self.stride, self.padding, self.dilation, self.seed_groups)


class _StackedBatchNorm(_StackedLayer):
    """S BatchNorms as one over S x C channels: per-seed batch statistics and running averages."""

    def __init__(self, layers: Sequence[nn.modules.batchnorm._BatchNorm], source_name: str, layout: str):
        super().__init__(len(layers), source_name, layout)
        bn = layers[0]
        if not (bn.affine and bn.track_running_stats) or bn.momentum is None:
            raise ValueError("stacking needs affine BatchNorm with running statistics and a fixed momentum")
        self.eps, self.momentum = bn.eps, bn.momentum
        n = len(layers)
        for name in ("weight", "bias"):
            self._adopt(name, [getattr(m, name) for m in layers], (n * bn.num_features,), True)
        for name in ("running_mean", "running_var"):
            self._adopt(name, [getattr(m, name) for m in layers], (n * bn.num_features,), False)
        self._adopt("num_batches_tracked", [m.num_batches_tracked for m in layers], (n,), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.num_batches_tracked.add_(1)
        shape = x.shape
        flat = x.reshape(shape[0], -1) if x.dim() == 3 else x  # B x S x F -> B x (S*F)
        out = F.batch_norm(flat, self.running_mean, self.running_var, self.weight, self.bias, self.training, self.momentum, self.eps)
        return out.view(shape)

    def forward_seed(self, x: torch.Tensor, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.training:
            tensors["num_batches_tracked"].add_(1)
        return F.batch_norm(
            x, tensors["running_mean"], tensors["running_var"], tensors["weight"], tensors["bias"],
            self.training, self.momentum, self.eps,
        )


class _StackedLinear(_StackedLayer):
    """S linear layers as one batched matrix product on B x S x F activations."""

    def __init__(self, layers: Sequence[nn.Linear], source_name: str, layout: str):
        super().__init__(len(layers), source_name, layout)
        n = len(layers)
        self._adopt("weight", [m.weight for m in layers], (n, *layers[0].weight.shape), True)
        if layers[0].bias is None:
            raise ValueError("stacking supports linear layers with a bias only")
        self._adopt("bias", [m.bias for m in layers], (n, layers[0].out_features), True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (S x B x in) @ (S x in x out) + bias -> back to B x S x out.
        out = torch.baddbmm(self.bias.unsqueeze(1), x.transpose(0, 1), self.weight.transpose(1, 2))
        return out.transpose(0, 1)

    def forward_seed(self, x: torch.Tensor, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.linear(x, tensors["weight"], tensors["bias"])


class _SeedFlatten(nn.Module):
    """B x (S*C) x H x W -> B x S x (C*H*W): each seed's features in its own row."""

    def __init__(self, n_seeds: int):
        super().__init__()
        self.n_seeds = n_seeds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], self.n_seeds, -1)

    def forward_seed(self, x: torch.Tensor, tensors: None = None) -> torch.Tensor:
        return torch.flatten(x, 1)


#: Layers that act elementwise or per channel and so apply unchanged to stacked activations.
_SHARED_LAYERS = (nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Dropout, nn.Identity)


class SeedStack(nn.Module):
    """S models of one architecture trained as one model (see the section comment).

    ``forward(x)`` takes S minibatches (S x B x C x H x W, one per seed) or
    one shared batch (B x C x H x W) and returns S x B x n_classes logits;
    seed s's logits depend only on seed s's weights and batch. ``layout``
    (one of ``STACK_LAYOUTS``) says how it computes, not what. Seed states go
    in and out with :meth:`seed_state_dict` / :meth:`load_seed_state_dict`,
    keyed exactly like the source model's ``state_dict``. Dropout draws
    different masks per seed (not the masks separate runs would draw).
    """

    def __init__(self, models: Sequence[nn.Module], layout: str = "wide"):
        super().__init__()
        if layout not in STACK_LAYOUTS:
            raise ValueError(f"layout must be one of {STACK_LAYOUTS}, got {layout!r}")
        self.layout = layout
        if len(models) < 1:
            raise ValueError("SeedStack needs at least one model")
        if not all(callable(getattr(m, "layer_sequence", None)) for m in models):
            raise ValueError(f"{type(models[0]).__name__} has no layer_sequence(); it cannot be trained batched")
        n = len(models)
        self.n_seeds = n
        self.n_classes = getattr(models[0], "n_classes", None)
        self._state_keys = list(models[0].state_dict().keys())
        names = [{id(module): name for name, module in m.named_modules()} for m in models]
        sequences = [m.layer_sequence() for m in models]
        if len({len(seq) for seq in sequences}) != 1:
            raise ValueError("models to stack differ in their layer sequences")
        layers: list[nn.Module] = []
        for position in zip(*sequences):
            first = position[0]
            if any(type(layer) is not type(first) for layer in position):
                raise ValueError("models to stack differ in their layer types")
            source = names[0].get(id(first), "")
            if isinstance(first, InputStandardiser):
                layers.append(_StackedStandardiser(position, source, layout))
            elif isinstance(first, nn.Conv2d):
                layers.append(_StackedConv2d(position, source, layout))
            elif isinstance(first, (nn.BatchNorm1d, nn.BatchNorm2d)):
                layers.append(_StackedBatchNorm(position, source, layout))
            elif isinstance(first, nn.Linear):
                layers.append(_StackedLinear(position, source, layout))
            elif isinstance(first, nn.Flatten):
                layers.append(_SeedFlatten(n))
            elif isinstance(first, _SHARED_LAYERS):
                layers.append(first)
            else:
                raise ValueError(f"cannot stack layer type {type(first).__name__}")
        self.layers = nn.Sequential(*layers)
        stacked_keys = {f"{layer.source_name}.{name}" for layer in self._stacked_layers() for name in layer.seed_shapes}
        if stacked_keys != set(self._state_keys):
            missing = sorted(set(self._state_keys) - stacked_keys)
            raise ValueError(f"layer_sequence() does not cover the model's state: missing {missing}")

    def _stacked_layers(self) -> list[_StackedLayer]:
        return [layer for layer in self.layers if isinstance(layer, _StackedLayer)]

    def forward(
        self,
        x: torch.Tensor,
        memory_format: torch.memory_format = torch.contiguous_format,
        seeds: Sequence[int] | None = None,
    ) -> torch.Tensor:
        """Logits, len(seeds) x B x L, of the seeds ``seeds`` (default: all, in order).

        ``x``: one minibatch per computed seed (len(seeds) x B x C x H x W),
        or one batch (B x C x H x W) shared by all. Only the seed-major
        layout computes a subset; the wide layout always runs every seed.
        """
        seeds = list(range(self.n_seeds)) if seeds is None else list(seeds)
        if not seeds or any(not 0 <= s < self.n_seeds for s in seeds):
            raise ValueError(f"seeds must be a non-empty list of indices below {self.n_seeds}, got {seeds}")
        if not (x.dim() == 4 or (x.dim() == 5 and x.shape[0] == len(seeds))):
            raise ValueError(f"expected B x C x H x W or {len(seeds)} x B x C x H x W input, got {tuple(x.shape)}")
        if self.layout == "seed_major":
            return self._forward_seed_major(x, memory_format, seeds)
        if seeds != list(range(self.n_seeds)):
            raise ValueError("the wide layout computes every seed; use layout='seed_major' for a subset")
        if x.dim() == 4:  # one batch shared by every seed
            x = x.repeat(1, self.n_seeds, 1, 1)
        else:
            x = x.transpose(0, 1).reshape(x.shape[1], -1, *x.shape[3:])
        out = self.layers(x.contiguous(memory_format=memory_format))
        return out.transpose(0, 1)  # B x S x L -> S x B x L

    def _forward_seed_major(self, x: torch.Tensor, memory_format: torch.memory_format, seeds: list[int]) -> torch.Tensor:
        outputs = []
        for position, s in enumerate(seeds):
            h = (x if x.dim() == 4 else x[position]).contiguous(memory_format=memory_format)
            for layer in self.layers:
                if isinstance(layer, _StackedLayer):
                    h = layer.forward_seed(h, layer.seed_tensors(s))
                elif isinstance(layer, _SeedFlatten):
                    h = layer.forward_seed(h)
                else:
                    h = layer(h)
            outputs.append(h)
        return torch.stack(outputs)

    def seed_state_dict(self, seed_index: int) -> dict[str, torch.Tensor]:
        """Seed ``seed_index``'s state, keyed like the source model's ``state_dict`` (contiguous CPU copies)."""
        state = {}
        for layer in self._stacked_layers():
            for name in layer.seed_shapes:
                state[f"{layer.source_name}.{name}"] = layer.seed_view(name, seed_index).detach().to("cpu", copy=True).contiguous()
        return {key: state[key] for key in self._state_keys}

    @torch.no_grad()
    def load_seed_state_dict(self, seed_index: int, state: dict[str, torch.Tensor]) -> None:
        """Write a source-model ``state_dict`` into seed ``seed_index``'s slots."""
        if set(state) != set(self._state_keys):
            raise ValueError("state keys do not match the stacked architecture")
        for layer in self._stacked_layers():
            for name in layer.seed_shapes:
                layer.seed_view(name, seed_index).copy_(state[f"{layer.source_name}.{name}"])
