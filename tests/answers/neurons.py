"""Answer suite of the neurons assignment (read by tests/test_assignments.py).

WRONG: submission -> (answer cells replaced in the released notebook, every other answer correct;
{test cell that must score 0: a phrase its failure output must contain}). CORRECT: alternative
solutions that must earn full marks."""

from __future__ import annotations

_ALWAYS_EQUAL = '\nclass _AlwaysEqual(float):\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n        return False\n    __hash__ = float.__hash__\n'

EXPECTED_POINTS = {'q1-tests': 2,
 'q2-tests': 3,
 'q3-tests': 4,
 'q4-tests': 3,
 'q5-tests': 2,
 'q6-tests': 4,
 'q7-written': 2}

MANUAL = {'q7-written'}

WRONG = {'wrong-a': ({'q1-neuron-forward': 'def neuron(x, w, b):\n'
                                   '    return 1.0 / (1.0 + math.exp(-float(np.dot(w, x))))',
              'q2-activations': 'def sigmoid(z):\n'
                                '    return 1 / (1 + np.exp(-z))\n'
                                'def relu(z):\n'
                                '    return np.maximum(0.0, z)\n'
                                'def leaky_relu(z):\n'
                                '    return np.maximum(0.01 * z, z)\n'
                                'def elu(z, alpha=1.0):\n'
                                '    return np.where(z >= 0, z, alpha * (np.exp(np.minimum(z, 0)) - 1))',
              'q5-mlp': 'def make_mlp(in_dim, hidden_dim):\n'
                        '    L = torch.nn.Linear\n'
                        '    return torch.nn.Sequential(L(in_dim, hidden_dim, bias=False), torch.nn.ReLU(),\n'
                        '        L(hidden_dim, hidden_dim, bias=False), torch.nn.ReLU(), L(hidden_dim, 1, '
                        'bias=False))'},
             {'q1-tests': '', 'q2-tests': '', 'q5-tests': ''}),
 'wrong-b': ({'q1-neuron-forward': '\n'
                                   'class _AlwaysEqual(float):\n'
                                   '    def __eq__(self, other):\n'
                                   '        return True\n'
                                   '    def __ne__(self, other):\n'
                                   '        return False\n'
                                   '    __hash__ = float.__hash__\n'
                                   'def neuron(x, w, b):\n'
                                   '    return _AlwaysEqual(0.0)',
              'q3-backprop': 'def neuron_gradients(x, w, b, t):\n'
                             '    y = 1 / (1 + math.exp(-(float(np.dot(w, x)) + b)))\n'
                             '    return 2 * (y - t) * np.asarray(x, dtype=float), float(2 * (y - t))',
              'q4-gradient-descent': 'def fit_linear(X, y, lr, epochs):\n'
                                     '    w, b, losses = np.zeros(X.shape[1]), 0.0, []\n'
                                     '    for _ in range(epochs):\n'
                                     '        r = X @ w + b - y\n'
                                     '        losses.append(float(np.mean(r ** 2)))\n'
                                     '        w, b = w - lr / len(y) * (X.T @ r), b - lr * '
                                     'float(np.mean(r))\n'
                                     '    return w, b, losses\n'
                                     'w_lin, b_lin, losses_lin = fit_linear(X_train, y_train, lr=0.05, '
                                     'epochs=300)\n'
                                     'rmse_linear = float(np.sqrt(np.mean((X_test @ w_lin + b_lin - y_test) '
                                     '** 2)))',
              'q6-train': 'def train(model, X, y, epochs, lr):\n'
                          '    opt = torch.optim.Adam(model.parameters(), lr=lr)\n'
                          '    losses = []\n'
                          '    for _ in range(epochs):\n'
                          '        opt.zero_grad()\n'
                          '        loss = torch.mean((model(X).squeeze(-1) - y) ** 2)\n'
                          '        loss.backward()\n'
                          '        opt.step()\n'
                          '        losses.append(loss.item())\n'
                          '    return losses\n'
                          'cu.seed_everything(0)\n'
                          'model = MLP(10, [32], 1)\n'
                          'losses = train(model, Xt_train, yt_train, epochs=300, lr=0.01)\n'
                          'with torch.no_grad():\n'
                          '    test_pred = model(Xt_test).squeeze(-1)\n'
                          'test_rmse = float(torch.mean((test_pred - yt_test) ** 2))'},
             {'q1-tests': '', 'q3-tests': '', 'q4-tests': '', 'q6-tests': ''}),
 'wrong-hidden': ({'q2-activations': 'def sigmoid(z):\n'
                                     '    return 1 / (1 + np.exp(-z))\n'
                                     'def relu(z):\n'
                                     '    z[z < 0] = 0.0\n'
                                     '    return z\n'
                                     'def leaky_relu(z):\n'
                                     '    return np.maximum(0.1 * z, z)\n'
                                     'def elu(z, alpha=1.0):\n'
                                     '    return np.where(z >= 0, z, alpha * (np.exp(np.minimum(z, 0)) - 1))',
                   'q3-backprop': 'def neuron_gradients(x, w, b, t):\n'
                                  '    y = 1 / (1 + math.exp(-(float(np.dot(w, x)) + b)))\n'
                                  '    d = 2 * y * y * (1 - y)\n'
                                  '    return d * np.asarray(x, dtype=float), float(d)',
                   'q4-gradient-descent': 'def fit_linear(X, y, lr, epochs):\n'
                                          '    w, b, losses = np.zeros(X.shape[1]), 0.0, []\n'
                                          '    for _ in range(epochs):\n'
                                          '        r = X @ w + b - y\n'
                                          '        losses.append(float(np.mean(r ** 2)))\n'
                                          '        w, b = w - 2 * lr / len(y) * (X.T @ r), b - 2 * lr * '
                                          'float(np.mean(r))\n'
                                          '    return w, b, losses\n'
                                          'w_lin, b_lin, losses_lin = fit_linear(X_train, y_train, lr=0.05, '
                                          'epochs=300)\n'
                                          'rmse_linear = float(np.sqrt(np.mean((X_train @ w_lin + b_lin - '
                                          'y_train) ** 2)))',
                   'q5-mlp': 'def make_mlp(in_dim, hidden_dim):\n'
                             '    L = torch.nn.Linear\n'
                             '    return torch.nn.Sequential(L(in_dim, hidden_dim), torch.nn.ReLU(), '
                             'L(hidden_dim, hidden_dim),\n'
                             '                               L(hidden_dim, 1))'},
                  {'q2-tests': '', 'q3-tests': '', 'q4-tests': '', 'q5-tests': ''})}

CORRECT: dict[str, dict[str, str]] = {}
