"""Tests for chemdl_utils.nn.gnn (MolGNN) and chemdl_utils.nn.layers (pooling, ScaleShift).

They also pin down the claims the graph chapter (book/graphs/gnn.md) makes about the library:
permutation invariance, what each pooling can tell apart, and the 1-WL limit (decalin vs
bicyclopentyl).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from chemdl_utils import mol_to_graph, seed_everything, smiles_to_graph
from chemdl_utils.nn import AttentionPooling, MolGNN, ScaleShift, global_pool

CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"
SMALL = ["CCO", "c1ccccc1O", "CC(=O)[O-]", "C/C=C/Cl", "C"]  # incl. a charge, stereo, one atom


def _model(**kwargs) -> MolGNN:
    seed_everything(0)
    return MolGNN(hidden=16, num_layers=2, **kwargs).eval()


# --------------------------------------------------------------------------------------------
# shapes and arguments
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pool", ["sum", "mean", "max", "attention"])
def test_output_shapes_single_graph_and_batch(pool):
    model = _model(pool=pool, out_dim=3)
    assert model(smiles_to_graph(CAFFEINE)).shape == (1, 3)
    batch = Batch.from_data_list([smiles_to_graph(s) for s in SMALL])
    with torch.no_grad():
        out = model(batch)
        assert out.shape == (len(SMALL), 3)
        assert torch.isfinite(out).all()
        assert model.node_embeddings(batch).shape == (batch.num_nodes, 16)
        assert model.graph_embedding(batch).shape == (len(SMALL), 16)


def test_batched_equals_one_by_one():
    model = _model()
    graphs = [smiles_to_graph(s) for s in SMALL]
    with torch.no_grad():
        together = model(Batch.from_data_list(graphs))
        alone = torch.cat([model(g) for g in graphs])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="pool must be one of"):
        MolGNN(pool="median")
    with pytest.raises(ValueError, match="dropout"):
        MolGNN(dropout=1.5)
    with pytest.raises(ValueError, match=">= 1"):
        MolGNN(num_layers=0)
    g = smiles_to_graph("CCO")
    del g.edge_attr
    with pytest.raises(ValueError, match="edge_attr"):
        MolGNN()(g)
    bad = smiles_to_graph("CCO")
    bad.x = bad.x[:, :3]
    with pytest.raises(ValueError, match="6 atom features"):
        MolGNN()(bad)


# --------------------------------------------------------------------------------------------
# symmetry
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pool", ["sum", "mean", "max", "attention"])
def test_permuting_atoms_leaves_prediction_unchanged(pool):
    model = _model(pool=pool)
    mol = Chem.MolFromSmiles(CAFFEINE)
    perm = np.random.default_rng(1).permutation(mol.GetNumAtoms()).tolist()
    g_a, g_b = mol_to_graph(mol), mol_to_graph(Chem.RenumberAtoms(mol, perm))
    with torch.no_grad():
        torch.testing.assert_close(model(g_b), model(g_a), atol=1e-5, rtol=1e-5)
        # atom vectors are permuted along (equivariance)
        torch.testing.assert_close(model.node_embeddings(g_b), model.node_embeddings(g_a)[perm], atol=1e-5, rtol=1e-5)


def test_reordering_edges_leaves_prediction_unchanged():
    model = _model()
    g = smiles_to_graph(CAFFEINE)
    order = torch.randperm(g.edge_index.size(1), generator=torch.Generator().manual_seed(0))
    h = g.clone()
    h.edge_index, h.edge_attr = g.edge_index[:, order], g.edge_attr[order]
    with torch.no_grad():
        torch.testing.assert_close(model(h), model(g), atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------------------------
# training signals
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pool", ["sum", "attention"])
@pytest.mark.parametrize("edge_features", [True, False])
def test_gradients_reach_every_parameter(pool, edge_features):
    seed_everything(0)
    model = MolGNN(hidden=16, num_layers=2, pool=pool, edge_features=edge_features).train()
    batch = Batch.from_data_list([smiles_to_graph(s) for s in SMALL + [CAFFEINE]])
    target = torch.randn(batch.num_graphs, 1)
    torch.nn.functional.mse_loss(model(batch), target).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{name} has an all-zero gradient"


def test_bond_features_change_the_output_only_with_edge_features():
    g_single = smiles_to_graph("CCO")
    g_double = g_single.clone()
    g_double.edge_attr = g_single.edge_attr.clone()
    g_double.edge_attr[:, 0] = 2.0  # same atoms, every bond made "double"
    with torch.no_grad():
        gine = _model(edge_features=True)
        assert not torch.allclose(gine(g_single), gine(g_double))
        gin = _model(edge_features=False)
        torch.testing.assert_close(gin(g_single), gin(g_double))


def test_target_rescaling_maps_outputs_to_target_units():
    plain = _model()
    scaled = _model(target_mean=-3.0, target_std=2.5)
    g = smiles_to_graph(CAFFEINE)
    with torch.no_grad():
        torch.testing.assert_close(scaled(g), plain(g) * 2.5 - 3.0)
    assert "rescale.shift" in scaled.state_dict()  # saved and loaded with the weights


def test_a_few_steps_of_training_reduce_the_loss():
    seed_everything(0)
    graphs = [smiles_to_graph(s) for s in ["C", "CC", "CCC", "CCCC", "CO", "CCO", "OCCO", "c1ccccc1"]]
    batch = Batch.from_data_list(graphs)
    target = torch.tensor([[float(g.num_nodes)] for g in graphs])  # atom count: sum pooling can learn it
    model = MolGNN(hidden=16, num_layers=2).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(batch), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


# --------------------------------------------------------------------------------------------
# pooling: the chapter's claims
# --------------------------------------------------------------------------------------------
def test_global_pool_values_and_errors():
    x = torch.tensor([[1.0, -1.0], [2.0, 0.0], [3.0, 5.0]])
    batch = torch.tensor([0, 0, 1])
    torch.testing.assert_close(global_pool(x, batch, "sum"), torch.tensor([[3.0, -1.0], [3.0, 5.0]]))
    torch.testing.assert_close(global_pool(x, batch, "mean"), torch.tensor([[1.5, -0.5], [3.0, 5.0]]))
    torch.testing.assert_close(global_pool(x, batch, "max"), torch.tensor([[2.0, 0.0], [3.0, 5.0]]))
    torch.testing.assert_close(global_pool(x, how="sum"), torch.tensor([[6.0, 4.0]]))
    with pytest.raises(ValueError, match="how must be one of"):
        global_pool(x, batch, "median")
    with pytest.raises(ValueError, match="one graph index per node"):
        global_pool(x, torch.tensor([0, 1]), "sum")


def test_attention_weights_sum_to_one_per_graph():
    seed_everything(0)
    pool = AttentionPooling(4)
    x = torch.randn(7, 4)
    batch = torch.tensor([0, 0, 0, 1, 1, 2, 2])
    w = pool.weights(x, batch)
    torch.testing.assert_close(global_pool(w.unsqueeze(1), batch, "sum"), torch.ones(3, 1))
    # pooling a batch equals pooling each graph alone
    alone = torch.cat([pool(x[batch == k]) for k in range(3)])
    torch.testing.assert_close(pool(x, batch), alone)


def _pooled(model: MolGNN, attention: AttentionPooling, smiles: str) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        h = model.node_embeddings(smiles_to_graph(smiles))
        return {"sum": global_pool(h, how="sum"), "mean": global_pool(h, how="mean"),
                "max": global_pool(h, how="max"), "attention": attention(h)}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # every atom identical: only sum sees the ring size
        ("C1CCCCC1", "C1CCCCCCC1", {"sum": True, "mean": False, "max": False, "attention": False}),
        # same kinds of carbon (2 layers), different counts: max cannot count
        ("CCCCCCCCCC", "CCCCCCCCCCCC", {"sum": True, "mean": True, "max": False, "attention": True}),
        # 1-WL-indistinguishable graphs: no pooling helps
        ("C1CCC2CCCCC2C1", "C1CCC(C1)C1CCCC1", {"sum": False, "mean": False, "max": False, "attention": False}),
    ],
)
def test_what_each_pooling_can_tell_apart(a, b, expected):
    model = _model()  # hidden=16, num_layers=2, untrained: as in the chapter
    attention = AttentionPooling(16).eval()
    pa, pb = _pooled(model, attention, a), _pooled(model, attention, b)
    differs = {k: not torch.allclose(pa[k], pb[k], atol=1e-5) for k in pa}
    assert differs == expected


def test_decalin_and_bicyclopentyl_identical_for_every_model_pooling():
    for pool in ("sum", "mean", "max", "attention"):
        model = _model(pool=pool)
        with torch.no_grad():
            torch.testing.assert_close(
                model(smiles_to_graph("C1CCC2CCCCC2C1")), model(smiles_to_graph("C1CCC(C1)C1CCCC1"))
            )


# --------------------------------------------------------------------------------------------
# ScaleShift
# --------------------------------------------------------------------------------------------
def test_scale_shift():
    layer = ScaleShift(shift=1.0, scale=2.0)
    torch.testing.assert_close(layer(torch.tensor([[0.0], [3.0]])), torch.tensor([[1.0], [7.0]]))
    assert not list(layer.parameters())  # fixed, not trained
    with pytest.raises(ValueError, match="non-zero"):
        ScaleShift(0.0, 0.0)
