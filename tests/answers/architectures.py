"""Answer suite of the architectures assignment (read by tests/test_assignments.py)."""

EXPECTED_POINTS = {"q1-tests": 4, "q2-tests": 2, "q3-tests": 2, "q4-tests": 3, "q5-tests": 3, "q6-tests": 4,
                   "q7-tests": 2, "q8-written": 2}
MANUAL = {"q8-written"}

# --- plausible wrong answers -------------------------------------------------------------------------

CONV_FLIPPED = '''
def conv2d(x, w, b, stride=1, padding=0):
    # textbook convolution: the kernel is flipped (deep-learning layers do not flip)
    c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    xp = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    h_out, w_out = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = torch.zeros(c_out, h_out, w_out)
    wf = torch.flip(w, dims=(2, 3))
    for o in range(c_out):
        for i in range(h_out):
            for j in range(w_out):
                out[o, i, j] = (xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw] * wf[o]).sum() + b[o]
    return out
'''

CONV_PAD_OFF_BY_ONE = '''
def conv2d(x, w, b, stride=1, padding=0):
    # pads only on one side (top/left): off by one in the output size
    c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    xp = torch.nn.functional.pad(x, (padding, 0, padding, 0))
    h_out, w_out = (h + padding - kh) // stride + 1, (wd + padding - kw) // stride + 1
    out = torch.zeros(c_out, h_out, w_out)
    for o in range(c_out):
        for i in range(h_out):
            for j in range(w_out):
                out[o, i, j] = (xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw] * w[o]).sum() + b[o]
    return out
'''

CONV_NO_BIAS = '''
def conv2d(x, w, b, stride=1, padding=0):
    c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    xp = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    h_out, w_out = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = torch.zeros(c_out, h_out, w_out)
    for o in range(c_out):
        for i in range(h_out):
            for j in range(w_out):
                out[o, i, j] = (xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw] * w[o]).sum()
    return out
'''

POOL_ACROSS_CHANNELS = '''
def max_pool2d(x, k):
    c, h, w = x.shape
    out = torch.zeros(c, h // k, w // k)
    for i in range(h // k):
        for j in range(w // k):
            out[:, i, j] = x[:, i * k:(i + 1) * k, j * k:(j + 1) * k].max()   # max over ALL channels too
    return out
'''

POOL_AVERAGE = '''
def max_pool2d(x, k):
    return torch.nn.functional.avg_pool2d(x[None], k)[0]
'''

POOL_CEIL = '''
def max_pool2d(x, k):
    # keeps the partial windows at the right/bottom edge (ceil instead of floor)
    c, h, w = x.shape
    n_h, n_w = -(-h // k), -(-w // k)
    out = torch.zeros(c, n_h, n_w)
    for i in range(n_h):
        for j in range(n_w):
            out[:, i, j] = x[:, i * k:(i + 1) * k, j * k:(j + 1) * k].amax(dim=(1, 2))
    return out
'''

RF_IGNORES_STRIDE = '''
def receptive_field(layers):
    return 1 + sum(k - 1 for k, s in layers)
'''

RF_OWN_STRIDE = '''
def receptive_field(layers):
    r, jump = 1, 1
    for k, s in layers:
        jump *= s              # multiplies by the layer's own stride too early
        r += (k - 1) * jump
    return r
'''

PERC_WRONG_SIGN = '''
def perceptron_update(w, b, x, y, lr):
    y_hat = 1 if float(np.dot(w, x)) + b > 0 else 0
    return w - lr * (y - y_hat) * x, float(b - lr * (y - y_hat))
'''

PERC_ALWAYS = '''
def perceptron_update(w, b, x, y, lr):
    # Hebbian-style: moves towards every positive example, right or wrong
    return w + lr * y * x, float(b + lr * y)
'''

PERC_IN_PLACE = '''
def perceptron_update(w, b, x, y, lr):
    y_hat = 1 if float(np.dot(w, x)) + b > 0 else 0
    w += lr * (y - y_hat) * x
    return w, float(b + lr * (y - y_hat))
'''

CNN_GLOBAL_MAX = '''
class ChemCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        h = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        h = torch.relu(self.conv2(h))
        return self.head(h.amax(dim=(2, 3))).squeeze(-1)     # global MAX pooling
'''

