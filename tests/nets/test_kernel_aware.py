"""deblur.nets.kernel_aware: the branches the refiner sees (Wiener, residual map, sharper deconvolution) and kernel
centring."""

from __future__ import annotations

import pytest
import torch


def _setting_reaches_output(
    net: torch.nn.Module, blurred: torch.Tensor, kernel: torch.Tensor, setting: str, value: float
) -> bool:
    """Whether setting ``net.<setting>`` to ``value`` changes the output once the refiner has random weights (untrained,
    it adds a zero residual: nothing it reads would show). Call it under ``torch.no_grad()``."""
    for p in net.refiner.parameters():
        p.add_(0.05 * torch.randn_like(p))
    changed = net(blurred, kernel)
    setattr(net, setting, value)
    return not torch.allclose(changed, net(blurred, kernel))


def test_kernel_aware_wiener_branch_is_seen_by_the_refiner_and_validated() -> None:
    from deblur.nets import create_net as make
    from deblur.ops.deconv import wiener_deconv

    torch.manual_seed(0)
    net = make("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}, wiener_nsr=1e-2).eval()
    assert net.refiner.extra_channels == 6  # the blurred image and the Wiener deconvolution
    blurred, kernel = torch.rand(2, 3, 24, 32), torch.full((2, 5, 5), 1 / 25)
    condition = net.condition(blurred, kernel)
    torch.testing.assert_close(condition[:, :3], blurred)
    torch.testing.assert_close(condition[:, 3:], wiener_deconv(blurred, kernel, 1e-2).clamp(-0.5, 1.5))
    with torch.no_grad():  # an untrained refiner adds a zero residual: the branch changes nothing until trained
        torch.testing.assert_close(net(blurred, kernel), net.deconvolve(blurred, kernel).clamp(-0.5, 1.5))
        assert _setting_reaches_output(net, blurred, kernel, "wiener_nsr", 1.0)  # another branch image shows
    with pytest.raises(ValueError, match="wiener_nsr must be positive"):
        make("kernel_aware", wiener_nsr=0.0)


def test_kernel_aware_residual_input_is_the_normalised_reblur_misfit() -> None:
    from deblur.nets import create_net as make
    from deblur.nets.kernel_aware import trust_map
    from deblur.ops.deconv import estimate_noise, hl_deconv

    torch.manual_seed(0)
    spec = {"refiner": {"width": 4, "depth": 2, "blocks": 1}, "iterations": 3, "wiener_nsr": 1e-2}
    net = make("kernel_aware", residual=True, **spec).eval()
    assert net.refiner.extra_channels == 9  # blurred, Wiener, and the residual map, last
    blurred = torch.rand(2, 3, 24, 32)
    kernel = torch.rand(2, 5, 5)
    kernel = kernel / kernel.sum((1, 2), keepdim=True)
    latent, residual = net.deconvolve(blurred, kernel, residual=True)
    weight = float(net.log_weight.detach().exp())
    torch.testing.assert_close(latent, hl_deconv(blurred, kernel, weight, net.alpha, iterations=3, beta_max=256.0))
    sigma = estimate_noise(blurred).clamp(min=2e-3)
    expected = (residual / sigma[:, None, None, None]).clamp(-10, 10) / 10
    torch.testing.assert_close(net.condition(blurred, kernel, residual=residual)[:, 6:], expected)
    torch.testing.assert_close(trust_map(blurred, residual), expected)
    assert expected.abs().max() <= 1
    with torch.no_grad():  # untrained: a zero residual on the deconvolution; then the map reaches the output
        torch.testing.assert_close(net(blurred, kernel), latent.clamp(-0.5, 1.5))
        for p in net.refiner.parameters():
            p.add_(0.05 * torch.randn_like(p))
        changed = net(blurred, kernel)
        net.residual = False  # the same network without its third branch would read the wrong channels
        with pytest.raises(RuntimeError):
            net(blurred, kernel)
        net.residual = True
        torch.testing.assert_close(net(blurred, kernel), changed)


def test_kernel_aware_sharper_branch_is_a_second_hl_deconvolution_in_one_batched_call() -> None:
    from deblur.nets import create_net as make
    from deblur.ops.deconv import hl_deconv

    torch.manual_seed(0)
    spec = {"refiner": {"width": 4, "depth": 2, "blocks": 1}, "iterations": 3, "wiener_nsr": 1e-2}
    net = make("kernel_aware", sharp_factor=0.25, **spec).eval()
    assert net.refiner.extra_channels == 9  # blurred, Wiener, and the sharper deconvolution, last
    blurred = torch.rand(2, 3, 24, 32)
    kernel = torch.rand(2, 5, 5)
    kernel = kernel / kernel.sum((1, 2), keepdim=True)
    both = net.deconvolve(blurred, kernel)
    weight = float(net.log_weight.detach().exp())
    for i in range(2):  # each half is the plain solve with its own weight (per-sample kernels kept apart)
        for half, w in ((both[i : i + 1, :3], weight), (both[i : i + 1, 3:], 0.25 * weight)):
            expected = hl_deconv(blurred[i : i + 1], kernel[i : i + 1], w, net.alpha, iterations=3, beta_max=256.0)
            torch.testing.assert_close(half, expected, atol=1e-5, rtol=1e-4)
    # the lower weight keeps more high frequencies: larger gradients than the main deconvolution
    assert both[:, 3:].diff(dim=-1).abs().mean() > both[:, :3].diff(dim=-1).abs().mean()
    plain = make("kernel_aware", **spec).eval()
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if not k.startswith("refiner")}, strict=False)
    with torch.no_grad():  # untrained: a zero residual on the main deconvolution, as without the branch
        torch.testing.assert_close(net(blurred, kernel), plain.deconvolve(blurred, kernel).clamp(-0.5, 1.5))
        assert _setting_reaches_output(net, blurred, kernel, "sharp_factor", 0.05)  # another sharper image shows
    with pytest.raises(ValueError, match="sharp_factor must be positive"):
        make("kernel_aware", sharp_factor=-1.0)


def test_kernel_aware_center_takes_every_kernel_by_its_centre_of_mass() -> None:
    from deblur.nets import create_net as make
    from deblur.synth.kernels import line_kernels

    torch.manual_seed(0)
    spec = {"refiner": {"width": 4, "depth": 2, "blocks": 1}, "iterations": 3, "wiener_nsr": 1e-2}
    plain, centred = make("kernel_aware", **spec).eval(), make("kernel_aware", center=True, **spec).eval()
    with torch.no_grad():
        for p in plain.refiner.parameters():
            p.add_(0.05 * torch.randn_like(p))
    centred.load_state_dict(plain.state_dict())  # the option adds no weights: any kernel-aware file can take it
    blurred = torch.rand(2, 3, 32, 40)
    kernel = line_kernels(torch.tensor([4.0, 6.0]), torch.tensor([20.0, 100.0]), 13)  # rolls wrap no mass
    shifted = torch.stack([torch.roll(kernel[0], (1, 2), dims=(0, 1)), torch.roll(kernel[1], (-2, 0), dims=(0, 1))])
    with torch.no_grad():
        torch.testing.assert_close(centred(blurred, kernel), plain(blurred, kernel))  # centred kernels: a no-op
        # a shifted kernel is put back: the result of the centred kernel on the widened canvas
        torch.testing.assert_close(centred(blurred, shifted), plain(blurred, torch.nn.functional.pad(kernel, [2] * 4)))
        assert not torch.allclose(plain(blurred, shifted), centred(blurred, shifted), atol=1e-3)
