"""Tests of chemdl_utils.train: the training loop, predict/evaluate and the metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from chemdl_utils.train import (
    History,
    NonFiniteLossError,
    classification_metrics,
    evaluate,
    fit,
    predict,
    regression_metrics,
)

CPU = "cpu"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models train faster on one thread (and do not fight other tests for the cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _linear_data(n: int = 128, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([1.5, -2.0, 0.5]) + 0.3 + 0.05 * torch.randn(n, generator=g)
    return x, y  # y has shape (n,); a Linear(3, 1) predicts (n, 1)


def _loaders(n: int = 128, batch_size: int = 32) -> tuple[DataLoader, DataLoader]:
    x, y = _linear_data(n)
    cut = int(0.75 * n)
    train = DataLoader(TensorDataset(x[:cut], y[:cut]), batch_size=batch_size, shuffle=True)
    val = DataLoader(TensorDataset(x[cut:], y[cut:]), batch_size=64)
    return train, val


# ---------------------------------------------------------------------------- fit: tensors
def test_fit_reduces_loss_on_tensor_loader() -> None:
    train, val = _loaders()
    model = nn.Linear(3, 1)
    history = fit(model, train, val, epochs=40, lr=5e-2, device=CPU, seed=0)
    assert isinstance(history, History)
    assert history.epochs_run == 40 and len(history.train_loss) == 40 and len(history.val_loss) == 40
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]
    assert history.val_loss[-1] < 0.1 * history.val_loss[0]
    assert history.best_val_loss == min(history.val_loss)
    assert history.val_loss[history.best_epoch - 1] == history.best_val_loss  # 1-based epochs
    assert history.device == "cpu" and history.seconds > 0 and not history.stopped_early
    metrics = evaluate(model, val, device=CPU)
    assert set(metrics) == {"mae", "rmse", "r2"} and metrics["r2"] > 0.95


def test_fit_without_validation_keeps_last_epoch() -> None:
    train, _ = _loaders()
    history = fit(nn.Linear(3, 1), train, epochs=3, device=CPU, seed=0)
    assert history.val_loss == [] and history.best_val_loss is None
    assert history.best_epoch == 3 and history.epochs_run == 3


def test_seed_makes_runs_identical() -> None:
    def run() -> list[float]:
        torch.manual_seed(123)  # model init is seeded by the caller; fit's seed fixes shuffling
        model = nn.Linear(3, 1)
        train, _ = _loaders()
        return fit(model, train, epochs=3, device=CPU, seed=7).train_loss

    assert run() == run()


def test_history_to_frame() -> None:
    train, val = _loaders()
    history = fit(nn.Linear(3, 1), train, val, epochs=4, device=CPU, seed=0)
    frame = history.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["train_loss", "val_loss", "lr"]
    assert list(frame.index) == [1, 2, 3, 4] and frame.index.name == "epoch"
    assert frame["train_loss"].tolist() == history.train_loss
    no_val = fit(nn.Linear(3, 1), train, epochs=2, device=CPU).to_frame()
    assert no_val["val_loss"].isna().all()
    assert "epochs_run=4" in repr(history)


# ---------------------------------------------------------------------------- fit: PyG
def _graph_loader(batch_size: int = 4):
    from torch_geometric.loader import DataLoader as PygLoader

    from chemdl_utils.chem import smiles_to_graph

    smiles = ["C", "CC", "CCO", "CCCC", "c1ccccc1", "CC(=O)O", "CCN", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
              "O", "CCCCCC", "OCC(O)CO", "c1ccncc1"]
    graphs = []
    for s in smiles:
        g = smiles_to_graph(s)
        g.y = torch.tensor([g.x[:, 4].sum().item() / 100.0])  # molecular mass / 100 (heavy atoms)
        graphs.append(g)
    return PygLoader(graphs, batch_size=batch_size, shuffle=True)


class _SumPool(nn.Module):
    """GNN-free: sum the atom features of each graph, then one linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 1)

    def forward(self, batch) -> torch.Tensor:  # noqa: ANN001
        from torch_geometric.nn import global_add_pool

        return self.lin(global_add_pool(batch.x, batch.batch) / 10.0)