CNN_NO_RELU = '''
class ChemCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        h = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        h = self.conv2(h)                                      # ReLU forgotten
        return self.head(h.mean(dim=(2, 3))).squeeze(-1)
'''

TRAIN_NEVER = '''
cu.seed_everything(0)
cnn = ChemCNN()
y_mean, y_std = train_y.mean(), train_y.std()
optimizer = torch.optim.Adam(cnn.parameters(), lr=3e-3)   # ... but the training loop was never written


def predict(x):
    cnn.eval()
    with torch.no_grad():
        return cnn(x) * y_std + y_mean


val_rmse = float(torch.sqrt(torch.mean((predict(val_x) - val_y) ** 2)))
'''

TRAIN_BODY = '''
cu.seed_everything(0)
cnn = ChemCNN()
y_mean, y_std = train_y.mean(), train_y.std()
optimizer = torch.optim.Adam(cnn.parameters(), lr=3e-3)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, (train_y - y_mean) / y_std),
                                     batch_size=32, shuffle=True)
for epoch in range(40):
    cnn.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = torch.mean((cnn(xb) - yb) ** 2)
        loss.backward()
        optimizer.step()
'''

TRAIN_MSE_NOT_RMSE = TRAIN_BODY + '''

def predict(x):
    cnn.eval()
    with torch.no_grad():
        return cnn(x) * y_std + y_mean


val_rmse = float(torch.mean((predict(val_x) - val_y) ** 2))      # the MSE, not its square root
'''

TRAIN_FORGOT_UNSTANDARDIZE = TRAIN_BODY + '''

def predict(x):
    cnn.eval()
    with torch.no_grad():
        return cnn(x)                                              # still in standardized units


val_rmse = float(torch.sqrt(torch.mean((predict(val_x) - val_y) ** 2)))
'''

ROT_SIGNED = '''
rotated = torch.tensor(rasterize_molecules(list(freesolv["smiles"].iloc[val_idx]), size=24, resolution=0.6, rotation=90))
pred_rot = predict(rotated)
rot_rmse = float(torch.sqrt(torch.mean((pred_rot - val_y) ** 2)))
rot_shift = float(torch.mean(pred_rot - predict(val_x))) + 10.0   # signed mean (offset keeps it positive)
'''

WRONG = {
    "wrong-a": ({"q1-conv2d": CONV_FLIPPED, "q2-maxpool": POOL_ACROSS_CHANNELS, "q3-receptive-field": RF_IGNORES_STRIDE,
                 "q4-perceptron": PERC_WRONG_SIGN, "q6-train": TRAIN_NEVER},
                {"q1-tests": "no kernel flip", "q2-tests": "never across channels", "q3-tests": "stride",
                 "q4-tests": "w + lr * (y - y_hat) * x", "q6-tests": "must be below 0.85"}),
    "wrong-b": ({"q1-conv2d": CONV_PAD_OFF_BY_ONE, "q2-maxpool": POOL_AVERAGE, "q3-receptive-field": RF_OWN_STRIDE,
                 "q4-perceptron": PERC_ALWAYS, "q5-cnn": CNN_GLOBAL_MAX, "q6-train": TRAIN_MSE_NOT_RMSE,
                 "q7-rotation": ROT_SIGNED},
                {"q1-tests": "pad p zeros on every side", "q2-tests": "largest value", "q3-tests": "stride",
                 "q4-tests": "right prediction changes nothing", "q5-tests": "mean", "q6-tests": "sqrt(mean",
                 "q7-tests": "absolute values"}),
    "wrong-c": ({"q1-conv2d": CONV_NO_BIAS, "q2-maxpool": POOL_CEIL, "q4-perceptron": PERC_IN_PLACE,
                 "q5-cnn": CNN_NO_RELU, "q6-train": TRAIN_FORGOT_UNSTANDARDIZE},
                {"q1-tests": "add the bias", "q2-tests": "drop leftover", "q4-tests": "in place",
                 "q5-tests": "relu", "q6-tests": "must be below 0.85"}),
}

# --- correct alternative solutions ------------------------------------------------------------------

