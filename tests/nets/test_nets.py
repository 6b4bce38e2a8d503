"""Every registered net: forward shape, finite output, one backward step, spec round trip."""

from __future__ import annotations

import math

import pytest
import torch

from deblur.nets import NETS, create_net, net_from_spec, net_spec

SMALL = {
    "mlp_generator": {"z_dim": 8, "hidden": (16, 16), "image_shape": (1, 28, 28)},
    "maxout_discriminator": {"image_shape": (1, 28, 28), "units": 8, "pieces": 3},
    "dcgan_generator": {"z_dim": 8, "width": 4, "image_size": 32, "channels": 3},
    "dcgan_discriminator": {"width": 4, "image_size": 32, "channels": 3},
    "lapgan_generator": {"z_dim": 8, "width": 4, "image_size": 32, "levels": 2},
    "lapgan_discriminator": {"width": 4, "image_size": 32, "levels": 2},
    "began_generator": {"z_dim": 8, "width": 4, "image_size": 16, "channels": 3},
    "began_discriminator": {"code": 8, "width": 4, "image_size": 16, "channels": 3},
    "classifier": {"width": 4},
    "unet": {"width": 4, "depth": 2, "blocks": 1},
    "kernel_aware": {"refiner": {"width": 4, "depth": 2, "blocks": 1}, "iterations": 3},
    "patchgan": {"width": 4, "layers": 2},
    "critic": {"width": 8, "depth": 2},
}


def test_registry_covered() -> None:
    assert set(SMALL) == set(NETS)


KNOWN_DEAD = {
    # the bias of a convolution just before a batch or instance norm: the norm subtracts each channel's mean, so
    # while training the bias never changes the output and gets no gradient; the nets keep these biases because
    # shipped model files (models/gan_fashion_mnist_lapgan.safetensors) and checkpoints hold them
    "lapgan_generator": {"bands.0.body.0.bias", "bands.0.body.3.bias", "bands.1.body.0.bias", "bands.1.body.3.bias"},
    "patchgan": {"nets.0.net.2.bias", "nets.0.net.5.bias"},  # with norm="instance", the default
}
"""Parameters that get no gradient by construction, per net (test_forward_backward checks they really are dead)."""


def _input(name: str, net: torch.nn.Module) -> torch.Tensor:
    if name.endswith("generator"):
        return torch.randn(2, net.latent_dim, dtype=torch.float64)
    size = {"maxout_discriminator": 28, "classifier": 28, "began_discriminator": 16, "lapgan_discriminator": 8}.get(
        name, 32
    )  # the LAPGAN discriminator's forward judges the coarse level
    channels = 3 if name in ("dcgan_discriminator", "began_discriminator") else 1
    return torch.rand(2, channels, size, size, dtype=torch.float64)


