"""Resume checkpoints: plain dicts of tensors, state dicts and Python values, written atomically and read back
with ``torch.load(weights_only=True)``, which cannot execute code. There is no fallback to unsafe loading."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from deblur.errors import DeblurError
from deblur.io import atomic_write_bytes

CHECKPOINT_FORMAT = "deblur-checkpoint/1"


class CheckpointError(DeblurError):
    """A checkpoint that cannot be read safely."""


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Serialise ``state`` (plus a format tag) to memory, then write it atomically: a crash or a full disk leaves
    the previous checkpoint intact."""
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, **state}, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint without executing code.

    Raises:
        CheckpointError: missing, corrupt, not a deblur checkpoint, or holding objects other than tensors and plain
            values (a pickle payload is refused, never run).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = next((line.strip() for line in str(exc).splitlines() if "GLOBAL" in line), None)
        if detail is None:  # not a pickle of anything: random bytes, a truncated file
            raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated?)") from exc
        raise CheckpointError(
            f"{path} holds objects other than tensors and plain values, refusing to load it ({detail})"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated?): {reason}") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a deblur checkpoint ({CHECKPOINT_FORMAT})")
    return state


def rng_state() -> dict[str, Any]:
    """torch's global RNG states (CPU and every CUDA device), e.g. for dropout."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Put back the random generators saved by :func:`rng_state`, so a resumed run draws what it would have."""
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
