"""Apply a set-versus-set metric to each class separately (real class c against generated class c)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def bank_classes(fake_labels: torch.Tensor, num_classes: int) -> list[int]:
    """The class ids the generated set holds at least one sample of, in id order."""
    counts = torch.bincount(torch.as_tensor(fake_labels, dtype=torch.int64), minlength=num_classes).tolist()
    return [c for c in range(num_classes) if counts[c] > 0]


def per_class(
    metric: Callable[[torch.Tensor, torch.Tensor], dict],
    real: torch.Tensor,
    real_labels: torch.Tensor,
    fake: torch.Tensor,
    fake_labels: torch.Tensor,
    class_names: Sequence[str],
    classes: Sequence[int] | None = None,
) -> dict[str, dict]:
    """{class name: {"class_id": c, **metric(real of class c, fake of class c)}} for each class in `classes`.

    `classes` defaults to the classes the generated set holds (a bank usually holds the minority only).
    """
    real_labels = torch.as_tensor(real_labels, dtype=torch.int64, device=real.device)
    fake_labels = torch.as_tensor(fake_labels, dtype=torch.int64, device=fake.device)
    chosen = bank_classes(fake_labels, len(class_names)) if classes is None else [int(c) for c in classes]
    return {
        str(class_names[c]): {"class_id": c, **metric(real[real_labels == c], fake[fake_labels == c])} for c in chosen
    }
