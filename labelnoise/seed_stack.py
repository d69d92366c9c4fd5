"""All seeds of a noise level as one model: :class:`SeedStack`, in the wide or the seed-major layout.

The training loop (``labelnoise.training.train_seeds``) trains the S networks
of one (dataset, noise type, level) together: one optimiser step for all
seeds (:meth:`SeedStack.training_step`), each seed with its own weights,
minibatches and BatchNorm statistics, and evaluates them in batches
(:meth:`SeedStack.eval_logits`). Built from S models that expose
``layer_sequence()`` (the nets of ``labelnoise.models``), each drawn from
its own seed (:func:`stack_of_seeded_models`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labelnoise.device import autocast
from labelnoise.inference import batched_eval
from labelnoise.models import InputStandardiser, input_standardiser_of
from labelnoise.seeding import seed_everything

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
#   It runs the very kernels of a lone model, so its numbers equal training
#   the seeds one by one bit for bit (tests/test_batched.py; speeds of both
#   layouts: bench/train.py).
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
        conv = layers[0]  # stacked as F.conv2d, zero padding: that of every registered architecture
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
        bn = layers[0]  # affine, running statistics, fixed momentum: as in every registered architecture
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
        self.layout = layout
        n = len(models)
        self.n_seeds = n
        self.n_classes = getattr(models[0], "n_classes", None)
        self._state_keys = list(models[0].state_dict().keys())
        names = [{id(module): name for name, module in m.named_modules()} for m in models]
        sequences = [m.layer_sequence() for m in models]  # one architecture: the same layers in the same order
        layers: list[nn.Module] = []
        for position in zip(*sequences):
            first = position[0]
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
        covered = {f"{layer.source_name}.{name}" for layer in self._stacked_layers() for name in layer.seed_shapes}
        if covered != set(self._state_keys):  # a new architecture's layer_sequence() must be its whole forward pass
            raise ValueError(f"layer_sequence() of {type(models[0]).__name__} leaves out "
                             f"{sorted(set(self._state_keys) - covered)} of its state")

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
        if self.layout == "seed_major":
            return self._forward_seed_major(x, memory_format, seeds)
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
        for layer in self._stacked_layers():
            for name in layer.seed_shapes:
                layer.seed_view(name, seed_index).copy_(state[f"{layer.source_name}.{name}"])

    def eval_logits(
        self, x: torch.Tensor, batch_size: int, memory_format: torch.memory_format, seeds: list[int] | None = None
    ) -> torch.Tensor:
        """Float32 eval-mode logits (len(seeds) x N x L; default all seeds) on one shared image set, in batches."""
        return batched_eval(self, x, batch_size, lambda b: self(b, memory_format, seeds).float(), dim=1)

    def training_step(
        self,
        xb: torch.Tensor,
        yb: torch.Tensor,
        seeds: list[int],
        optimizer: torch.optim.Optimizer,
        autocast_dtype: torch.dtype | None,
        memory_format: torch.memory_format,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimiser step of the seeds ``seeds`` on their minibatches ``xb`` (S' x B x ...), labels ``yb`` (S' x B).

        Returns each seed's mean cross-entropy loss (S') and its logits (S' x B x L), detached.
        Wide layout: one forward and one backward pass over all seeds (one kernel
        per layer, the GPU's way). Seed-major: forward and backward seed after
        seed, then the one optimiser step; each seed's activations are freed
        before the next seed's exist, so the working set is a lone model's, and
        each seed's loss is the very op a lone model's training runs, so results
        are bit-identical to training the seeds one by one.
        """
        device = xb.device
        optimizer.zero_grad(set_to_none=True)
        if self.layout == "wide":
            with autocast(device, autocast_dtype):
                logits = self(xb, memory_format, seeds)
            losses = F.cross_entropy(_loss_precision(logits).flatten(0, 1), yb.flatten(), reduction="none").view_as(yb).mean(dim=1)
            losses.sum().backward()
        else:
            per_seed_losses, per_seed_logits = [], []
            for position, seed_index in enumerate(seeds):
                with autocast(device, autocast_dtype):
                    seed_logits = self(xb[position : position + 1], memory_format, [seed_index])[0]
                loss = F.cross_entropy(_loss_precision(seed_logits), yb[position])
                loss.backward()
                per_seed_losses.append(loss.detach())
                per_seed_logits.append(seed_logits.detach())
            losses, logits = torch.stack(per_seed_losses), torch.stack(per_seed_logits)
        optimizer.step()
        return losses.detach(), logits.detach()


def _loss_precision(logits: torch.Tensor) -> torch.Tensor:
    """Logits for the loss: bf16 autocast outputs raised to float32, float64 kept."""
    return logits.to(torch.promote_types(logits.dtype, torch.float32))


def reinitialise(model: nn.Module) -> None:
    """Reset every submodule that has ``reset_parameters`` (weights and BN running stats).

    Called after seeding, it makes the initial weights a function of the seed
    alone, whatever the RNG state was when the model was built.
    """
    for module in model.modules():
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()


def stack_of_seeded_models(
    model_factory: Callable[[], nn.Module], seeds: list[int], input_statistics: tuple[np.ndarray, np.ndarray],
    layout: str, device: torch.device, memory_format: torch.memory_format,
) -> SeedStack:
    """A fresh ``model_factory()`` per seed, its weights drawn from its seed alone and its input standardiser set to
    ``input_statistics`` (the training images' channel mean and std, :func:`labelnoise.inference.channel_statistics`),
    stacked in ``layout`` on ``device``.

    Weights are drawn on the CPU in the standard layout, so they are the same
    function of the seed on every device and layout.
    """
    models = []
    for seed in seeds:
        model = model_factory().to(device="cpu", memory_format=torch.contiguous_format)
        seed_everything(seed)
        reinitialise(model)
        input_standardiser_of(model).set_statistics(*input_statistics)
        models.append(model)
    return SeedStack(models, layout=layout).to(device=device, memory_format=memory_format)
