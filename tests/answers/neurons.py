"""Answer suite of the neurons assignment (read by tests/test_assignments.py).

WRONG: submission -> (answer cells replaced in the released notebook, every other answer correct;
{test cell that must score 0: a phrase its failure output must contain}). Each submission carries
several mistakes students really make, each breaking a different test cell. CORRECT: alternative
solutions that must earn full marks."""

from __future__ import annotations

EXPECTED_POINTS = {"q1-tests": 2, "q2-tests": 3, "q3-tests": 4, "q4-tests": 3, "q4b-tests": 3, "q5-tests": 2,
                   "q6-tests": 4, "q7-written": 2}
MANUAL = {"q7-written"}

_ACTIVATIONS_OK = {
    "sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n",
    "relu": "def relu(z):\n    return np.maximum(0.0, z)\n",
    "leaky_relu": "def leaky_relu(z):\n    return np.maximum(0.1 * z, z)\n",
    "elu": "def elu(z, alpha=1.0):\n    return np.where(z >= 0, z, alpha * (np.exp(np.minimum(z, 0)) - 1))\n",
}


def _activations(**replace: str) -> str:
    return "".join(replace.get(name, src) for name, src in _ACTIVATIONS_OK.items())


def _fit_linear(update: str = "w, b = w - 2 * lr / len(y) * (X.T @ r), b - 2 * lr * float(np.mean(r))",
                rmse: str = "float(np.sqrt(np.mean((X_test @ w_lin + b_lin - y_test) ** 2)))") -> str:
    return ("def fit_linear(X, y, lr, epochs):\n"
            "    w, b, losses = np.zeros(X.shape[1]), 0.0, []\n"
            "    for _ in range(epochs):\n"
            "        r = X @ w + b - y\n"
            "        losses.append(float(np.mean(r ** 2)))\n"
            f"        {update}\n"
            "    return w, b, losses\n"
            "w_lin, b_lin, losses_lin = fit_linear(X_train, y_train, lr=0.05, epochs=300)\n"
            f"rmse_linear = {rmse}\n")


def _sgd(body: str) -> str:
    return ("def sgd_epoch(X, y, w, b, lr, batch_size, order):\n" + body +
            "rng = np.random.default_rng(0)\n"
            "w_sgd, b_sgd = np.zeros(X_train.shape[1]), 0.0\n"
            "for epoch in range(20):\n"
            "    w_sgd, b_sgd = sgd_epoch(X_train, y_train, w_sgd, b_sgd, 0.01, 32, rng.permutation(len(y_train)))\n"
            "rmse_sgd = float(np.sqrt(np.mean((X_test @ w_sgd + b_sgd - y_test) ** 2)))\n")


def _train(loop: str = ("        opt.zero_grad()\n"
                        "        loss = torch.mean((model(X).squeeze(-1) - y) ** 2)\n"
                        "        loss.backward()\n"
                        "        opt.step()\n"),
           after: str = "",
           rmse: str = "float(torch.sqrt(torch.mean((test_pred - yt_test) ** 2)))",
           epochs: int = 300) -> str:
    return ("def train(model, X, y, epochs, lr):\n"
            "    opt = torch.optim.Adam(model.parameters(), lr=lr)\n"
            "    losses = []\n"
            "    for _ in range(epochs):\n" + loop +
            "        losses.append(loss.item())\n"
            "    return losses\n"
            "cu.seed_everything(0)\n"
            "model = MLP(10, [32], 1)\n"
            f"losses = train(model, Xt_train, yt_train, epochs={epochs}, lr=0.01)\n" + after +
            "with torch.no_grad():\n"
            "    test_pred = model(Xt_test).squeeze(-1)\n"
            f"test_rmse = {rmse}\n")