@pytest.mark.parametrize("name", sorted(NETS))
def test_forward_backward(name: str) -> None:
    # float64, so that a parameter without a gradient shows as ~1e-17, far from the smallest real one (~1e-6)
    torch.manual_seed(0)
    net = create_net(name, **SMALL[name]).double()
    extra = torch.zeros((), dtype=torch.float64)  # outputs beyond forward's, so that every part of the net is used
    if name == "unet":  # image to image; leave the identity start so every weight gets a gradient
        torch.nn.init.normal_(net.tail.weight, std=0.1)
        x = torch.rand(2, 3, 20, 28, dtype=torch.float64)
        out = net(x)
    elif name == "kernel_aware":  # (blurred, kernel) -> restored
        torch.nn.init.normal_(net.refiner.tail.weight, std=0.1)
        x = torch.rand(2, 3, 20, 28, dtype=torch.float64)
        kernel = torch.rand(2, 5, 5, dtype=torch.float64)
        out = net(x, kernel / kernel.sum((1, 2), keepdim=True))
    elif name == "patchgan":  # D(candidate, blurred)
        x = torch.rand(2, 3, 20, 28, dtype=torch.float64)
        out = net(x, x.flip(-1))
    elif name == "critic":  # (blurred, restored, kernels) -> predicted gain
        x = torch.rand(2, 3, 20, 28, dtype=torch.float64)
        kernel = torch.rand(2, 5, 5, dtype=torch.float64)
        out = net(x, x.flip(-1), kernel / kernel.sum((1, 2), keepdim=True))
    else:
        x = _input(name, net)
        out = net(x)
    if name == "lapgan_discriminator":  # forward judges the coarse level; level(k, ...) judges the bands
        for k, side in ((1, 16), (2, 32)):
            band, condition = torch.rand(2, 2, 1, side, side, dtype=torch.float64)
            extra = extra + net.level(k, band, condition).mean()
    assert torch.isfinite(out).all()
    if name in ("unet", "kernel_aware"):
        assert out.shape == x.shape
    elif name == "patchgan":
        assert out.ndim == 2 and out.shape[0] == 2
    elif name.endswith("generator"):
        assert out.shape[0] == 2 and out.ndim == 4
        if not name.startswith("began"):  # BEGAN's decoder is unbounded while training
            assert out.min() >= 0 and out.max() <= 1
    elif name == "classifier":
        assert out.shape == (2, 10)
    elif name == "began_discriminator":
        assert out.shape == x.shape
    else:
        assert out.shape == (2,)
    (out.mean() + extra).backward()
    dead = KNOWN_DEAD.get(name, set())
    assert dead <= {n for n, _ in net.named_parameters()}, "KNOWN_DEAD names a parameter the net does not have"
    for param_name, param in net.named_parameters():
        grad = param.grad
        assert grad is not None, f"{name}: {param_name} got no gradient"
        assert torch.isfinite(grad).all(), f"{name}: {param_name} has a non-finite gradient"
        size = grad.abs().max().item()
        if param_name in dead:
            assert size < 1e-10, f"{name}: {param_name} is listed in KNOWN_DEAD but gets a gradient ({size:.3g})"
        else:
            assert size > 1e-10, f"{name}: {param_name} gets a zero gradient ({size:.3g})"


@pytest.mark.parametrize("size", [28, 32, 64])
def test_shape_dcgan_sizes(size: int) -> None:
    gen = create_net("dcgan_generator", z_dim=4, width=4, image_size=size)
    disc = create_net("dcgan_discriminator", width=4, image_size=size)
    images = gen(torch.randn(3, 4))
    assert images.shape == (3, 1, size, size)
    assert disc(images).shape == (3,)


def test_lapgan_levels() -> None:
    gen = create_net("lapgan_generator", **SMALL["lapgan_generator"])
    disc = create_net("lapgan_discriminator", **SMALL["lapgan_discriminator"])
    assert gen.latent_dim == 8 + 16 * 16 + 32 * 32
    z = torch.randn(2, gen.latent_dim)
    coarse_noise, planes = gen.split_latent(z)
    assert coarse_noise.shape == (2, 8) and [p.shape for p in planes] == [(2, 1, 16, 16), (2, 1, 32, 32)]
    condition = torch.rand(2, 1, 16, 16)
    band = gen.band(0, planes[0], condition)
    assert band.shape == (2, 1, 16, 16)
    assert disc.level(1, condition + band, condition).shape == (2,)
    assert disc.level(2, torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32)).shape == (2,)


@pytest.mark.parametrize("image_size", [32, 64])
def test_shape_lapgan_conv_coarse_level(image_size: int) -> None:
    gen = create_net(
        "lapgan_generator", z_dim=8, width=4, image_size=image_size, levels=2, coarse="conv", coarse_width=16
    )
    disc = create_net("lapgan_discriminator", width=4, image_size=image_size, levels=2, coarse="conv", coarse_width=16)
    side = image_size // 4
    assert isinstance(gen.coarse.body[0], torch.nn.ConvTranspose2d)  # convolutional, not fully connected
    coarse = gen.coarse(torch.randn(3, 8))
    assert (
        coarse.shape == (3, 1, side, side) and float(coarse.detach().min()) >= 0 and float(coarse.detach().max()) <= 1
    )
    assert disc.level(0, coarse).shape == (3,)
    images = gen(torch.randn(3, gen.latent_dim))
    assert images.shape == (3, 1, image_size, image_size)
    rebuilt = net_from_spec(net_spec(gen))
    assert [t.shape for t in rebuilt.state_dict().values()] == [t.shape for t in gen.state_dict().values()]
    old = create_net("lapgan_generator", **SMALL["lapgan_generator"])  # specs without the field: the paper's MLP
    assert isinstance(old.coarse.body[0], torch.nn.Linear)
    with pytest.raises(ValueError, match="coarse must be mlp or conv"):
        create_net("lapgan_generator", **SMALL["lapgan_generator"], coarse="dense")


