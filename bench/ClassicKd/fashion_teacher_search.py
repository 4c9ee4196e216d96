# Fashion-MNIST teacher-recipe search for bench/ClassicKd (Distillery's Hinton et al. 2015 reproduction).
#
# Distillery trains these nets on the CPU (a 100-epoch 2x1200 teacher takes ~40 min on 2 cores), too slowly to search
# recipes. This script trains many of the same nets at once on one GPU with PyTorch (stacked weights, batched matmuls) with
# Distillery's settings: AdamW (0.9, 0.999, 1e-8, decoupled decay on matrices only), warm-up min(steps/20, 200) then
# cosine to lr/100, batch 100, PyTorch's Linear initialisation, dropout on the input and after each hidden ReLU, soft
# targets from the teacher on clean training images, loss a*T^2*KL + (1-a)*CE with T = 20, a = 0.5. It picks the recipe;
# the figures quoted in bench/results/classic-kd.md as Distillery's come from Distillery itself.
#
# Usage (repo root; the four Fashion-MNIST .gz files in $DATA): python3 bench/ClassicKd/fashion_teacher_search.py grid|seeds
#   grid:  16 teacher recipes (hidden/input dropout, jitter, mirroring) x {no weight decay, 0.1}, 100 epochs, each with a
#          30-epoch distilled student; plus the 2x800 hard-label baseline over 4 seeds.
#   seeds: hidden dropout {0.3, 0.4} x weight decay {0.1, 0.3}, 4 seeds each, 100 epochs, with distilled students.
import sys
import gzip, struct, time, math, os, json
import numpy as np, torch
import torch.nn.functional as F
T0 = time.time(); DEADLINE = float(os.environ.get('DEADLINE', '500'))
OUT = os.environ.get('OUT', '.'); dev = 'cuda'
torch.backends.cuda.matmul.allow_tf32 = False; torch.backends.cudnn.allow_tf32 = False
def log(*a):
    s = ' '.join(str(x) for x in a); print(f'[{time.time()-T0:6.1f}s] {s}', flush=True)
    with open(os.path.join(OUT, 'log.txt'), 'a') as f: f.write(s + '\n')
def idx(path):
    data = gzip.open(path, 'rb').read(); nd = data[3]
    dims = struct.unpack('>' + 'I' * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
d = os.environ.get('DATA', '/usr/share/datasets/fashion-mnist')
Xtr = torch.tensor(idx(f'{d}/train-images-idx3-ubyte.gz').reshape(-1, 784), device=dev).float() / 255
Ytr = torch.tensor(idx(f'{d}/train-labels-idx1-ubyte.gz'), device=dev).long()
Xte = torch.tensor(idx(f'{d}/t10k-images-idx3-ubyte.gz').reshape(-1, 784), device=dev).float() / 255
Yte = torch.tensor(idx(f'{d}/t10k-labels-idx1-ubyte.gz'), device=dev).long()
N = Xtr.shape[0]; log('data', Xtr.shape, Xte.shape, torch.cuda.get_device_name())

def lr_at(step, total, warm, peak, floor):
    if step < warm: return peak * (step + 1) / warm
    if step >= total: return floor
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * (step - warm) / (total - warm)))

row = torch.arange(28, device=dev).repeat_interleave(28); col = torch.arange(28, device=dev).repeat(28)
def augment(x, J, M):  # x (B,784); J (K,) ints; M (K,) bool -> (K,B,784)
    K, B = J.shape[0], x.shape[0]
    r = torch.rand(K, B, 2, device=dev)
    Jf = J.float()[:, None]
    dy = (r[..., 0] * (2 * Jf + 1)).floor().long() - J[:, None] + 2
    dx = (r[..., 1] * (2 * Jf + 1)).floor().long() - J[:, None] + 2
    mir = (torch.rand(K, B, device=dev) < 0.5) & M[:, None]
    cols = torch.where(mir[..., None], 27 - col, col)
    index = (row + dy[..., None]) * 32 + cols + dx[..., None]
    padded = F.pad(x.view(B, 28, 28), (2, 2, 2, 2)).view(B, 1024)
    return padded.unsqueeze(0).expand(K, B, 1024).gather(2, index)