def test_fit_reduces_loss_on_pyg_loader() -> None:
    loader = _graph_loader()
    model = _SumPool()
    history = fit(model, loader, loader, epochs=60, lr=5e-2, device=CPU, seed=0)
    assert history.train_loss[-1] < 0.2 * history.train_loss[0]
    y_true, y_pred = predict(model, loader, device=CPU)
    assert y_true.shape == y_pred.shape == (12,)
    assert evaluate(model, loader, device=CPU)["r2"] > 0.8


# ---------------------------------------------------------------------------- early stopping
def test_early_stopping_restores_best_weights() -> None:
    # The model fits train targets y = x; validation targets are y = -x, so val loss rises
    # as training goes on and the best epoch is the first one.
    torch.manual_seed(0)
    x = torch.randn(64, 1)
    train = DataLoader(TensorDataset(x, x.clone()), batch_size=16)
    val = DataLoader(TensorDataset(x, -x), batch_size=64)
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(-0.5)
        model.bias.zero_()
    snapshots: list[torch.Tensor] = []
    def record_eval_weights(module: nn.Module, inputs: object, output: object) -> None:
        if not module.training:  # one validation pass per epoch
            snapshots.append(module.weight.detach().clone())

    model.register_forward_hook(record_eval_weights)
    history = fit(model, train, val, epochs=100, lr=0.1, optimizer="sgd", patience=3, device=CPU)
    assert history.stopped_early
    assert history.epochs_run == history.best_epoch + 3 < 100
    assert history.val_loss[-1] > history.best_val_loss
    assert history.best_val_loss == pytest.approx(min(history.val_loss))
    # the weights the model ends with are those evaluated in the best validation epoch
    best_weight = snapshots[history.best_epoch - 1]
    assert torch.equal(model.weight.detach(), best_weight)
    assert not torch.equal(model.weight.detach(), snapshots[-1])
    # and evaluating now reproduces the best validation loss
    y_true, y_pred = predict(model, val, device=CPU)
    assert float(np.mean((y_true - y_pred) ** 2)) == pytest.approx(history.best_val_loss, rel=1e-5)


def test_patience_without_improvement_does_not_stop_when_improving() -> None:
    train, val = _loaders()
    history = fit(nn.Linear(3, 1), train, val, epochs=15, lr=5e-2, patience=5, device=CPU, seed=0)
    assert not history.stopped_early and history.epochs_run == 15


# ---------------------------------------------------------------------------- clipping
def test_clip_grad_norm_bounds_the_gradient() -> None:
    x = torch.randn(32, 3) * 100.0
    loader = DataLoader(TensorDataset(x, x.sum(1) * 100.0), batch_size=32)
    model = nn.Linear(3, 1)
    norms: list[float] = []

    class Recorder(torch.optim.SGD):
        def step(self, closure=None):  # noqa: ANN001
            grads = [p.grad.norm() for p in model.parameters() if p.grad is not None]
            norms.append(float(torch.linalg.vector_norm(torch.stack(grads))))
            return super().step(closure)

    opt = Recorder(model.parameters(), lr=1e-9)
    fit(model, loader, epochs=3, optimizer=opt, clip_grad_norm=0.5, device=CPU)
    assert len(norms) == 3 and max(norms) <= 0.5 + 1e-4
    # without clipping the same set-up has enormous gradients
    norms.clear()
    fit(model, loader, epochs=1, optimizer=Recorder(model.parameters(), lr=1e-9), device=CPU)
    assert norms[0] > 100


# ---------------------------------------------------------------------------- errors
def test_non_finite_loss_names_epoch_and_suggests_lower_lr() -> None:
    x = torch.randn(64, 3) * 1e3
    loader = DataLoader(TensorDataset(x, x.sum(1) * 1e3), batch_size=16)
    with pytest.raises(NonFiniteLossError, match=r"epoch \d+.*smaller lr"):
        fit(nn.Linear(3, 1), loader, epochs=50, lr=10.0, optimizer="sgd", device=CPU, seed=0)


def test_nan_target_raises_in_epoch_1() -> None:
    y = torch.zeros(8)
    y[3] = float("nan")
    loader = DataLoader(TensorDataset(torch.randn(8, 2), y), batch_size=4)
    with pytest.raises(ValueError, match="epoch 1"):  # NonFiniteLossError is a ValueError too
        fit(nn.Linear(2, 1), loader, epochs=2, device=CPU)