def test_conditional_nets_use_labels() -> None:
    torch.manual_seed(0)
    gen = create_net("dcgan_generator", z_dim=4, width=4, image_size=28, n_classes=10).eval()
    z = torch.randn(1, 4).expand(2, -1)
    images = gen(z, torch.tensor([1, 7]))
    assert not torch.allclose(images[0], images[1])
    with pytest.raises(ValueError, match="class-conditional"):
        gen(z)
    disc = create_net("maxout_discriminator", units=4, pieces=2, n_classes=10)
    assert disc(torch.rand(2, 1, 28, 28), torch.tensor([0, 9])).shape == (2,)


def test_values_projection_discriminator_adds_the_label_embedding_times_pooled_features() -> None:
    torch.manual_seed(0)
    disc = create_net("dcgan_discriminator", width=4, image_size=32, n_classes=10, projection=True).eval()
    assert disc.body[0].in_channels == 1  # no one-hot planes at the input
    x, labels = torch.rand(3, 1, 32, 32), torch.tensor([0, 4, 9])
    features = disc.body(x * 2 - 1)
    expected = disc.head(features).flatten() + (disc.embed(labels) * features.sum(dim=(2, 3))).sum(1)
    torch.testing.assert_close(disc(x, labels), expected)
    same = x[:1].expand(2, -1, -1, -1)
    logits = disc(same, torch.tensor([2, 5]))
    assert logits[0] != logits[1]  # one image, two labels, two verdicts
    with pytest.raises(ValueError, match="class-conditional"):
        disc(x)
    planes = create_net("dcgan_discriminator", width=4, image_size=32, n_classes=10)
    assert planes.body[0].in_channels == 11 and not hasattr(planes, "embed")


def test_values_auxiliary_class_head_reads_the_discriminators_features() -> None:
    torch.manual_seed(0)
    disc = create_net("dcgan_discriminator", width=4, image_size=32, n_classes=10, projection=True, aux_classes=True)
    disc.eval()
    x, labels = torch.rand(3, 1, 32, 32), torch.tensor([0, 4, 9])
    logits, class_logits = disc(x, labels, classes=True)
    torch.testing.assert_close(logits, disc(x, labels))  # the head changes nothing about the verdict
    torch.testing.assert_close(class_logits, disc.classes(disc.body(x * 2 - 1)).flatten(1))
    assert class_logits.shape == (3, 10)
    with pytest.raises(ValueError, match="no class head"):
        create_net("dcgan_discriminator", width=4, image_size=32, n_classes=10)(x, labels, classes=True)
    with pytest.raises(ValueError, match="n_classes"):
        create_net("dcgan_discriminator", width=4, image_size=32, aux_classes=True)


def test_spec_round_trip() -> None:
    net = create_net("mlp_generator", **SMALL["mlp_generator"])
    rebuilt = net_from_spec(net_spec(net))
    assert net_spec(rebuilt) == net_spec(net)
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in net.parameters()]


def test_exception_unknown_net() -> None:
    with pytest.raises(KeyError, match="unknown net 'resnet'"):
        create_net("resnet")


def test_lapgan_coarse_width() -> None:
    gen = create_net("lapgan_generator", z_dim=8, width=4, image_size=32, levels=2, coarse_width=10)
    disc = create_net("lapgan_discriminator", width=4, image_size=32, levels=2, coarse_width=10)
    assert gen.coarse.body[0].out_features == 10 and disc.coarse[1].out_features == 10
    # specs written before coarse_width existed rebuild their nets: 4 * width hidden units
    old = {k: v for k, v in net_spec(gen).items() if k != "coarse_width"}
    assert net_from_spec(old).coarse.body[0].out_features == 16


def test_values_kernel_aware_starts_as_its_deconvolution_and_learns_the_weight() -> None:
    from deblur.ops.deconv import hl_deconv

    net = create_net("kernel_aware", **SMALL["kernel_aware"], learn_weight=True)
    x = torch.rand(2, 3, 24, 24) * 0.5 + 0.25
    kernel = torch.ones(2, 3, 3) / 9
    expected = hl_deconv(x, kernel, 7e-4, iterations=3).clamp(-0.5, 1.5)
    torch.testing.assert_close(net(x, kernel), expected)  # a zero residual at the start
    assert "log_weight" in dict(net.named_parameters())
    fixed = create_net("kernel_aware", **SMALL["kernel_aware"], learn_weight=False)
    assert "log_weight" not in dict(fixed.named_parameters()) and "log_weight" in dict(fixed.named_buffers())
    with pytest.raises(ValueError, match="conditioning channels"):
        net.refiner(x)  # the refiner sees the blurred image beside the deconvolution