class Mlps:
    def __init__(s, K, widths, p_in, p_h, seed):
        g = torch.Generator(device=dev); g.manual_seed(seed)
        s.W, s.b = [], []
        for fi, fo in zip(widths[:-1], widths[1:]):
            bound = 1 / math.sqrt(fi)
            s.W.append(((torch.rand(K, fi, fo, device=dev, generator=g) * 2 - 1) * bound).requires_grad_())
            s.b.append(((torch.rand(K, 1, fo, device=dev, generator=g) * 2 - 1) * bound).requires_grad_())
        s.p_in = torch.tensor(p_in, device=dev).float()[:, None, None]; s.p_h = torch.tensor(p_h, device=dev).float()[:, None, None]
    def drop(s, x, p): return x * (torch.rand_like(x) >= p) / (1 - p)
    def __call__(s, x, train):
        if train: x = s.drop(x, s.p_in)
        for i in range(len(s.W)):
            x = torch.baddbmm(s.b[i], x, s.W[i])
            if i < len(s.W) - 1:
                x = F.relu(x)
                if train: x = s.drop(x, s.p_h)
        return x
    @torch.no_grad()
    def logits(s, X):
        K = s.W[0].shape[0]
        return torch.cat([s(X[i:i + 5000].unsqueeze(0).expand(K, -1, -1), False) for i in range(0, X.shape[0], 5000)], 1)
    @torch.no_grad()
    def errors(s): return (s.logits(Xte).argmax(2) != Yte).sum(1).tolist()

def train(name, net, epochs, bs, lr, wd, J=None, M=None, teacher=None, T=20.0, alpha=0.5, seed=0, wdk=None):
    K = net.W[0].shape[0]
    opt = torch.optim.AdamW([{'params': net.W, 'weight_decay': wd}, {'params': net.b, 'weight_decay': 0.0}], lr=lr, betas=(0.9, 0.999), eps=1e-8, fused=True)
    spe = (N + bs - 1) // bs; total = epochs * spe; warm = min(total // 20, 200); step = 0
    g = torch.Generator(device=dev); g.manual_seed(seed); torch.manual_seed(seed)
    t = time.time()
    for ep in range(epochs):
        perm = torch.randperm(N, device=dev, generator=g)
        for i in range(spe):
            rows = perm[i * bs:(i + 1) * bs]; x = Xtr[rows]; y = Ytr[rows]; B = x.shape[0]
            xk = augment(x, J, M) if J is not None else x.unsqueeze(0).expand(K, B, 784)
            out = net(xk, True)
            ce = F.cross_entropy(out.reshape(K * B, -1), y.repeat(K), reduction='sum') / B
            if teacher is not None:
                tl = teacher[:, rows] / T
                kd = (F.softmax(tl, 2) * (F.log_softmax(tl, 2) - F.log_softmax(out / T, 2))).sum() * T * T / B
                loss = alpha * kd + (1 - alpha) * ce
            else: loss = ce
            for gr in opt.param_groups: gr['lr'] = lr_at(step, total, warm, lr, lr / 100)
            opt.zero_grad(set_to_none=True); loss.backward()
            if wdk is not None:
                with torch.no_grad():
                    f = 1 - opt.param_groups[0]['lr'] * wdk
                    for W in net.W: W.mul_(f[:, None, None])
            opt.step(); step += 1
        if ep == 0: torch.cuda.synchronize(); log(f'{name}: first epoch {time.time() - t:.2f}s (K={K}, {epochs} epochs)')
    torch.cuda.synchronize(); log(f'{name}: trained in {time.time() - t:.1f}s'); STEP[bs] = (time.time() - t) / total
    return net



results = {}
STEP = {}

