"""The paper's CNNs and a small registry to build them by name.

Section 5 (MNIST) and Appendix A (CIFAR-10 embedding net) of Drory, Avidan,
Giryes use the same structure::

    cnv@20 - cnv@20 - pool - cnv@50 - cnv@50 - pool - fc@F - fc@L - softmax

with 5x5 zero-padded ('same') convolutions, 2x2 max-pooling, and BatchNorm then
ReLU after every convolution and fully connected layer except the last
(F = 500 in Section 5, F = 256 in Appendix A). :class:`PaperCNN` implements it,
with a ``width`` factor on the convolution channels for quick CPU runs.

Input convention shared by every registered model: ``forward`` takes float
images scaled to [0, 1] (see :func:`labelnoise.inference.preprocess`); the model
standardises them itself with an :class:`InputStandardiser` whose per-channel
mean/std are buffers set from the training set by the training loop. The
statistics therefore travel inside the ``state_dict``: a saved model predicts
correctly without any side information.
"""

from __future__ import annotations

from typing import Callable

import torch
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
        self.register_buffer("mean", torch.zeros(1, n_channels, 1, 1))
        self.register_buffer("std", torch.ones(1, n_channels, 1, 1))

    @property
    def n_channels(self) -> int:
        return self.mean.shape[1]

    def set_statistics(self, mean: torch.Tensor | list[float], std: torch.Tensor | list[float]) -> None:
        """Store per-channel ``mean`` and ``std`` (std floored at ``MIN_CHANNEL_STD``)."""
        mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1)
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
    input_standardiser_of(model)  # a registered architecture's contract, checked where a researcher's net enters
    return model


def input_standardiser_of(model: nn.Module) -> InputStandardiser:
    """The model's one :class:`InputStandardiser`, which the training loop sets from the training images."""
    found = [m for m in model.modules() if isinstance(m, InputStandardiser)]
    if len(found) != 1:
        raise ValueError(f"{type(model).__name__} must hold exactly one InputStandardiser, holds {len(found)}")
    return found[0]
