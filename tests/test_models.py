"""Tests for labelnoise.models: the paper's CNN (Section 5, Appendix A) and the registry."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labelnoise import models
from labelnoise.models import AllCNNC, InputStandardiser, PaperCNN, available_architectures, build_model
from labelnoise.seed_stack import STACK_LAYOUTS, SeedStack, preferred_stack_layout

torch.set_num_threads(1)


def _convs(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


@pytest.mark.parametrize(
    "in_channels, image_size, n_classes, width, fc_dim",
    [(1, 28, 10, 1.0, 500), (1, 8, 10, 1.0, 500), (3, 32, 10, 0.5, 256), (1, 28, 7, 0.25, 64), (1, 9, 3, 1.0, 16)],
)
def test_output_shapes(in_channels, image_size, n_classes, width, fc_dim):
    model = PaperCNN(in_channels, image_size, n_classes, width=width, fc_dim=fc_dim).eval()
    x = torch.rand(5, in_channels, image_size, image_size)
    assert model(x).shape == (5, n_classes)
    assert model.features(x).shape == (5, fc_dim)
    assert model.feature_dim == fc_dim


def test_width_one_is_the_papers_net():
    model = PaperCNN(1, 28, 10)
    convs = _convs(model)
    assert [c.out_channels for c in convs] == [20, 20, 50, 50]
    assert all(c.kernel_size == (5, 5) for c in convs)
    assert [lin.out_features for lin in _linears(model)] == [500, 10]
    # 28 -> 14 -> 7 after two 2x2 pools, with 'same' convolutions keeping sizes.
    assert _linears(model)[0].in_features == 50 * 7 * 7
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 2 and all(p.kernel_size == 2 for p in pools)
    # BatchNorm after every conv and the hidden fc, not after the last fc.
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 4
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == 1


def test_appendix_a_net_on_cifar_shape():
    model = build_model("paper_cnn", in_channels=3, image_size=32, n_classes=10, fc_dim=256)
    assert [lin.out_features for lin in _linears(model)] == [256, 10]
    assert _linears(model)[0].in_features == 50 * 8 * 8


@pytest.mark.parametrize("width, expected", [(0.25, (5, 5, 12, 12)), (0.5, (10, 10, 25, 25)), (2.0, (40, 40, 100, 100)), (0.001, (1, 1, 1, 1))])
def test_width_scales_conv_channels_only(width, expected):
    model = PaperCNN(1, 28, 10, width=width, fc_dim=500)
    assert tuple(c.out_channels for c in _convs(model)) == expected
    assert model.conv_channels == expected
    assert _linears(model)[0].out_features == 500


def _manual_features(model: PaperCNN, x: torch.Tensor) -> torch.Tensor:
    """Eval-mode forward to the hidden fc written with functional ops only."""
    std_module = model.input_standardiser
    h = (x - std_module.mean) / std_module.std
    convs = _convs(model)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for i, (conv, bn) in enumerate(zip(convs, bns)):
        h = F.conv2d(h, conv.weight, conv.bias, padding=2)
        h = F.batch_norm(h, bn.running_mean, bn.running_var, bn.weight, bn.bias, training=False, eps=bn.eps)
        h = F.relu(h)
        if i in (1, 3):
            h = F.max_pool2d(h, 2)
    fc = _linears(model)[0]
    return h.flatten(1) @ fc.weight.T + fc.bias


def _randomise_bn_and_standardiser(model: PaperCNN) -> None:
    gen = torch.Generator().manual_seed(3)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            m.weight.data.copy_(torch.randn(m.weight.shape, generator=gen))
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=gen))
    model.input_standardiser.set_statistics([0.13], [0.31])


@pytest.mark.parametrize("image_size", [28, 8])
def test_features_are_raw_pre_bn_fc_outputs(image_size):
    torch.manual_seed(0)
    model = PaperCNN(1, image_size, 10, width=0.5, fc_dim=32)
    _randomise_bn_and_standardiser(model)
    model.eval()
    x = torch.rand(6, 1, image_size, image_size)
    with torch.no_grad():
        feats = model.features(x)
        torch.testing.assert_close(feats, _manual_features(model, x), rtol=1e-4, atol=1e-4)
        # The features are before BN/ReLU: they take negative values, and the
        # logits are the last fc applied to relu(bn(features)).
        assert (feats < 0).any()
        bn = model.fc_hidden_bn
        expected_logits = model.classifier(F.relu(F.batch_norm(feats, bn.running_mean, bn.running_var, bn.weight, bn.bias, eps=bn.eps)))
        torch.testing.assert_close(model(x), expected_logits)


def test_input_standardiser_statistics_travel_in_state_dict():
    model = PaperCNN(3, 8, 4, width=0.25, fc_dim=8)
    model.input_standardiser.set_statistics([0.1, 0.2, 0.3], [0.5, 0.0, 2.0])
    assert model.input_standardiser.std.flatten()[1].item() == pytest.approx(models.MIN_CHANNEL_STD)
    fresh = PaperCNN(3, 8, 4, width=0.25, fc_dim=8)
    fresh.load_state_dict(model.state_dict())
    torch.testing.assert_close(fresh.input_standardiser.mean.flatten(), torch.tensor([0.1, 0.2, 0.3]))
    x = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(fresh.input_standardiser(x), model.input_standardiser(x))


def test_build_model_registry():
    assert {"paper_cnn", "allcnn_c", "allcnn_c_nodropout"} <= set(available_architectures())
    assert build_model("paper_cnn", 1, 8, 10).feature_dim == models.PAPER_FC_DIM  # fc_dim=None: Section 5's 500
    model = build_model("paper_cnn", 1, 8, 10, width=0.5, fc_dim=64)
    assert isinstance(model, PaperCNN) and model.conv_channels == (10, 10, 25, 25) and model.feature_dim == 64
    with pytest.raises(ValueError, match="unknown architecture 'resnet'.*paper_cnn"):
        build_model("resnet", 1, 8, 10)


def test_registry_is_extensible(monkeypatch):
    monkeypatch.setattr(models, "_ARCHITECTURES", dict(models._ARCHITECTURES))

    @models.register_architecture("tiny_test_net")
    def _build_tiny(*, in_channels, image_size, n_classes, width, fc_dim):
        return nn.Sequential(InputStandardiser(in_channels), nn.Flatten(), nn.Linear(in_channels * image_size**2, n_classes))

    assert "tiny_test_net" in available_architectures()
    assert build_model("tiny_test_net", 1, 8, 3)(torch.rand(2, 1, 8, 8)).shape == (2, 3)
    with pytest.raises(ValueError, match="already registered"):
        models.register_architecture("paper_cnn")(_build_tiny)


# --------------------------------------------------------------------------
# All-CNN-C (the paper's CIFAR-10 net, Springenberg et al. 2014)
# --------------------------------------------------------------------------


def test_allcnn_c_is_springenbergs_model_c_with_bn():
    model = build_model("allcnn_c_nodropout", in_channels=3, image_size=32, n_classes=10)
    convs = _convs(model)
    assert [c.out_channels for c in convs] == [96, 96, 96, 192, 192, 192, 192, 192, 10]
    assert [c.kernel_size[0] for c in convs] == [3] * 7 + [1, 1]
    assert [c.stride[0] for c in convs] == [1, 1, 2, 1, 1, 2, 1, 1, 1]
    assert [c.padding[0] for c in convs] == [1] * 6 + [0, 0, 0]  # the 3x3 after the second stride is 'valid'
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 8  # every conv but the last
    assert not _linears(model) and not any(isinstance(m, nn.Dropout) for m in model.modules())
    # 32 -> 16 -> 8 -> 6: the original's 6x6 map before global averaging.
    model.eval()
    with torch.no_grad():
        last_map = model.body(model.input_standardiser(torch.rand(2, 3, 32, 32)))
    assert last_map.shape == (2, 192, 6, 6)
    assert models.allcnn_output_size(32) == 6


def test_allcnn_c_dropout_is_the_originals():
    model = build_model("allcnn_c", 3, 32, 10, width=0.25, fc_dim=500)  # fc_dim does not apply: ignored
    drops = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert drops == [0.2, 0.5, 0.5]
    assert model.feature_dim == 48 and model.conv_channels == (24, 48)


@pytest.mark.parametrize("image_size, width", [(32, 0.25), (9, 0.1), (28, 0.5)])
def test_allcnn_c_features_are_the_input_of_the_linear_classifier(image_size, width):
    torch.manual_seed(1)
    model = AllCNNC(1, image_size, 7, width=width).eval()
    x = torch.rand(4, 1, image_size, image_size)
    with torch.no_grad():
        feats, logits = model.features(x), model(x)
        assert feats.shape == (4, model.feature_dim) and logits.shape == (4, 7)
        assert (feats >= 0).all()  # after BN + ReLU
        # A 1x1 convolution commutes with global averaging: logits = W features + b.
        weight = model.classifier.weight.flatten(1)
        torch.testing.assert_close(logits, feats @ weight.T + model.classifier.bias, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------
# SeedStack: S models as one model, in either layout
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arch, channels, size", [("paper_cnn", 1, 12), ("paper_cnn", 3, 8), ("allcnn_c_nodropout", 3, 12)]
)
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("layout", STACK_LAYOUTS)
def test_seed_stack_equals_separate_models(arch, channels, size, memory_format, layout):
    torch.manual_seed(0)
    separate = [build_model(arch, channels, size, 5, width=0.2, fc_dim=16) for _ in range(3)]
    for m in separate:
        _randomise_bn_and_standardiser_any(m)
    stack = SeedStack(separate, layout).to(memory_format=memory_format)
    for m in separate:
        m.to(memory_format=memory_format)
    x = torch.rand(3, 6, channels, size, size)
    # Training mode: each seed normalises with its own batch and updates its own running stats.
    out = stack(x, memory_format)
    for s, model in enumerate(separate):
        if layout == "seed_major":  # the very kernels a lone model runs
            assert torch.equal(out[s], model(x[s].contiguous(memory_format=memory_format)))
        else:
            torch.testing.assert_close(out[s], model(x[s]), rtol=1e-4, atol=1e-5)
        stacked_state = stack.seed_state_dict(s)
        assert list(stacked_state) == list(model.state_dict())
        for key, value in model.state_dict().items():
            torch.testing.assert_close(stacked_state[key], value, rtol=1e-5, atol=1e-6)
    # Eval mode on one shared batch.
    stack.eval()
    shared = torch.rand(4, channels, size, size)
    with torch.no_grad():
        out = stack(shared, memory_format)
        for s, model in enumerate(separate):
            torch.testing.assert_close(out[s], model.eval()(shared), rtol=1e-4, atol=1e-5)


def _randomise_bn_and_standardiser_any(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.normal_()
            m.bias.data.normal_()
    standardiser = models.input_standardiser_of(model)
    standardiser.set_statistics(torch.rand(standardiser.n_channels), torch.rand(standardiser.n_channels) + 0.1)


def _seed_gradient(layer, name: str, seed: int) -> torch.Tensor:
    """Seed ``seed``'s gradient of tensor ``name`` (zeros where autograd left none)."""
    if layer.layout == "wide":
        grad = getattr(layer, name).grad
        grad = None if grad is None else grad.view(layer.n_seeds, *layer.seed_shapes[name])[seed]
    else:
        grad = layer.seed_view(name, seed).grad
    return torch.zeros(layer.seed_shapes[name]) if grad is None else grad