def test_empty_loader_and_bad_arguments() -> None:
    empty = DataLoader(TensorDataset(torch.zeros(0, 3), torch.zeros(0)), batch_size=4)
    train, _ = _loaders()
    with pytest.raises(ValueError, match="train_loader is empty"):
        fit(nn.Linear(3, 1), empty, device=CPU)
    with pytest.raises(ValueError, match="val_loader is empty"):
        fit(nn.Linear(3, 1), train, empty, device=CPU)
    with pytest.raises(ValueError, match="no batches"):
        fit(nn.Linear(3, 1), iter([]), device=CPU)
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="epochs"):
            fit(nn.Linear(3, 1), train, epochs=bad, device=CPU)
    with pytest.raises(ValueError, match="patience"):
        fit(nn.Linear(3, 1), train, train, patience=0, device=CPU)
    with pytest.raises(ValueError, match="patience needs a val_loader"):
        fit(nn.Linear(3, 1), train, patience=5, device=CPU)


def test_shape_mismatch_is_a_clear_error() -> None:
    loader = DataLoader(TensorDataset(torch.randn(8, 3), torch.randn(8)), batch_size=4)
    with pytest.raises(ValueError, match=r"shape \(4, 2\).*\(4,\)"):
        fit(nn.Linear(3, 2), loader, epochs=1, device=CPU)


def test_cross_entropy_with_class_targets() -> None:
    torch.manual_seed(0)
    x = torch.randn(90, 2)
    labels = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    loader = DataLoader(TensorDataset(x, labels), batch_size=30)
    model = nn.Linear(2, 3)
    history = fit(model, loader, epochs=30, lr=0.1, loss_fn=nn.CrossEntropyLoss(), device=CPU, seed=0)
    assert history.train_loss[-1] < history.train_loss[0]
    metrics = evaluate(model, loader, task="classification", device=CPU, from_logits=True)
    assert metrics["accuracy"] > 0.6 and 0.5 < metrics["roc_auc"] <= 1


def test_amp_on_cpu_is_ignored_with_a_note() -> None:
    train, _ = _loaders()
    with pytest.warns(UserWarning, match="amp ignored"):
        history = fit(nn.Linear(3, 1), train, epochs=1, amp=True, device=CPU)
    assert history.epochs_run == 1 and any("amp ignored" in n for n in history.notes)


def test_scheduler_factory_and_plateau() -> None:
    train, val = _loaders()
    model = nn.Linear(3, 1)
    h = fit(model, train, val, epochs=4, device=CPU,
            scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5))
    assert h.lr == pytest.approx([1e-3, 5e-4, 2.5e-4, 1.25e-4])
    h = fit(nn.Linear(3, 1), train, val, epochs=3, device=CPU,
            scheduler=lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0))
    assert h.epochs_run == 3


def test_predict_restores_mode_and_flattens() -> None:
    train, val = _loaders()
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1))
    model.train()
    y_true, y_pred = predict(model, val, device=CPU)
    assert model.training
    assert y_true.shape == y_pred.shape == (32,)
    again = predict(model, val, device=CPU)[1]
    np.testing.assert_array_equal(y_pred, again)  # eval mode: dropout off
    _, multi = predict(nn.Linear(3, 2), val, device=CPU)
    assert multi.shape == (32, 2)
    x_only = DataLoader(TensorDataset(torch.randn(5, 3)), batch_size=2)
    y_none, y_hat = predict(model, x_only, device=CPU)
    assert y_none is None and y_hat.shape == (5,)


