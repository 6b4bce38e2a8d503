"""Networks, in a small registry: ``create_net(name, **fields)`` builds one, ``net_spec(net)`` describes it.

A spec is a plain dict ``{"name": "dcgan_generator", "z_dim": 100, ...}`` with every constructor argument
(defaults included), saved in checkpoints and model files so that a net can be rebuilt exactly before its weights
are loaded. GAN generators take ``(z, label=None)`` and return images in [0, 1]; discriminators take
``(image, label=None)`` and return logits (BEGAN's returns a reconstruction). The deblurring nets are ``unet``
(blurred -> restored), ``kernel_aware`` ((blurred, kernel) -> restored: deconvolution refined by a U-Net; its spec
nests the refiner's) and ``patchgan`` (``D(candidate, blurred)``).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from deblur.nets.began import BEGANDiscriminator, BEGANGenerator
from deblur.nets.classifier import SmallClassifier
from deblur.nets.critic import Critic
from deblur.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from deblur.nets.kernel_aware import KernelAwareGenerator
from deblur.nets.lapgan import LAPGANDiscriminator, LAPGANGenerator
from deblur.nets.mlp import MaxoutDiscriminator, MLPGenerator
from deblur.nets.patchgan import PatchDiscriminator
from deblur.nets.unet import UNetGenerator

NETS: dict[str, type[torch.nn.Module]] = {
    "mlp_generator": MLPGenerator,
    "maxout_discriminator": MaxoutDiscriminator,
    "dcgan_generator": DCGANGenerator,
    "dcgan_discriminator": DCGANDiscriminator,
    "lapgan_generator": LAPGANGenerator,
    "lapgan_discriminator": LAPGANDiscriminator,
    "began_generator": BEGANGenerator,
    "began_discriminator": BEGANDiscriminator,
    "classifier": SmallClassifier,
    "unet": UNetGenerator,
    "kernel_aware": KernelAwareGenerator,
    "patchgan": PatchDiscriminator,
    "critic": Critic,
}


def create_net(name: str, **fields: Any) -> torch.nn.Module:
    """Build a registered net; the full spec (defaults included) is kept as ``net.spec``.

    Raises:
        KeyError: unknown name (the message lists the known ones).
        TypeError: a field the net does not take.
    """
    if name not in NETS:
        raise KeyError(f"unknown net {name!r}; known: {', '.join(sorted(NETS))}")
    cls = NETS[name]
    bound = inspect.signature(cls).bind(**fields)
    bound.apply_defaults()
    net = cls(**bound.arguments)
    net.spec = {"name": name, **{k: list(v) if isinstance(v, tuple) else v for k, v in bound.arguments.items()}}
    return net


def net_spec(net: torch.nn.Module) -> dict[str, Any]:
    """The spec a net was created with (see :func:`create_net`)."""
    spec = getattr(net, "spec", None)
    if spec is None:
        raise ValueError(f"{type(net).__name__} was not built with create_net, so it has no spec")
    return dict(spec)


def net_from_spec(spec: dict[str, Any]) -> torch.nn.Module:
    """Rebuild a net from its spec (lists become tuples where the constructor expects them)."""
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items() if k != "name"}
    return create_net(spec["name"], **fields)


def rebuild_net(net: torch.nn.Module, **changes: Any) -> torch.nn.Module:
    """The same net, weights included, rebuilt from its spec with ``changes`` to some fields (e.g. an estimator)."""
    rebuilt = net_from_spec({**net_spec(net), **changes})
    rebuilt.load_state_dict(net.state_dict())
    first = next(iter(net.parameters()), None)
    return rebuilt.to(first.device if first is not None else "cpu").train(net.training)


__all__ = ["NETS", "create_net", "net_from_spec", "net_spec", "rebuild_net"]