@pytest.mark.parametrize("layout", STACK_LAYOUTS)
def test_seed_stack_gradients_stay_within_each_seed(layout):
    torch.manual_seed(0)
    stack = SeedStack([PaperCNN(1, 8, 4, width=0.25, fc_dim=8) for _ in range(3)], layout)
    stack(torch.rand(3, 5, 1, 8, 8))[1].sum().backward()  # only seed 1's outputs
    with_gradient = 0
    for layer in stack.layers:
        for name in getattr(layer, "seed_shapes", {}):
            if not layer.seed_view(name, 1).is_floating_point() or name.startswith("running") or name in ("mean", "std"):
                continue
            assert layer.seed_view(name, 0).shape == layer.seed_shapes[name]
            assert _seed_gradient(layer, name, 0).abs().sum() == 0 and _seed_gradient(layer, name, 2).abs().sum() == 0
            with_gradient += bool(_seed_gradient(layer, name, 1).abs().sum() > 0)
    assert with_gradient >= 10  # the conv, BN and fc weights of seed 1


def test_seed_major_stack_computes_a_subset_of_seeds():
    torch.manual_seed(0)
    separate = [PaperCNN(1, 8, 4, width=0.25, fc_dim=8) for _ in range(3)]
    x = torch.rand(2, 5, 1, 8, 8)
    stack = SeedStack(separate, "seed_major").eval()
    with torch.no_grad():
        out = stack(x, seeds=[2, 0])
        assert out.shape == (2, 5, 4)
        assert torch.equal(out[0], separate[2].eval()(x[0])) and torch.equal(out[1], separate[0].eval()(x[1]))


def test_preferred_stack_layout():
    assert preferred_stack_layout(torch.device("cuda")) == "wide"
    assert preferred_stack_layout(torch.device("cpu")) == "seed_major"


@pytest.mark.parametrize("layout", STACK_LAYOUTS)
def test_seed_stack_loads_and_returns_seed_states(layout):
    source = [PaperCNN(1, 8, 4, width=0.25, fc_dim=8) for _ in range(2)]
    stack = SeedStack(source, layout)
    replacement = PaperCNN(1, 8, 4, width=0.25, fc_dim=8)
    stack.load_seed_state_dict(1, replacement.state_dict())
    for key, value in replacement.state_dict().items():
        torch.testing.assert_close(stack.seed_state_dict(1)[key], value)
        torch.testing.assert_close(stack.seed_state_dict(0)[key], source[0].state_dict()[key])


def test_seed_stack_rejects_a_layer_it_cannot_stack():
    class TanhNet(PaperCNN):
        def layer_sequence(self):
            return [*super().layer_sequence(), nn.Tanh()]

    with pytest.raises(ValueError, match="cannot stack layer type Tanh"):
        SeedStack([TanhNet(1, 8, 4, width=0.25, fc_dim=8)])
