"""Device-resident batches equal PyG's collation and the plain loaders; ``fit`` gives the same losses."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader as GraphLoader

from chemdl_utils.chem import featurize_many
from chemdl_utils.data import load_dataset
from chemdl_utils.device_batch import ResidentLoader, pinned_prefetch, resident_reason, training_sizes
from chemdl_utils.nn.gnn import MolGNN
from chemdl_utils.train import fit


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def graphs():
    frame = load_dataset("freesolv")
    result = featurize_many(frame["smiles"][:96], show_progress=False)
    out = result.graphs
    for k, g in enumerate(out):
        g.y = torch.tensor([[float(frame["expt"].iloc[result.indices[k]])]]) if "expt" in frame else torch.tensor([[k * 0.1]])
        g.weight = torch.tensor([float(k)])  # a second graph-level attribute
    return out


def _assert_same_batch(a, b) -> None:
    assert type(a) is type(b)
    assert list(a._store._mapping) == list(b._store._mapping)
    for key in b._store._mapping:
        va, vb = a[key], b[key]
        if isinstance(vb, torch.Tensor):
            assert va.dtype == vb.dtype and torch.equal(va, vb), key
        else:
            assert va == vb, key
    assert a.num_graphs == b.num_graphs and a.num_nodes == b.num_nodes
    assert a._store._num_nodes == b._store._num_nodes
    for key, slices in b._slice_dict.items():
        assert torch.equal(a._slice_dict[key], slices), key
        inc = b._inc_dict[key]
        assert (a._inc_dict[key] is None) if inc is None else torch.equal(a._inc_dict[key], inc), key
    for u, v in zip(a.to_data_list(), b.to_data_list()):  # PyG can take the batch apart again
        assert torch.equal(u.edge_index, v.edge_index) and u.smiles == v.smiles


@pytest.mark.parametrize("indices", [[3, 1, 50, 2], [0], list(range(95, 60, -3)), [7, 7, 7]])
def test_resident_batch_equals_batch_from_data_list(graphs, indices):
    resident = ResidentLoader(graphs, "cpu", batch_size=8)
    _assert_same_batch(resident.batch(indices), Batch.from_data_list([graphs[i] for i in indices]))


def test_resident_loader_yields_the_plain_loaders_batches_in_the_same_order(graphs):
    torch.manual_seed(5)
    plain = [b for _ in range(2) for b in GraphLoader(graphs, batch_size=16, shuffle=True)]
    torch.manual_seed(5)
    twin = ResidentLoader.from_loader(GraphLoader(graphs, batch_size=16, shuffle=True), "cpu")
    resident = [b for _ in range(2) for b in twin]
    assert len(plain) == len(resident) == 12 and len(twin) == 6
    for a, b in zip(resident, plain):
        _assert_same_batch(a, b)
    torch.manual_seed(5)
    list(GraphLoader(graphs, batch_size=16, shuffle=True))
    after_plain = torch.rand(3)
    torch.manual_seed(5)
    list(ResidentLoader.from_loader(GraphLoader(graphs, batch_size=16, shuffle=True), "cpu"))
    assert torch.equal(torch.rand(3), after_plain)  # the same random draws as the plain loader


def test_resident_tensor_loader_equals_default_collate():
    x, y = torch.randn(50, 7), torch.randn(50, 1)
    torch.manual_seed(1)
    plain = list(DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, drop_last=True))
    torch.manual_seed(1)
    resident = list(ResidentLoader.from_loader(DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True,
                                                          drop_last=True), "cpu"))
    assert len(plain) == len(resident) == 6
    for a, b in zip(resident, plain):
        assert isinstance(a, list) and all(torch.equal(u, v) for u, v in zip(a, b))


def _gnn_losses(graphs, resident: bool):
    torch.manual_seed(0)  # the same initial weights
    model = MolGNN(hidden=16, num_layers=2, dropout=0.1)
    train = GraphLoader(graphs[:64], batch_size=16, shuffle=True)
    val = GraphLoader(graphs[64:], batch_size=16)
    history = fit(model, train, val, epochs=3, lr=1e-3, seed=0, show_progress=False, device="cpu",
                  resident=resident)
    return history, model


def test_fit_with_resident_batches_gives_the_plain_losses_on_cpu(graphs):
    plain, m1 = _gnn_losses(graphs, False)
    resident, m2 = _gnn_losses(graphs, True)
    assert any("device-resident" in n for n in resident.notes) and not plain.notes
    torch.testing.assert_close(torch.tensor(resident.train_loss), torch.tensor(plain.train_loss), rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(torch.tensor(resident.val_loss), torch.tensor(plain.val_loss), rtol=1e-6, atol=1e-9)
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p, q)

    x, y = torch.randn(80, 5), torch.randn(80, 1)
    runs = []
    for flag in (False, True):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1))
        runs.append(fit(model, DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True), epochs=4, seed=1,
                        show_progress=False, device="cpu", resident=flag).train_loss)
    torch.testing.assert_close(torch.tensor(runs[1]), torch.tensor(runs[0]), rtol=1e-6, atol=1e-9)


def test_resident_refuses_what_it_cannot_gather_and_auto_stays_plain_on_cpu(graphs):
    assert resident_reason([1, 2, 3]) is not None
    assert "TensorDataset" in resident_reason(DataLoader(list(range(10)), batch_size=2))
    model = nn.Linear(1, 1)
    loader = DataLoader([(torch.ones(1), torch.ones(1))] * 4, batch_size=2)
    with pytest.raises(ValueError, match="resident=False"):
        fit(model, loader, epochs=1, show_progress=False, device="cpu", resident=True)
    with pytest.raises(ValueError, match="resident must be"):
        fit(model, loader, epochs=1, show_progress=False, device="cpu", resident="yes")
    history = fit(MolGNN(hidden=8, num_layers=1), GraphLoader(graphs[:8], batch_size=4), epochs=1,
                  show_progress=False, device="cpu")
    assert not history.notes  # 'auto' keeps the plain path on the CPU (the book's numbers)


def test_pinned_prefetch_yields_every_batch_in_order_on_the_device(graphs):
    loader = DataLoader(TensorDataset(torch.arange(6.0), torch.arange(6)), batch_size=4)
    out = list(pinned_prefetch(loader, "cpu"))  # the CUDA code path, with plain copies (no CUDA here)
    assert [b[0].tolist() for b in out] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]] and isinstance(out[0], list)
    assert out[1][1].dtype == torch.long
    plain = list(GraphLoader(graphs[:10], batch_size=4))
    moved = list(pinned_prefetch(GraphLoader(graphs[:10], batch_size=4), torch.device("cpu")))
    assert len(moved) == 3
    for a, b in zip(moved, plain):
        _assert_same_batch(a, b)
    assert list(pinned_prefetch([], "cpu")) == []


def test_training_sizes():
    assert training_sizes(False) == {"batch_size": 32, "hidden": 64}
    full = training_sizes(True)
    assert full["batch_size"] > 32 and full["hidden"] > 64
