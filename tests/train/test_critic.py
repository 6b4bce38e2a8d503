"""deblur.train.critic: samples from the pipeline's own hypotheses, the fit, and the calibration of a blind policy."""

from __future__ import annotations

from pathlib import Path

import torch

from deblur.nets import create_net
from deblur.nets.critic import FEATURES
from deblur.train.critic import calibration, fit_critic, generate_samples, sample_features


def test_values_generate_samples_judges_every_candidate(tmp_path: Path) -> None:
    import skimage.data
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.fromarray(skimage.data.astronaut()[100:196, 150:246]).save(photo)
    torch.manual_seed(0)
    net = create_net("kernel_aware", refiner={"width": 4, "depth": 2, "blocks": 1}).eval()
    samples = generate_samples(net, [photo], count=2, seed=3, progress=False)
    assert samples and {s["group"] for s in samples} <= {0, 1}
    for sample in samples:
        assert sample["blurred"].dtype == torch.uint8 and sample["blurred"].shape == sample["restored"].shape
        assert sample["kernel"].shape[-1] % 2 == 1 and abs(float(sample["kernel"].float().sum()) - 1) < 1e-2
        assert sample["gain"] == sample["gain"]  # finite or ±inf never NaN
    features = sample_features(samples)
    assert features.shape == (len(samples), len(FEATURES)) and bool(torch.isfinite(features).all())


def test_values_fit_learns_a_gain_from_features() -> None:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(400, len(FEATURES), generator=generator)
    gains = 3 * features[:, 0] - 2 * features[:, 5] + 1
    crops = [i // 4 for i in range(400)]
    critic = fit_critic(features, gains, crops, steps=300, width=16, rank_weight=0.5)
    with torch.no_grad():
        predicted = critic.from_features(features)
    assert float(torch.corrcoef(torch.stack([predicted, gains.clamp(-10, 15)]))[0, 1]) > 0.95


def test_values_calibration_applies_the_policy() -> None:
    def sample(name: str, gain: float) -> dict:
        return {"photo": "p", "group": 0, "kind": "motion", "size": 9, "name": name, "gain": gain}

    samples = [sample("l0 9", 3.0), sample("edges 9", -2.0), sample("true", 5.0)]
    rows = calibration(torch.tensor([1.0, 2.0, 9.0]), samples, min_gain=0.5, full_gain=1.5)
    (row,) = rows
    # the critic prefers the worse hypothesis here: the policy applies it fully, and the realised gain says so
    assert row["chosen"] == "edges 9" and row["strength"] == 1.0 and row["realised"] == -2.0
    assert row["best"] == 3.0 and row["true_kernel"] == 5.0
