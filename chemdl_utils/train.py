"""One training loop for the whole course: :func:`fit`, plus :func:`predict`, :func:`evaluate` and metrics.

``fit`` works for plain tensor loaders (batches are ``(x, y)``: ``model(x)`` is compared with ``y``)
and for PyTorch Geometric loaders (a ``Batch``: ``model(batch)`` is compared with ``batch.y``).
It shows a progress bar over epochs, stops early on the validation loss, restores the weights of
the best validation epoch, clips gradients, and uses mixed precision on CUDA when asked::

    history = fit(model, train_loader, val_loader, epochs=200, lr=1e-3, patience=20, seed=0)
    history.to_frame().tail()
    evaluate(model, test_loader)          # {'mae': ..., 'rmse': ..., 'r2': ...}

Epoch numbers (``History.best_epoch``, ``History.to_frame().index``) are 1-based.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal

import numpy as np
import pandas as pd
import torch
from torch import nn

from .device import get_device, seed_everything
from .progress import finish_early, progress

__all__ = [
    "History",
    "NonFiniteLossError",
    "fit",
    "predict",
    "evaluate",
    "regression_metrics",
    "classification_metrics",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# losses that compare predictions and targets element by element (shapes must match)
_ELEMENTWISE_LOSSES = (
    nn.MSELoss,
    nn.L1Loss,
    nn.SmoothL1Loss,
    nn.HuberLoss,
    nn.BCELoss,
    nn.BCEWithLogitsLoss,
)
_ELEMENTWISE_FUNCTIONS = {
    nn.functional.mse_loss,
    nn.functional.l1_loss,
    nn.functional.smooth_l1_loss,
    nn.functional.huber_loss,
    nn.functional.binary_cross_entropy,
    nn.functional.binary_cross_entropy_with_logits,
}


class NonFiniteLossError(FloatingPointError, ValueError):
    """The loss became NaN or infinite during :func:`fit` (catch it as ``ValueError`` too)."""


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------
@dataclass
class History:
    """What :func:`fit` did, epoch by epoch (epochs are numbered from 1).

    ``best_epoch`` is the epoch whose weights the model ends with: the lowest validation loss, or
    the last epoch when there was no validation loader (then ``best_val_loss`` is ``None``).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float | None = None
    epochs_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    device: str = "cpu"
    lr: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per epoch (index ``epoch``, from 1): ``train_loss``, ``val_loss`` (NaN without
        validation) and the learning rate ``lr`` used in that epoch."""
        n = len(self.train_loss)
        val = self.val_loss if len(self.val_loss) == n else [math.nan] * n
        lr = self.lr if len(self.lr) == n else [math.nan] * n
        frame = pd.DataFrame({"train_loss": self.train_loss, "val_loss": val, "lr": lr})
        frame.index = pd.RangeIndex(1, n + 1, name="epoch")
        return frame

    def __repr__(self) -> str:  # short: the per-epoch lists can be long
        best = "" if self.best_val_loss is None else f", best_val_loss={self.best_val_loss:.4g}"
        last = f"{self.train_loss[-1]:.4g}" if self.train_loss else "n/a"
        return (
            f"History(epochs_run={self.epochs_run}, best_epoch={self.best_epoch}{best}, "
            f"final_train_loss={last}, stopped_early={self.stopped_early}, "
            f"seconds={self.seconds:.1f}, device={self.device!r})"
        )


# --------------------------------------------------------------------------------------------
# batches
# --------------------------------------------------------------------------------------------
def _is_pyg(batch: Any) -> bool:
    if "torch_geometric" not in sys.modules:  # no PyG object can exist; don't import it (slow)
        return False
    from torch_geometric.data.data import BaseData

    return isinstance(batch, BaseData)


def _to(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor) or _is_pyg(obj):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj


def _forward(model: nn.Module, batch: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run ``model`` on one batch; return ``(prediction, target or None)``."""
    if _is_pyg(batch):
        batch = batch.to(device, non_blocking=True)
        return model(batch), getattr(batch, "y", None)
    if isinstance(batch, (tuple, list)):
        if len(batch) == 0:
            raise ValueError("a batch from the loader is an empty tuple; expected (x, y)")
        batch = _to(batch, device)
        if len(batch) == 1:
            return model(batch[0]), None
        return model(*batch[:-1]), batch[-1]
    if isinstance(batch, torch.Tensor):
        return model(batch.to(device, non_blocking=True)), None
    raise TypeError(
        f"cannot use a batch of type {type(batch).__name__}: the loader must yield (x, y) "
        "tuples of tensors or torch_geometric Batch objects with a .y attribute"
    )


