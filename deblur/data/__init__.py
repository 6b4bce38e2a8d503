"""Datasets: sharp photo folders (pairs are synthesised later, on the training device) and real paired folders."""

from __future__ import annotations

from deblur.data.folders import PairedFolder, SharpFolder, find_pairs, random_crop_box

__all__ = ["PairedFolder", "SharpFolder", "find_pairs", "random_crop_box"]