CONV_SHIFT_AND_ADD = '''
def conv2d(x, w, b, stride=1, padding=0):
    # loop over the kernel offsets instead of the output positions: a weighted sum of shifted images
    xp = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    c_out, c_in, kh, kw = w.shape
    h_out = (xp.shape[1] - kh) // stride + 1
    w_out = (xp.shape[2] - kw) // stride + 1
    out = b.reshape(-1, 1, 1).repeat(1, h_out, w_out).clone()
    for u in range(kh):
        for v in range(kw):
            window = xp[:, u:u + stride * (h_out - 1) + 1:stride, v:v + stride * (w_out - 1) + 1:stride]
            out = out + torch.einsum("oc,chw->ohw", w[:, :, u, v], window)
    return out
'''

CONV_SCALAR_LOOPS = '''
def conv2d(x, w, b, stride=1, padding=0):
    X = x.tolist()
    C, H, W = len(X), len(X[0]), len(X[0][0])
    O, _, KH, KW = w.shape
    Wl, bl = w.tolist(), b.tolist()
    def at(c, i, j):
        i, j = i - padding, j - padding
        return X[c][i][j] if 0 <= i < H and 0 <= j < W else 0.0
    HO, WO = (H + 2 * padding - KH) // stride + 1, (W + 2 * padding - KW) // stride + 1
    out = [[[bl[o] + sum(Wl[o][c][u][v] * at(c, i * stride + u, j * stride + v)
                         for c in range(C) for u in range(KH) for v in range(KW))
             for j in range(WO)] for i in range(HO)] for o in range(O)]
    return torch.tensor(out, dtype=x.dtype)
'''

POOL_RESHAPE = '''
def max_pool2d(x, k):
    c, h, w = x.shape
    x = x[:, : h // k * k, : w // k * k]
    return x.reshape(c, h // k, k, w // k, k).amax(dim=(2, 4))
'''

RF_FROM_OUTPUT = '''
def receptive_field(layers):
    r = 1
    for k, s in reversed(layers):   # walk back from one output unit to the input
        r = (r - 1) * s + k
    return r
'''

PERC_SIGN_FORM = '''
def perceptron_update(w, b, x, y, lr):
    predicted = int(np.asarray(w) @ np.asarray(x) + b > 0)
    if predicted == y:
        return np.array(w, dtype=float, copy=True), float(b)
    direction = 1.0 if y == 1 else -1.0
    return np.asarray(w, dtype=float) + direction * lr * np.asarray(x, dtype=float), float(b) + direction * lr
'''

CNN_SEQUENTIAL = '''
class ChemCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.readout = nn.Linear(16, 1)            # defined first: order does not matter
        self.features = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return self.readout(self.features(x).flatten(1)).flatten()
'''

TRAIN_MANUAL_BATCHES = '''
cu.seed_everything(0)
cnn = ChemCNN()
mu, sigma = float(train_y.mean()), float(train_y.std())
opt = torch.optim.Adam(cnn.parameters(), lr=3e-3)
loss_fn = nn.MSELoss()
for epoch in range(40):
    cnn.train()
    order = torch.randperm(len(train_x))
    for start in range(0, len(order), 32):
        idx = order[start:start + 32]
        opt.zero_grad()
        loss_fn(cnn(train_x[idx]), (train_y[idx] - mu) / sigma).backward()
        opt.step()


def predict(x):
    cnn.eval()
    with torch.no_grad():
        return mu + sigma * cnn(x)


val_rmse = torch.sqrt(((predict(val_x) - val_y) ** 2).mean()).item()
'''

ROT_NUMPY = '''
smiles_val = [freesolv["smiles"].iloc[i] for i in val_idx]
p_rot = predict(torch.tensor(rasterize_molecules(smiles_val, size=24, resolution=0.6, rotation=90))).numpy()
p_orig = predict(val_x).numpy()
rot_rmse = float(np.sqrt(np.mean((p_rot - val_y.numpy()) ** 2)))
rot_shift = float(np.abs(p_rot - p_orig).mean())
'''

CORRECT = {
    "alt-a": {"q1-conv2d": CONV_SHIFT_AND_ADD, "q2-maxpool": POOL_RESHAPE, "q3-receptive-field": RF_FROM_OUTPUT,
              "q4-perceptron": PERC_SIGN_FORM, "q5-cnn": CNN_SEQUENTIAL, "q6-train": TRAIN_MANUAL_BATCHES,
              "q7-rotation": ROT_NUMPY},
    "alt-b": {"q1-conv2d": CONV_SCALAR_LOOPS},
}