def _is_elementwise(loss_fn: Any) -> bool:
    return isinstance(loss_fn, _ELEMENTWISE_LOSSES) or loss_fn in _ELEMENTWISE_FUNCTIONS


def _match(pred: torch.Tensor, target: torch.Tensor, elementwise: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Make ``pred`` and ``target`` comparable: (N, 1) vs (N,) is fine; N vs M is an error."""
    if pred.shape == target.shape:
        pass
    elif pred.numel() == target.numel():
        pred = pred.reshape(target.shape)
    elif elementwise or pred.ndim == 0 or target.ndim == 0 or pred.shape[0] != target.shape[0]:
        raise ValueError(
            f"model output has shape {tuple(pred.shape)} but the targets have shape "
            f"{tuple(target.shape)}; they must hold one prediction per target (check the "
            "model's output size and that each graph/sample has exactly one y)"
        )
    if elementwise and target.dtype != pred.dtype and pred.is_floating_point():
        target = target.to(pred.dtype)
    return pred, target


def _check_loader(loader: Any, name: str) -> None:
    try:
        n = len(loader)
    except TypeError:
        return
    if n == 0:
        raise ValueError(f"{name} is empty (0 batches); check the dataset split and batch_size")


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------
def _make_optimizer(
    model: nn.Module, optimizer: Any, lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    if optimizer is None:
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        choices = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
        if optimizer.lower() not in choices:
            raise ValueError(
                f"optimizer must be one of {sorted(choices)}, an Optimizer or a factory; got {optimizer!r}"
            )
        return choices[optimizer.lower()](model.parameters(), lr=lr, weight_decay=weight_decay)
    if callable(optimizer):  # a class or factory: optimizer(params, lr=..., weight_decay=...)
        return optimizer(model.parameters(), lr=lr, weight_decay=weight_decay)
    raise TypeError(
        f"optimizer must be None, a name, a torch Optimizer or a factory; got {type(optimizer).__name__}"
    )


def _make_scheduler(scheduler: Any, opt: torch.optim.Optimizer) -> Any:
    if scheduler is None or hasattr(scheduler, "step"):
        return scheduler
    if callable(scheduler):  # factory: scheduler(optimizer) -> scheduler
        return scheduler(opt)
    raise TypeError("scheduler must be an LR scheduler or a function optimizer -> scheduler")


def _run_epoch(
    model: nn.Module,
    loader: Iterable,
    device: torch.device,
    loss_fn: Any,
    elementwise: bool,
    opt: torch.optim.Optimizer | None,
    clip_grad_norm: float | None,
    scaler: Any,
    amp_dtype: torch.dtype | None,
) -> float:
    """One pass over ``loader`` (training when ``opt`` is given); the sample-weighted mean loss."""
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    total = torch.zeros((), device=device, dtype=acc_dtype)
    count = 0
    for batch in loader:
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            pred, target = _forward(model, batch, device)
            if target is None:
                raise ValueError("the loader's batches have no targets: yield (x, y) or give graphs a .y")
            if amp_dtype is not None:
                pred = pred.float()  # the loss in float32; targets keep their precision
            pred, target = _match(pred, target, elementwise)
            loss = loss_fn(pred, target)
        if opt is not None:
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                if clip_grad_norm is not None:
                    scaler.unscale_(opt)
                    nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                if clip_grad_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                opt.step()
        n = int(target.shape[0]) if target.ndim else 1
        total += loss.detach().to(acc_dtype) * n
        count += n
    if count == 0:
        raise ValueError("the loader yielded no batches; check the dataset split and batch_size")
    return float(total.item() / count)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None = None,
    *,
    epochs: int = 100,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer: torch.optim.Optimizer | str | Callable[..., torch.optim.Optimizer] | None = None,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
    patience: int | None = None,
    clip_grad_norm: float | None = None,
    amp: bool | Literal["auto"] = False,
    scheduler: Any = None,
    show_progress: bool = True,
    seed: int | None = None,
    min_delta: float = 0.0,
    resident: bool | Literal["auto"] = "auto",
) -> History:
    """Train ``model`` and return its :class:`History`; the model keeps the best weights.

    * batches: ``(x, y)`` tuples (``model(x)`` vs ``y``; longer tuples call ``model(*batch[:-1])``)
      or PyG ``Batch`` objects (``model(batch)`` vs ``batch.y``). Shapes ``(N, 1)`` and ``(N,)``
      are matched; other mismatches raise ``ValueError``.
    * ``loss_fn``: default mean squared error. ``optimizer``: default ``AdamW(lr, weight_decay)``
      (with ``weight_decay=0`` that is Adam); also ``"adam"``, ``"sgd"``, an optimizer instance or a
      factory ``f(params, lr=..., weight_decay=...)``.
    * ``device``: default :func:`~chemdl_utils.device.get_device`; model and batches are moved.
    * ``patience``: stop when the validation loss has not improved (by more than ``min_delta``)
      for that many epochs. With a ``val_loader`` the model ends with the weights of the best
      validation epoch; without one, with those of the last epoch.
    * ``clip_grad_norm``: clip the total gradient norm to this value before every step.
    * ``amp``: mixed precision (bfloat16 where supported, else float16 with loss scaling); CUDA
      only. ``amp=True`` elsewhere is ignored with a warning; ``amp="auto"`` uses it on CUDA and
      stays silent otherwise (use it in chapters that run on both).
    * ``scheduler``: a function ``optimizer -> scheduler`` (handy because ``fit`` creates the
      optimizer), or a ready-made scheduler (its optimizer is used when ``optimizer`` is None).
      Stepped once per epoch; ``ReduceLROnPlateau`` receives the validation loss (the training
      loss without a ``val_loader``).
    * ``seed``: passed to :func:`~chemdl_utils.device.seed_everything` before anything else.
    * ``resident``: keep the loaders' whole datasets on the device and gather each mini-batch
      there by index (:class:`~chemdl_utils.device_batch.ResidentLoader`: the same batches in the
      same order, no per-step collation or host-to-device copy). ``"auto"`` (default) does so on
      CUDA for PyG graph loaders and ``DataLoader(TensorDataset)`` that fit; ``True`` anywhere
      (also on the CPU: faster for small graphs, same losses); ``False`` never. Loaders that stay
      on the host are copied from pinned memory without blocking on CUDA.
    """
    if seed is not None:
        seed_everything(seed)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(f"patience must be None or an integer >= 1, got {patience!r}")
    if patience is not None and val_loader is None:
        raise ValueError("patience needs a val_loader: early stopping watches the validation loss")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be None or > 0, got {clip_grad_norm!r}")
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")

    device = _resolve_device(device)
    history = History(device=str(device))
    train_iter = _device_loader(train_loader, device, resident, "train_loader", history)
    val_iter = _device_loader(val_loader, device, resident, "val_loader", history) if val_loader is not None else None
    model.to(device)
    sched_opt = getattr(scheduler, "optimizer", None)
    if sched_opt is not None and optimizer is None:
        optimizer = sched_opt  # a ready-made scheduler brings its optimizer along
    elif sched_opt is not None and sched_opt is not optimizer:
        raise ValueError("scheduler was built for a different optimizer than `optimizer`; pass the same "
                         "one, or give scheduler as a function optimizer -> scheduler")
    opt = _make_optimizer(model, optimizer, lr, weight_decay)
    sched = _make_scheduler(scheduler, opt)
    loss_fn = loss_fn if loss_fn is not None else nn.MSELoss()
    elementwise = _is_elementwise(loss_fn)

    amp_dtype, scaler = None, None
    if amp and device.type == "cuda":
        if _native_bf16():
            amp_dtype = torch.bfloat16
        else:
            amp_dtype, scaler = torch.float16, torch.amp.GradScaler("cuda")
        history.notes.append(f"mixed precision ({str(amp_dtype).removeprefix('torch.')}) on")
    elif amp:
        note = f"amp ignored: mixed precision is only used on CUDA, this run is on {device.type}"
        history.notes.append(note)
        if amp is True:
            warnings.warn(note + " (pass amp='auto' to silence this)", UserWarning, stacklevel=2)

    best_state: dict[str, torch.Tensor] | None = None
    best_metric = math.inf
    bad_epochs = 0
    start = time.perf_counter()
    # a manual bar (updated after each epoch): breaking out of an iterating bar would close it as failed
    bar = progress(None, total=epochs, desc="epochs", enabled=show_progress)
    try:
        for epoch in range(1, epochs + 1):
            history.lr.append(float(opt.param_groups[0]["lr"]))
            model.train()
            train_loss = _run_epoch(
                model, train_iter, device, loss_fn, elementwise, opt, clip_grad_norm, scaler, amp_dtype
            )
            if not math.isfinite(train_loss):
                raise _non_finite(train_loss, "training", epoch, lr, best_state, model)
            history.train_loss.append(train_loss)
            postfix = {"train": f"{train_loss:.4g}"}

            val_loss = None
            if val_loader is not None:
                model.eval()
                with torch.no_grad():
                    val_loss = _run_epoch(
                        model, val_iter, device, loss_fn, elementwise, None, None, None, amp_dtype
                    )
                if not math.isfinite(val_loss):
                    raise _non_finite(val_loss, "validation", epoch, lr, best_state, model)
                history.val_loss.append(val_loss)
                postfix["val"] = f"{val_loss:.4g}"
                if val_loss < best_metric - min_delta:
                    best_metric, bad_epochs = val_loss, 0
                    history.best_epoch, history.best_val_loss = epoch, val_loss
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    bad_epochs += 1
            else:
                history.best_epoch = epoch
            history.epochs_run = epoch
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)

            if sched is not None:
                if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    sched.step(val_loss if val_loss is not None else train_loss)
                else:
                    sched.step()
            if patience is not None and val_loader is not None and bad_epochs >= patience:
                history.stopped_early = epoch < epochs
                if history.stopped_early:
                    finish_early(bar, epoch, history.best_epoch)
                break
    finally:
        bar.close()
        history.seconds = time.perf_counter() - start
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


class _Prefetch:
    """Re-iterable :func:`~chemdl_utils.device_batch.pinned_prefetch` over a host loader."""

    def __init__(self, loader: Iterable, device: torch.device) -> None:
        self.loader, self.device = loader, device

    def __iter__(self):
        from .device_batch import pinned_prefetch

        return pinned_prefetch(self.loader, self.device)

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]


def _device_loader(
    loader: Iterable, device: torch.device, resident: bool | str, name: str, history: History
) -> Iterable:
    """``loader`` as :func:`fit` iterates it: device-resident, prefetched from pinned memory, or as is."""
    if resident not in (True, False, "auto"):
        raise ValueError(f"resident must be True, False or 'auto', got {resident!r}")
    if resident is False or (resident == "auto" and device.type != "cuda"):
        return _Prefetch(loader, device) if device.type == "cuda" else loader
    from .device_batch import AUTO_RESIDENT_MAX_BYTES, ResidentLoader, resident_reason

    reason = resident_reason(loader)
    if reason is not None:
        if resident is True:
            raise ValueError(f"resident=True but {name} cannot be kept on the device: {reason}; "
                             "pass resident=False (or 'auto')")
        return _Prefetch(loader, device) if device.type == "cuda" else loader
    dataset = getattr(loader, "dataset")
    if resident == "auto" and len(dataset) > 200_000:
        return _Prefetch(loader, device)
    on_device = ResidentLoader.from_loader(loader, device)
    if resident == "auto" and on_device.nbytes > AUTO_RESIDENT_MAX_BYTES:
        return _Prefetch(loader, device)
    history.notes.append(f"{name}: device-resident batches ({on_device.nbytes / 2**20:.1f} MiB on {device})")
    return on_device


def _resolve_device(device: torch.device | str | None) -> torch.device:
    # get_device validates: asking for CUDA/MPS where there is none is a clear RuntimeError
    return get_device(str(device)) if device is not None else get_device()


def _native_bf16() -> bool:
    try:  # emulated bfloat16 (e.g. a T4 on Colab) is slow: use float16 + loss scaling there
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # older torch without the argument
        return bool(torch.cuda.is_bf16_supported())


def _non_finite(
    value: float, phase: str, epoch: int, lr: float, best_state: dict | None, model: nn.Module
) -> NonFiniteLossError:
    if best_state is not None:  # leave the model usable: the best weights so far
        model.load_state_dict(best_state)
    return NonFiniteLossError(
        f"the {phase} loss became {value} in epoch {epoch}; training diverged. Try a smaller lr "
        f"(now {lr:g}, e.g. {lr / 10:g}), clip_grad_norm=1.0, standardised targets/features, and "
        "check the data for NaN or inf."
    )


# --------------------------------------------------------------------------------------------
# predict / evaluate
# --------------------------------------------------------------------------------------------
def _flatten(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1) if a.ndim == 2 and a.shape[1] == 1 else a


def predict(
    model: nn.Module, loader: Iterable, device: torch.device | str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)`` as NumPy arrays over the whole loader (eval mode, no gradients).

    Single-output predictions and targets are flattened to shape ``(N,)``. If the batches carry no
    targets, ``y_true`` is ``None``. The model's train/eval mode is restored afterwards.
    """
    _check_loader(loader, "loader")
    device = _resolve_device(device)
    model.to(device)
    was_training = model.training
    model.eval()
    trues: list[np.ndarray] = []
    preds: list[np.ndarray] = []
    try:
        with torch.no_grad():
            for batch in loader:
                pred, target = _forward(model, batch, device)
                if target is not None:
                    if pred.shape != target.shape and pred.numel() == target.numel():
                        pred = pred.reshape(target.shape)
                    trues.append(target.detach().float().cpu().numpy())
                preds.append(pred.detach().float().cpu().numpy())
    finally:
        model.train(was_training)
    if not preds:
        raise ValueError("loader yielded no batches; nothing to predict")
    y_pred = _flatten(np.concatenate(preds))
    y_true = _flatten(np.concatenate(trues)) if trues else None
    return y_true, y_pred  # type: ignore[return-value]


def evaluate(
    model: nn.Module,
    loader: Iterable,
    task: Literal["regression", "classification"] = "regression",
    device: torch.device | str | None = None,
    *,
    from_logits: bool | None = None,
    threshold: float = 0.5,
) -> dict[str, float]:
    """Metrics of ``model`` on ``loader``: :func:`regression_metrics` or :func:`classification_metrics`.

    For classification the model's outputs go through a sigmoid (softmax for several columns)
    when ``from_logits=True``; ``None`` (default) decides by the values: anything outside [0, 1]
    means logits. Pass it explicitly when you know what your model returns.
    """
    if task not in ("regression", "classification"):
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    y_true, y_pred = predict(model, loader, device)
    if y_true is None:
        raise ValueError("loader has no targets; evaluate needs (x, y) batches or graphs with .y")
    if task == "regression":
        return regression_metrics(y_true, y_pred)
    if from_logits is None:
        from_logits = bool(np.nanmin(y_pred) < 0 or np.nanmax(y_pred) > 1)
    if from_logits:
        t = torch.from_numpy(np.asarray(y_pred, dtype=np.float64))
        y_pred = (torch.softmax(t, dim=1) if t.ndim == 2 else torch.sigmoid(t)).numpy()
    return classification_metrics(y_true, y_pred, threshold=threshold)


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------
def _arrays(y_true: Any, y_pred: Any, pred_name: str) -> tuple[np.ndarray, np.ndarray]:
    def numpy(a: Any) -> np.ndarray:
        return _flatten(np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=np.float64))

    yt, yp = numpy(y_true), numpy(y_pred)
    if yt.shape[0] == 0:
        raise ValueError("y_true is empty; metrics need at least one sample")
    if yt.shape[0] != yp.shape[0]:
        raise ValueError(f"y_true has {yt.shape[0]} samples but {pred_name} has {yp.shape[0]}")
    for name, a in (("y_true", yt), (pred_name, yp)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or inf; remove or fix those samples first")
    return yt, yp


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """``{"mae", "rmse", "r2"}``, equal to scikit-learn's ``mean_absolute_error``,
    ``root_mean_squared_error`` and ``r2_score`` (several outputs are averaged uniformly; R² of a
    constant ``y_true`` is 1 for a perfect fit, else 0, as in scikit-learn; NaN for one sample)."""
    yt, yp = _arrays(y_true, y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true has shape {yt.shape} but y_pred has shape {yp.shape}")
    err = yp - yt
    mae = np.mean(np.abs(err), axis=0)
    rmse = np.sqrt(np.mean(err**2, axis=0))
    ss_res = np.sum(err**2, axis=0)
    ss_tot = np.sum((yt - yt.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
    r2_mean = float(np.mean(r2)) if yt.shape[0] >= 2 else math.nan
    return {"mae": float(np.mean(mae)), "rmse": float(np.mean(rmse)), "r2": r2_mean}


def classification_metrics(y_true: Any, y_score: Any, threshold: float = 0.5) -> dict[str, float]:
    """``{"accuracy", "roc_auc"}`` from true labels and predicted **probabilities** in [0, 1].

    Binary: ``y_score`` is the probability of class 1 and ``y_score >= threshold`` predicts 1.
    Several classes: ``y_score`` is ``(N, C)`` (rows sum to 1), accuracy uses the arg-max and ROC
    AUC is one-vs-rest. Logits are rejected: apply ``torch.sigmoid`` / ``softmax`` first (or use
    :func:`evaluate`). ``roc_auc`` is NaN when ``y_true`` holds only one class.
    """
    from sklearn.metrics import accuracy_score, roc_auc_score

    yt, ys = _arrays(y_true, y_score, "y_score")
    if ys.min() < 0 or ys.max() > 1:
        raise ValueError(
            f"y_score must be probabilities in [0, 1] (got values in [{ys.min():.3g}, {ys.max():.3g}]); "
            "if these are logits, apply torch.sigmoid (binary) or torch.softmax (multi-class) first"
        )
    if np.any(yt != np.round(yt)) or yt.min() < 0:
        raise ValueError("y_true must hold class labels 0, 1, ...; got non-integer or negative values")
    yt = yt.astype(int)
    classes = np.unique(yt)
    if ys.ndim == 1:
        if yt.max() > 1:
            raise ValueError(
                "y_true has labels > 1 but y_score is one column; pass (N, C) class probabilities"
            )
        accuracy = accuracy_score(yt, (ys >= threshold).astype(int))
        auc = roc_auc_score(yt, ys) if len(classes) == 2 else math.nan
    else:
        if yt.max() >= ys.shape[1]:
            raise ValueError(f"y_true has label {yt.max()} but y_score has only {ys.shape[1]} columns")
        accuracy = accuracy_score(yt, ys.argmax(axis=1))
        if len(classes) < 2:
            auc = math.nan
        elif ys.shape[1] == 2:
            auc = roc_auc_score(yt, ys[:, 1])
        elif len(classes) == ys.shape[1]:
            auc = roc_auc_score(yt, ys, multi_class="ovr")
        else:
            auc = math.nan
    return {"accuracy": float(accuracy), "roc_auc": float(auc)}
