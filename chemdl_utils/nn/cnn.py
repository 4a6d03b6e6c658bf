"""Convolution and pooling from scratch, receptive fields, and two small CNNs for molecules.

The scratch functions use the same convention as PyTorch's layers: a convolution layer computes a
*cross-correlation* (the kernel is not flipped), ``out[o, i] = b[o] + Σ_c Σ_k w[o, c, k] x[c, i·s + k]``
after zero padding ``p`` on both sides, so ``L_out = ⌊(L + 2p - k) / s⌋ + 1``. They are slow loops
meant for reading and for checking against ``nn.Conv1d`` / ``nn.Conv2d`` / ``nn.MaxPool2d``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import ScaleShift

__all__ = [
    "conv1d_scratch",
    "conv2d_scratch",
    "max_pool2d_scratch",
    "conv_output_size",
    "receptive_field",
    "SmilesCNN",
    "ImageCNN",
]


def _check_int(value: object, name: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def conv_output_size(length: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a convolution or pooling along one axis: ``⌊(L + 2p - k) / s⌋ + 1``."""
    _check_int(length, "length", 1)
    _check_int(kernel, "kernel", 1)
    _check_int(stride, "stride", 1)
    _check_int(padding, "padding", 0)
    if length + 2 * padding < kernel:
        raise ValueError(f"kernel {kernel} is longer than the padded input ({length} + 2*{padding})")
    return (length + 2 * padding - kernel) // stride + 1


def _check_conv(x: torch.Tensor, weight: torch.Tensor, dims: int, name: str) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(weight, torch.Tensor):
        raise TypeError(f"{name}: x and weight must be torch tensors, got {type(x).__name__} and {type(weight).__name__}")
    if x.dim() != dims + 2 or weight.dim() != dims + 2:
        raise ValueError(
            f"{name}: x must be (batch, channels{', H, W' if dims == 2 else ', length'}) and weight "
            f"(out_channels, in_channels, kernel...), got x {tuple(x.shape)} and weight {tuple(weight.shape)}"
        )
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"{name}: x has {x.shape[1]} channels but weight expects {weight.shape[1]}")


def conv1d_scratch(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: int = 1, padding: int = 0
) -> torch.Tensor:
    """1D convolution (cross-correlation) as a sliding dot product; equals ``F.conv1d``.

    ``x``: (batch, in_channels, length); ``weight``: (out_channels, in_channels, k); ``bias``: (out_channels,).
    """
    _check_conv(x, weight, 1, "conv1d_scratch")
    _check_int(stride, "stride", 1)
    _check_int(padding, "padding", 0)
    k = weight.shape[2]
    xp = nn.functional.pad(x, (padding, padding))
    n_out = conv_output_size(x.shape[2], k, stride, padding)
    out = torch.stack([(xp[:, None, :, i * stride:i * stride + k] * weight[None]).sum(dim=(2, 3)) for i in range(n_out)], dim=2)
    return out if bias is None else out + bias[None, :, None]