WRONG = {
    "wrong-a": (
        {
            # forgets the bias
            "q1-neuron-forward": "def neuron(x, w, b):\n    return 1.0 / (1.0 + math.exp(-float(np.dot(w, x))))",
            # leaky ReLU with the common default slope 0.01 instead of the lecture's 0.1
            "q2-activations": _activations(leaky_relu="def leaky_relu(z):\n    return np.maximum(0.01 * z, z)\n"),
            # chain rule without the sigmoid's derivative
            "q3-backprop": ("def neuron_gradients(x, w, b, t):\n"
                            "    y = 1 / (1 + math.exp(-(float(np.dot(w, x)) + b)))\n"
                            "    return 2 * (y - t) * np.asarray(x, dtype=float), float(2 * (y - t))"),
            # gradient without the factor 2
            "q4-gradient-descent": _fit_linear(update="w, b = w - lr / len(y) * (X.T @ r), b - lr * float(np.mean(r))"),
            # drops the last, smaller batch
            "q4b-minibatch-sgd": _sgd("    w = np.array(w, dtype=float)\n"
                                      "    for k in range(len(order) // batch_size):\n"
                                      "        idx = order[k * batch_size:(k + 1) * batch_size]\n"
                                      "        r = X[idx] @ w + b - y[idx]\n"
                                      "        w, b = w - 2 * lr / len(idx) * (X[idx].T @ r), b - 2 * lr * float(np.mean(r))\n"
                                      "    return w, float(b)\n"),
            # layers without biases
            "q5-mlp": ("def make_mlp(in_dim, hidden_dim):\n"
                       "    L = torch.nn.Linear\n"
                       "    return torch.nn.Sequential(L(in_dim, hidden_dim, bias=False), torch.nn.ReLU(),\n"
                       "        L(hidden_dim, hidden_dim, bias=False), torch.nn.ReLU(), L(hidden_dim, 1, bias=False))"),
            # reports the MSE as "RMSE"
            "q6-train": _train(rmse="float(torch.mean((test_pred - yt_test) ** 2))"),
        },
        {"q1-tests": "w . x + b", "q2-tests": "slope 0.1", "q3-tests": "y (1 - y)", "q4-tests": "2/N X^T",
         "q4b-tests": "last", "q5-tests": "bias", "q6-tests": "square root"},
    ),
    "wrong-b": (
        {
            # an object that claims to equal anything
            "q1-neuron-forward": ("class _AlwaysEqual(float):\n"
                                  "    def __eq__(self, other):\n        return True\n"
                                  "    def __ne__(self, other):\n        return False\n"
                                  "    __hash__ = float.__hash__\n"
                                  "def neuron(x, w, b):\n    return _AlwaysEqual(0.0)"),
            # ReLU that zeroes its input in place
            "q2-activations": _activations(relu="def relu(z):\n    z[z < 0] = 0.0\n    return z\n"),
            # forgets the target t (right only when t = 0, as in the visible example)
            "q3-backprop": ("def neuron_gradients(x, w, b, t):\n"
                            "    y = 1 / (1 + math.exp(-(float(np.dot(w, x)) + b)))\n"
                            "    d = 2 * y * y * (1 - y)\n"
                            "    return d * np.asarray(x, dtype=float), float(d)"),
            # RMSE on the training set instead of the test set
            "q4-gradient-descent": _fit_linear(rmse="float(np.sqrt(np.mean((X_train @ w_lin + b_lin - y_train) ** 2)))"),
            # divides every batch's gradient by batch_size, also for the smaller last batch
            "q4b-minibatch-sgd": _sgd("    w = np.array(w, dtype=float)\n"
                                      "    for k in range(0, len(order), batch_size):\n"
                                      "        idx = order[k:k + batch_size]\n"
                                      "        r = X[idx] @ w + b - y[idx]\n"
                                      "        w, b = w - 2 * lr / batch_size * (X[idx].T @ r), b - 2 * lr * float(np.sum(r)) / batch_size\n"
                                      "    return w, float(b)\n"),
            # the second ReLU is missing (same parameter count)
            "q5-mlp": ("def make_mlp(in_dim, hidden_dim):\n"
                       "    L = torch.nn.Linear\n"
                       "    return torch.nn.Sequential(L(in_dim, hidden_dim), torch.nn.ReLU(), L(hidden_dim, hidden_dim),\n"
                       "                               L(hidden_dim, 1))"),
            # never zeroes the gradients: they accumulate over the steps
            "q6-train": _train(loop=("        loss = torch.mean((model(X).squeeze(-1) - y) ** 2)\n"
                                     "        loss.backward()\n"
                                     "        opt.step()\n")),
        },
        {"q1-tests": "float", "q2-tests": "in place", "q3-tests": "q3 grad_w", "q4-tests": "*test* set",
         "q4b-tests": "its own", "q5-tests": "forward pass", "q6-tests": "zero_grad"},
    ),
    "wrong-c": (
        {
            # no activation at all
            "q1-neuron-forward": "def neuron(x, w, b):\n    return float(np.dot(w, x)) + float(b)",
            # ELU that ignores its alpha argument
            "q2-activations": _activations(elu="def elu(z, alpha=1.0):\n    return np.where(z >= 0, z, np.exp(np.minimum(z, 0)) - 1)\n"),
            # multiplies by the weights instead of the inputs
            "q3-backprop": ("def neuron_gradients(x, w, b, t):\n"
                            "    y = 1 / (1 + math.exp(-(float(np.dot(w, x)) + b)))\n"
                            "    d = 2 * (y - t) * y * (1 - y)\n"
                            "    return d * np.asarray(w, dtype=float), float(d)"),
            # updates the caller's w in place
            "q4b-minibatch-sgd": _sgd("    for k in range(0, len(order), batch_size):\n"
                                      "        idx = order[k:k + batch_size]\n"
                                      "        r = X[idx] @ w + b - y[idx]\n"
                                      "        w -= 2 * lr / len(idx) * (X[idx].T @ r)\n"
                                      "        b = b - 2 * lr * float(np.mean(r))\n"
                                      "    return w, float(b)\n"),
            # a ReLU after the output layer too
            "q5-mlp": ("def make_mlp(in_dim, hidden_dim):\n"
                       "    L, R = torch.nn.Linear, torch.nn.ReLU\n"
                       "    return torch.nn.Sequential(L(in_dim, hidden_dim), R(), L(hidden_dim, hidden_dim), R(),\n"
                       "                               L(hidden_dim, 1), R())"),
            # trains for 30 steps instead of 300
            "q6-train": _train(epochs=30),
        },
        {"q1-tests": "sigmoid", "q2-tests": "alpha", "q3-tests": "x_i", "q4b-tests": "in place",
         "q5-tests": "none after the last", "q6-tests": "300"},
    ),
    "wrong-d": (
        {
            # ignores the shuffled order and walks through the rows 0, 1, 2, ...
            "q4b-minibatch-sgd": _sgd("    w = np.array(w, dtype=float)\n"
                                      "    for k in range(0, len(order), batch_size):\n"
                                      "        r = X[k:k + batch_size] @ w + b - y[k:k + batch_size]\n"
                                      "        n = len(r)\n"
                                      "        w, b = w - 2 * lr / n * (X[k:k + batch_size].T @ r), b - 2 * lr * float(np.mean(r))\n"
                                      "    return w, float(b)\n"),
            # re-creates the model after training (so it predicts untrained), and overwrites the
            # notebook's baseline and test labels: the hidden tests use their own
            "q6-train": _train(after=("model = MLP(10, [32], 1)\n"
                                      "baseline_rmse = 1e9\n"
                                      "y_test = y_test * 0\n")),
        },
        {"q4b-tests": "order", "q6-tests": "not clearly better"},
    ),
}