def test_values_kernel_aware_bf16_refiner_at_cpu_inference_only() -> None:
    from deblur.nets import kernel_aware

    torch.manual_seed(0)
    net = create_net("kernel_aware", **SMALL["kernel_aware"], beta_max=32.0)
    torch.nn.init.normal_(net.refiner.tail.weight, std=0.05)  # a non-zero residual
    blurred, kernel = torch.rand(2, 3, 32, 32), torch.full((2, 5, 5), 1 / 25)
    net.eval()
    with torch.no_grad():
        net.cpu_bf16 = False
        full = net(blurred, kernel)
        net.cpu_bf16 = True
        fast = net(blurred, kernel)
    assert fast.dtype == torch.float32
    if kernel_aware._native_bf16():
        assert not torch.equal(fast, full)  # the refiner ran in bf16 ...
    torch.testing.assert_close(fast, full, atol=2e-2, rtol=0)  # ... and agrees within bf16's precision
    net.train()
    torch.testing.assert_close(net(blurred, kernel), full, atol=1e-5, rtol=0)  # training stays fp32
    with pytest.raises(ValueError, match="beta_max"):
        create_net("kernel_aware", **SMALL["kernel_aware"], beta_max=0.5)


@pytest.mark.parametrize("size", [16, 32])
def test_began_skip(size: int) -> None:
    torch.manual_seed(0)
    gen = create_net("began_generator", z_dim=8, width=4, image_size=size, skip=True)
    disc = create_net("began_discriminator", code=8, width=4, image_size=size, skip=True)
    plain = create_net("began_generator", z_dim=8, width=4, image_size=size)
    # every scale after the first sees the 8x8 map too: twice the input channels of its first convolution
    wider = [conv for conv in gen.decoder.body if isinstance(conv, torch.nn.Conv2d) and conv.in_channels == 8]
    assert len(wider) == int(math.log2(size // 8))
    assert sum(p.numel() for p in gen.parameters()) == sum(p.numel() for p in plain.parameters()) + 4 * 4 * 9 * len(
        wider
    )
    images = gen(torch.randn(2, 8))
    assert images.shape == (2, 3, size, size) and disc(images).shape == images.shape
    # with the first scale's convolution zeroed, z reaches the output only through the skip path
    z = torch.randn(2, 8)
    for net in (gen, plain):
        torch.nn.init.zeros_(net.decoder.body[0].weight)
    with torch.no_grad():
        assert not torch.allclose(gen(z)[0], gen(z)[1]) and torch.allclose(plain(z)[0], plain(z)[1])


def test_began_batch_std() -> None:
    torch.manual_seed(0)
    disc = create_net("began_discriminator", code=8, width=4, image_size=16, batch_std=True)
    plain = create_net("began_discriminator", code=8, width=4, image_size=16)
    # one more 8x8 plane into the code layer; every other parameter as the paper's encoder
    assert sum(p.numel() for p in disc.parameters()) == sum(p.numel() for p in plain.parameters()) + 64 * 8
    varied = torch.rand(4, 3, 16, 16)
    same = varied[:1].expand(4, -1, -1, -1)
    with torch.no_grad():
        codes = disc.encode(same)
        # a batch of one image four times has zero spread: the plane is zero, so the code is the plain encoder's
        code_layer = disc.encoder[-1]
        maps = disc.encoder[:-2](same * 2 - 1).flatten(1)
        expected = maps @ code_layer.weight[:, : maps.shape[1]].T + code_layer.bias
        assert torch.allclose(codes, expected, atol=1e-5)
        # with varied images the spread plane moves every code, so D can tell a collapsed batch from a varied one
        first = disc.encode(varied)[0]
        alone = disc.encode(torch.cat([varied[:1]] * 4))[0]
        assert not torch.allclose(first, alone, atol=1e-4)
        assert disc.encode(varied[:1]).shape == (1, 8) and disc(varied).shape == varied.shape