def conv2d_scratch(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: int = 1, padding: int = 0
) -> torch.Tensor:
    """2D convolution (cross-correlation) as a sliding dot product; equals ``F.conv2d``.

    ``x``: (batch, in_channels, H, W); ``weight``: (out_channels, in_channels, kh, kw).
    """
    _check_conv(x, weight, 2, "conv2d_scratch")
    _check_int(stride, "stride", 1)
    _check_int(padding, "padding", 0)
    kh, kw = weight.shape[2:]
    xp = nn.functional.pad(x, (padding, padding, padding, padding))
    h_out = conv_output_size(x.shape[2], kh, stride, padding)
    w_out = conv_output_size(x.shape[3], kw, stride, padding)
    out = x.new_zeros(x.shape[0], weight.shape[0], h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            patch = xp[:, None, :, i * stride:i * stride + kh, j * stride:j * stride + kw]  # (B, 1, C, kh, kw)
            out[:, :, i, j] = (patch * weight[None]).sum(dim=(2, 3, 4))
    return out if bias is None else out + bias[None, :, None, None]


def max_pool2d_scratch(x: torch.Tensor, kernel: int = 2, stride: int | None = None) -> torch.Tensor:
    """Max pooling over each ``kernel × kernel`` window of every channel; equals ``F.max_pool2d``.

    ``x``: (batch, channels, H, W); ``stride`` defaults to ``kernel`` (non-overlapping windows).
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"max_pool2d_scratch: x must be a (batch, channels, H, W) tensor, got {getattr(x, 'shape', type(x))}")
    _check_int(kernel, "kernel", 1)
    stride = kernel if stride is None else _check_int(stride, "stride", 1)
    h_out, w_out = conv_output_size(x.shape[2], kernel, stride), conv_output_size(x.shape[3], kernel, stride)
    out = x.new_zeros(x.shape[0], x.shape[1], h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel].amax(dim=(2, 3))
    return out


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """Receptive field (in input positions) of one output unit after a stack of layers.

    ``layers`` lists ``(kernel, stride)`` of each convolution or pooling layer, input side first.
    Each layer adds ``(k - 1) × (product of the strides before it)``: ``r = 1 + Σ_l (k_l - 1) Π_{m<l} s_m``.
    """
    r, jump = 1, 1
    for n, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) != 2:
            raise ValueError(f"layer {n} must be a (kernel, stride) pair, got {layer!r}")
        k, s = _check_int(layer[0], f"kernel of layer {n}", 1), _check_int(layer[1], f"stride of layer {n}", 1)
        r += (k - 1) * jump
        jump *= s
    return r


class SmilesCNN(nn.Module):
    """A 1D CNN over one-hot SMILES tokens: convolution → ReLU → global max pool → MLP head.

    Input ``(batch, length, vocab_size)`` (as ``chemdl_utils.text.one_hot`` returns it) or
    ``(batch, vocab_size, length)`` with ``channels_last=False``. Each of the ``filters`` kernels
    spans ``kernel_size`` tokens, so it acts as a learned detector of substrings of that length;
    global max pooling keeps its strongest response anywhere in the string.
    """

    def __init__(
        self,
        vocab_size: int,
        filters: int = 64,
        kernel_size: int = 5,
        hidden: int = 64,
        dropout: float = 0.1,
        target_mean: float = 0.0,
        target_std: float = 1.0,
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        _check_int(vocab_size, "vocab_size", 1)
        _check_int(filters, "filters", 1)
        _check_int(kernel_size, "kernel_size", 1)
        _check_int(hidden, "hidden", 1)
        self.channels_last = channels_last
        self.conv = nn.Conv1d(vocab_size, filters, kernel_size)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(filters, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.rescale = ScaleShift(target_mean, target_std)

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Filter responses along the string after the ReLU: (batch, filters, length - kernel + 1)."""
        if x.dim() != 3:
            raise ValueError(f"SmilesCNN expects one-hot tokens (batch, length, vocab), got shape {tuple(x.shape)}")
        if self.channels_last:
            x = x.transpose(1, 2)
        if x.shape[1] != self.conv.in_channels:
            raise ValueError(f"SmilesCNN was built for a vocabulary of {self.conv.in_channels} tokens, got {x.shape[1]}")
        if x.shape[2] < self.conv.kernel_size[0]:
            raise ValueError(f"strings must be at least {self.conv.kernel_size[0]} tokens long (pad them), got {x.shape[2]}")
        return torch.relu(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted property, shape (batch, 1)."""
        return self.rescale(self.head(self.feature_maps(x).amax(dim=2)))


class ImageCNN(nn.Module):
    """A small 2D CNN for rasterized molecules ("chemical images"), in the spirit of Chemception.

    ``blocks`` times: 3×3 convolution (padding 1) → batch norm → ReLU → 2×2 max pool, doubling the
    channels after the first block; then global average pooling (so the output does not depend on
    where in the image the molecule sits, up to the pooling grid) and a small MLP head.
    """

    def __init__(
        self,
        in_channels: int = 4,
        channels: int = 16,
        blocks: int = 3,
        hidden: int = 64,
        dropout: float = 0.1,
        target_mean: float = 0.0,
        target_std: float = 1.0,
    ) -> None:
        super().__init__()
        _check_int(in_channels, "in_channels", 1)
        _check_int(channels, "channels", 1)
        _check_int(blocks, "blocks", 1)
        layers: list[nn.Module] = []
        c_in = in_channels
        for b in range(blocks):
            c_out = channels if b == 0 else 2 * channels
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c_in, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.rescale = ScaleShift(target_mean, target_std)

    def feature_maps(self, x: torch.Tensor, block: int = 0) -> torch.Tensor:
        """Activations after the ReLU of convolution block ``block`` (0-based): (batch, c, h, w)."""
        self._check(x)
        n_blocks = len(self.features) // 4
        if not 0 <= block < n_blocks:
            raise ValueError(f"block must be in 0..{n_blocks - 1}, got {block}")
        return self.features[: 4 * block + 3](x)

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.features[0].in_channels:
            raise ValueError(
                f"ImageCNN expects images (batch, {self.features[0].in_channels}, H, W), got shape {tuple(x.shape)}; "
                "make them with chemdl_utils.chem.raster.rasterize_molecules"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted property, shape (batch, 1)."""
        self._check(x)
        return self.rescale(self.head(self.features(x).mean(dim=(2, 3))))