def grid():
    def save():
        json.dump(results, open(os.path.join(OUT, 'results.json'), 'w'), indent=1)

    # Baseline 2x800 on hard labels, 30 epochs, 4 seeds (how noisy is the bar?)
    base = train('baseline30', Mlps(4, [784, 800, 800, 10], [0] * 4, [0] * 4, 11), 30, 100, 1e-3, 0.0, seed=11)
    results['baseline30'] = base.errors(); log('baseline 30 ep errors', results['baseline30']); save()
    bmean = sum(results['baseline30']) / 4

    V = [(0.5, 0.0, 0, False), (0.5, 0.0, 0, True), (0.5, 0.0, 1, False), (0.5, 0.0, 1, True), (0.5, 0.0, 2, True),
         (0.5, 0.2, 0, False), (0.5, 0.2, 0, True), (0.5, 0.2, 1, False), (0.5, 0.2, 1, True), (0.5, 0.2, 2, True),
         (0.3, 0.0, 0, False), (0.3, 0.0, 0, True), (0.3, 0.1, 1, True), (0.65, 0.1, 1, True), (0.65, 0.2, 0, True), (0.5, 0.1, 1, True)]
    K = len(V)
    pin = [v[1] for v in V]; ph = [v[0] for v in V]
    J = torch.tensor([v[2] for v in V], device=dev); M = torch.tensor([v[3] for v in V], device=dev)
    groups = [('t100_bs100', 100, 100, 1e-3, 0.0), ('t200_bs500', 200, 500, 2e-3, 0.0), ('t400_bs500', 400, 500, 2e-3, 0.0), ('t100_bs100_wd', 100, 100, 1e-3, 0.1)]
    for gname, ep, bs, lr, wd in groups:
        est = ep * ((N + bs - 1) // bs) * STEP.get(bs, 4 * STEP[100]) * 1.1 + 18000 * STEP[100]
        if time.time() - T0 + est + 25 > DEADLINE: log(f'skip {gname}: ~{est:.0f}s would pass the deadline'); continue
        tn = train(gname, Mlps(K, [784, 1200, 1200, 10], pin, ph, 21), ep, bs, lr, wd, J, M, seed=21)
        terr = tn.errors(); tl = tn.logits(Xtr); del tn
        st = train(gname + '_students', Mlps(K, [784, 800, 800, 10], [0] * K, [0] * K, 11), 30, 100, 1e-3, 0.0, teacher=tl, seed=11)
        serr = st.errors(); del st, tl
        rows = []
        for v, te, se in zip(V, terr, serr):
            gap = bmean - te; share = (bmean - se) / gap if gap > 0 else float('nan')
            rows.append(dict(hidden=v[0], input=v[1], jitter=v[2], mirror=v[3], teacher=te, student=se, share=share))
            log(f'{gname} ph={v[0]} pin={v[1]} J={v[2]} M={int(v[3])}: teacher {te}  distilled {se}  baseline {bmean:.0f}  share {share:.2f}')
        results[gname] = rows; save()
    log('done')


def seeds():
    BASE = 952.0
    V = [(ph, wd) for wd in (0.1, 0.3) for ph in (0.3, 0.4) for _ in range(4)]
    K = len(V)
    wdk = torch.tensor([v[1] for v in V], device=dev).float()
    tn = train('teachers', Mlps(K, [784, 1200, 1200, 10], [0.0] * K, [v[0] for v in V], 31), 100, 100, 1e-3, 0.0, seed=31, wdk=wdk)
    terr = tn.errors(); tl = tn.logits(Xtr); del tn
    log('teacher errors', terr)
    st = train('students', Mlps(K, [784, 800, 800, 10], [0] * K, [0] * K, 11), 30, 100, 1e-3, 0.0, teacher=tl, seed=11)
    serr = st.errors()
    for v, te, se in zip(V, terr, serr):
        log(f'ph={v[0]} wd={v[1]}: teacher {te} distilled {se} share vs {BASE:.0f}: {(BASE - se) / (BASE - te):.2f}')
    json.dump(dict(V=V, teacher=terr, student=serr), open(os.path.join(OUT, 'results2.json'), 'w'))
    log('done')


{'grid': grid, 'seeds': seeds}[sys.argv[1] if len(sys.argv) > 1 else 'grid']()