CORRECT = {
    "alt-a": {
        "q1-neuron-forward": ("def neuron(x, w, b):\n"
                              "    return float(1.0 / (1.0 + np.exp(-(np.sum(np.asarray(w) * np.asarray(x)) + b))))"),
        "q2-activations": ("def sigmoid(z):\n    return 0.5 * (1.0 + np.tanh(0.5 * z))\n"
                           "def relu(z):\n    return z * (z > 0)\n"
                           "def leaky_relu(z):\n    return np.where(z > 0, z, 0.1 * z)\n"
                           "def elu(z, alpha=1.0):\n    out = np.array(z, dtype=float)\n"
                           "    neg = out < 0\n    out[neg] = alpha * np.expm1(out[neg])\n    return out\n"),
        # an nn.Module subclass whose forward calls torch.relu
        "q5-mlp": ("class _MLP(torch.nn.Module):\n"
                   "    def __init__(self, in_dim, hidden_dim):\n"
                   "        super().__init__()\n"
                   "        self.fc1 = torch.nn.Linear(in_dim, hidden_dim)\n"
                   "        self.fc2 = torch.nn.Linear(hidden_dim, hidden_dim)\n"
                   "        self.out = torch.nn.Linear(hidden_dim, 1)\n"
                   "    def forward(self, x):\n"
                   "        return self.out(torch.relu(self.fc2(torch.relu(self.fc1(x)))))\n"
                   "def make_mlp(in_dim, hidden_dim):\n"
                   "    return _MLP(in_dim, hidden_dim)"),
        "q4b-minibatch-sgd": _sgd("    w, b = w.copy(), float(b)\n"
                                  "    starts = list(range(0, len(order), batch_size))\n"
                                  "    for s in starts:\n"
                                  "        idx = order[s:min(s + batch_size, len(order))]\n"
                                  "        pred = X[idx].dot(w) + b\n"
                                  "        gw = 2 * X[idx].T.dot(pred - y[idx]) / len(idx)\n"
                                  "        gb = 2 * np.mean(pred - y[idx])\n"
                                  "        w, b = w - lr * gw, b - lr * gb\n"
                                  "    return w, float(b)\n"),
    },
    "alt-b": {
        # the output layer registered first, functional ReLU
        "q5-mlp": ("import torch.nn.functional as F\n"
                   "class Net(torch.nn.Module):\n"
                   "    def __init__(self, in_dim, hidden_dim):\n"
                   "        super().__init__()\n"
                   "        self.head = torch.nn.Linear(hidden_dim, 1)\n"
                   "        self.first = torch.nn.Linear(in_dim, hidden_dim)\n"
                   "        self.second = torch.nn.Linear(hidden_dim, hidden_dim)\n"
                   "    def forward(self, x):\n"
                   "        return self.head(F.relu(self.second(F.relu(self.first(x)))))\n"
                   "def make_mlp(in_dim, hidden_dim):\n"
                   "    return Net(in_dim, hidden_dim)"),
        "q6-train": ("def train(model, X, y, epochs, lr):\n"
                     "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n"
                     "    history = []\n"
                     "    for _ in range(epochs):\n"
                     "        optimizer.zero_grad(set_to_none=True)\n"
                     "        loss = torch.nn.functional.mse_loss(model(X).squeeze(-1), y)\n"
                     "        loss.backward()\n"
                     "        optimizer.step()\n"
                     "        history.append(float(loss))\n"
                     "    return history\n"
                     "cu.seed_everything(0)\n"
                     "model = MLP(10, [32], 1)\n"
                     "losses = train(model, Xt_train, yt_train, 300, 0.01)\n"
                     "model.eval()\n"
                     "with torch.no_grad():\n"
                     "    test_pred = model(Xt_test)[:, 0]\n"
                     "test_rmse = torch.nn.functional.mse_loss(test_pred, yt_test).sqrt().item()\n"),
        "q3-backprop": ("def neuron_gradients(x, w, b, t):\n"
                        "    x = np.asarray(x, dtype=float)\n"
                        "    s = 1 / (1 + np.exp(-(x @ np.asarray(w, dtype=float) + b)))\n"
                        "    g = 2 * (s - t) * s * (1 - s)\n"
                        "    return g * x, float(g)"),
    },
}