# ---------------------------------------------------------------------------- metrics
def test_regression_metrics_match_sklearn() -> None:
    y_true = np.array([1.0, 2.0, 3.0, 4.0, 5.5])
    y_pred = np.array([1.1, 1.8, 3.4, 3.9, 5.0])
    m = regression_metrics(y_true, y_pred)
    assert set(m) == {"mae", "rmse", "r2"}
    assert m["mae"] == pytest.approx(mean_absolute_error(y_true, y_pred))
    assert m["mae"] == pytest.approx(0.26)
    assert m["rmse"] == pytest.approx(math.sqrt(np.mean((y_true - y_pred) ** 2)))
    assert m["r2"] == pytest.approx(r2_score(y_true, y_pred))
    assert all(isinstance(v, float) for v in m.values())
    # (N, 1) against (N,) and tensors are fine
    m2 = regression_metrics(torch.tensor(y_true).reshape(-1, 1), torch.tensor(y_pred))
    assert m2 == pytest.approx(m)
    # several outputs: averaged like scikit-learn
    y2, p2 = np.c_[y_true, y_true**2], np.c_[y_pred, y_pred**2 + 1]
    m3 = regression_metrics(y2, p2)
    assert m3["r2"] == pytest.approx(r2_score(y2, p2))
    assert m3["rmse"] == pytest.approx(root_mean_squared_error(y2, p2))
    assert m3["mae"] == pytest.approx(mean_absolute_error(y2, p2))
    assert regression_metrics([2.0, 2.0], [2.0, 2.0])["r2"] == r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert regression_metrics([2.0, 2.0], [1.0, 2.0])["r2"] == r2_score([2.0, 2.0], [1.0, 2.0]) == 0.0
    with pytest.raises(ValueError, match="5 samples.*4"):
        regression_metrics(y_true, y_pred[:4])
    with pytest.raises(ValueError, match="NaN"):
        regression_metrics(y_true, np.array([1, 2, np.nan, 4, 5]))


def test_classification_metrics() -> None:
    y_true = np.array([0, 0, 1, 1, 1, 0])
    y_score = np.array([0.1, 0.6, 0.8, 0.4, 0.9, 0.2])
    m = classification_metrics(y_true, y_score)
    assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_score >= 0.5)) == pytest.approx(4 / 6)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y_true, y_score))
    assert classification_metrics(y_true, y_score, threshold=0.35)["accuracy"] == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match="probabilities.*sigmoid"):
        classification_metrics(y_true, y_score * 10 - 5)
    assert math.isnan(classification_metrics([1, 1], [0.2, 0.9])["roc_auc"])
    # several classes: probabilities per column
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]])
    labels = np.array([0, 1, 2, 1])
    mc = classification_metrics(labels, probs)
    assert mc["accuracy"] == pytest.approx(0.75)
    assert mc["roc_auc"] == pytest.approx(roc_auc_score(labels, probs, multi_class="ovr"))


def test_evaluate_classification_converts_logits() -> None:
    x = torch.linspace(-3, 3, 40).reshape(-1, 1)
    y = (x[:, 0] > 0).float()
    loader = DataLoader(TensorDataset(x, y), batch_size=10)
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(4.0)
        model.bias.zero_()
    m = evaluate(model, loader, task="classification", device=CPU)  # outputs are logits: auto-detected
    assert m == {"accuracy": 1.0, "roc_auc": 1.0}
    with pytest.raises(ValueError, match="task"):
        evaluate(model, loader, task="ranking", device=CPU)  # type: ignore[arg-type]


def test_ready_made_scheduler_brings_its_optimizer() -> None:
    train, _ = _loaders()
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    h = fit(model, train, epochs=3, device=CPU, scheduler=torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.1))
    assert h.lr == pytest.approx([0.01, 0.001, 0.0001])
    other = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(ValueError, match="different optimizer"):
        step_lr = torch.optim.lr_scheduler.StepLR(opt, 1)
        fit(model, train, epochs=1, device=CPU, optimizer=other, scheduler=step_lr)


def test_unavailable_device_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    train, _ = _loaders()
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        fit(nn.Linear(3, 1), train, epochs=1, device="cuda")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_mixed_precision_epoch_code_path(dtype: torch.dtype) -> None:
    # fit only turns autocast on for CUDA; run the same epoch function with CPU autocast (and a
    # GradScaler for float16, with clipping) so that code path is exercised without a GPU.
    from chemdl_utils.train import _run_epoch

    train, _ = _loaders()
    model = nn.Linear(3, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-2)
    scaler = torch.amp.GradScaler("cpu") if dtype == torch.float16 else None
    device = torch.device("cpu")
    losses = [
        _run_epoch(model, train, device, nn.MSELoss(), True, opt, 1.0, scaler, dtype) for _ in range(15)
    ]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < 0.5 * losses[0]
