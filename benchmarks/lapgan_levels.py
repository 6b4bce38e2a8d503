"""Which LAPGAN level holds the model back: each level of a trained LAPGAN scored with the others made real.

A LAPGAN samples its coarse image, then adds one generated band per finer level, each conditioned on the upsampled
image below it (Denton et al. 2015). Swapping generated levels for real ones isolates each level's share of the
gap to the data: the Parzen-window log-likelihood (the 2014 protocol, with fewer points) of

* the model's own samples;
* the real coarse image of training photos with the generated bands on top (the band generators' quality);
* the real image one level down with the generated finest band only;
* the real and the generated coarse images, upsampled with no bands (how far the coarse level alone is off);
* real training images (the estimator's ceiling at these sizes).

    python -m benchmarks.lapgan_levels [--model models/gan_fashion_mnist_lapgan.safetensors] [--samples 3000]

Writes ``results/lapgan_levels.{md,csv,tex,json}``. Parzen widths are chosen on the first 2,000 held-out training
images and scored on the first 2,000 test images (not the 10,000 of ``parzen_fashion_mnist``: a diagnosis, faster;
compare rows with each other, not with that table).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.common import environment, write_results
from deblur.data.mnist import load_mnist_family
from deblur.ops.pyramid import laplacian_pyramid, pyramid_up
from deblur.parzen import parzen_evaluate
from deblur.train.gan import sample_images
from deblur.train.run import load_generator

ROOT = Path(__file__).resolve().parent.parent
SEED = 0


@torch.no_grad()
def level_rows(model: Path, data: Path, samples: int) -> list[dict[str, object]]:
    gen, meta = load_generator(model, task="gan")
    gen.eval()
    train, test = load_mnist_family(data, "train"), load_mnist_family(data, "test")
    val, scored = load_mnist_family(data, "val").images[:2000].flatten(1), test.images[:2000].flatten(1)
    pad = (gen.sides[-1] - train.images.shape[-1]) // 2  # 28 -> 32 px: the model's own padding

    def crop(images: torch.Tensor) -> torch.Tensor:
        return images[..., pad : images.shape[-2] - pad, pad : images.shape[-1] - pad] if pad else images

    real = torch.nn.functional.pad(train.images[:samples], (pad,) * 4)
    coarse, conditions, _ = laplacian_pyramid(real, gen.levels)
    _, planes = gen.split_latent(torch.randn(samples, gen.latent_dim, generator=torch.Generator().manual_seed(SEED)))

    def upsampled(image: torch.Tensor) -> torch.Tensor:
        for _ in range(gen.levels):
            image = pyramid_up(image)
        return image

    finest = (conditions[-1] + gen.band(gen.levels - 1, planes[-1], conditions[-1])).clamp(0, 1)
    generated_coarse = gen.coarse(gen.split_latent(torch.randn(samples, gen.latent_dim))[0])
    candidates = {
        "model samples (every level generated)": sample_images(gen, meta, samples, seed=SEED),
        "real coarse + generated bands": crop(gen.refine(coarse, planes)),
        "real image one level down + generated finest band": crop(finest),
        "real coarse, upsampled, no bands": crop(upsampled(coarse)),
        "generated coarse, upsampled, no bands": crop(upsampled(generated_coarse)),
        "real training images": train.images[:samples],
    }
    rows = []
    for name, images in candidates.items():
        result = parzen_evaluate(images.clamp(0, 1).flatten(1), val, scored)
        rows.append(
            {
                "images": name,
                "parzen": round(result.mean, 1),
                "stderr": round(result.stderr, 2),
                "sigma": round(result.sigma, 3),
            }
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "gan_fashion_mnist_lapgan.safetensors")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "fashion-mnist")
    parser.add_argument("--samples", type=int, default=3000)
    args = parser.parse_args()
    torch.manual_seed(SEED)
    rows = level_rows(args.model, args.data, args.samples)
    caption = (
        f"LAPGAN levels isolated ({args.model.name}): Parzen log-likelihood (nats) of {args.samples:,} images per row, "
        "sigma chosen on 2,000 held-out training images, scored on 2,000 test images (a diagnosis: compare rows with "
        "each other, not with parzen_fashion_mnist)."
    )
    write_results("lapgan_levels", rows, ["images", "parzen", "stderr", "sigma"], caption, environment({"torch": SEED}))


if __name__ == "__main__":
    main()
