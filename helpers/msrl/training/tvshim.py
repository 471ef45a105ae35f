"""A small workaround so the Qwen2/2.5-VL processor loads without a working torchvision.

Why: on our CPU machines the only torchvision wheel pip finds for torch 2.13 is a CUDA build that
fails to import (``operator torchvision::nms does not exist``). transformers then cannot build the
processor's *video* sub-processor, and loading a Qwen2.5-VL processor fails, although chart-to-code
only ever feeds images. The shim makes ``ProcessorMixin.get_attributes`` drop ``video_processor``
when torchvision is unusable; the image processor then resolves to ``Qwen2VLImageProcessorPil``.
Where torchvision works (a GPU environment), ``apply()`` changes nothing.
"""

from __future__ import annotations

_applied = False


def torchvision_usable() -> bool:
    # Installed is not enough: the CUDA wheel is installed but breaks on import.
    try:
        import torchvision  # noqa: F401
        from torchvision.ops import nms  # noqa: F401
    except Exception:
        return False
    return True


def apply() -> bool:
    """Install the shim if needed. Returns True when the processor had to be patched."""
    global _applied
    if _applied:
        return True
    if torchvision_usable():
        return False
    from transformers.processing_utils import ProcessorMixin

    original = ProcessorMixin.get_attributes.__func__

    @classmethod
    def get_attributes(cls):
        return [name for name in original(cls) if name != "video_processor"]

    ProcessorMixin.get_attributes = get_attributes
    _applied = True
    return True
