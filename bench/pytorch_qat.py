#!/usr/bin/python3
"""PyTorch eager-mode float + QAT training of a qatc model, for comparison.

A benchmark dependency only (Debian's python3-torch), never part of the product.
The network is built layer for layer from a qatc config's model.layers
(--config, by default the reference CNN examples/fmnist/fmnist_cnn.yaml):
conv2d, dwconv2d (groups = channels) and linear with their bn and act (relu,
relu6), maxpool, avgpool, add (with its act), flatten, softmax (left to the
loss), `from`/`with`/`name` wiring, the pads resolved as docs/config.md says
(`same` is TensorFlow's rule: an uneven pad becomes a ZeroPad2d in front).
The data are the config's (IDX or .npy, paths relative to the config; u1
pixels / 255 as qatc reads them), the loss its model.loss (cross entropy, or
mse against the input for an autoencoder), the optimizers its
pretrain.optimizer and quantization.train.optimizer (sgd or adam, cosine lr),
the batch its pretrain.batch and quantization.train.batch.

QAT with the seed's schedule whatever the config says (freeze BN stats after
epoch 2, disable observers after epoch 3, 0-based, at the end of epochs),
conv/linear + bn (+ relu) fused. The qconfig is onednn's when this torch has
it: 8-bit activations (0..255, moving-average min/max) and per-channel
symmetric weights, as qatc's config; fbgemm's would quantize activations to 7
bits (reduce_range). Accuracy is measured on the first --eval-images eval
inputs (0 = all), the same slice qatc evaluates.
--weight-bits 4 gives W4A8: the weight observers and fake quantizers take
[-7, 7] (symmetric per channel, scale max|w| / 7, as qatc's 4-bit weights);
the converted model runs them on the int8 kernels, which is exactly qatc's
int4 arithmetic (int4 values held in int8).
--speed-only measures training images/s and nothing else (the MLPerf Tiny
models of `make bench`): no PTQ, no accuracy, no latency; --warmup batches
of each phase are trained untimed first.

Prints one line per measurement as `key value` for bench/run.sh.
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_array(path):
    """An IDX or .npy file as a NumPy array (the format from its first bytes, as qatc)."""
    with open(path, "rb") as f:
        magic = f.read(6)
    return np.load(path) if magic == b"\x93NUMPY" else read_idx(path)


def load_set(cfg_dir, entry, input_shape):
    """(inputs NCHW float32, labels int64 or None) of a data.train / data.eval entry."""
    def path(p):
        return p if os.path.isabs(p) else os.path.join(cfg_dir, p)
    x = read_array(path(entry.get("inputs", entry.get("images"))))
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    h, w, c = input_shape
    x = torch.from_numpy(x.reshape(len(x), h, w, c)).permute(0, 3, 1, 2).contiguous()
    y = None
    if "labels" in entry:
        y = torch.from_numpy(read_array(path(entry["labels"])).astype(np.int64))
    return x, y


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def resolve_pad(pad, hw, k, stride, dil):
    """[top, bottom, left, right], as docs/config.md's Padding."""
    if pad is None or pad == "valid":
        return [0, 0, 0, 0]
    if pad == "same":
        out = []
        for n, kk, s, d in zip(hw, k, stride, dil):
            total = max((-(-n // s) - 1) * s + (kk - 1) * d + 1 - n, 0)
            out += [total // 2, total - total // 2]
        return out
    if isinstance(pad, int):
        return [pad] * 4
    return [pad[0], pad[0], pad[1], pad[1]] if len(pad) == 2 else list(pad)


class Unit(nn.Module):
    """One qatc layer: [pad] op [bn] [act], or an add (children named for fuse_modules)."""

    def __init__(self, kind, op=None, bn=None, act=None, pad=None):
        super().__init__()
        self.kind = kind
        if pad is not None:
            self.pad = pad
        if op is not None:
            self.op = op
        if bn is not None:
            self.bn = bn
        if act is not None:
            self.act = act

    def fuse_list(self):
        """The children fuse_modules can fuse: op + bn + relu, op + bn or op + relu."""
        if self.kind not in ("conv2d", "dwconv2d", "linear"):
            return None
        names = ["op"] + (["bn"] if hasattr(self, "bn") else [])
        relu = isinstance(getattr(self, "act", None), nn.ReLU)
        if relu and not (self.kind == "linear" and len(names) == 2):  # no LinearBnReLU
            names.append("act")
        return names if len(names) > 1 else None

    def forward(self, x, other=None):
        if self.kind == "add":
            relu = isinstance(getattr(self, "act", None), nn.ReLU)
            x = self.op.add_relu(x, other) if relu else self.op.add(x, other)
            return self.act(x) if hasattr(self, "act") and not relu else x
        if self.kind in ("linear", "flatten") and x.dim() > 2:
            x = torch.flatten(x, 1)
        for name in ("pad", "op", "bn", "act"):
            if hasattr(self, name):
                x = getattr(self, name)(x)
        return x


def make_unit(kind, p, chw):
    """(Unit, output (C, H, W)) of one layer reading a tensor of shape chw."""
    c, h, w = chw
    act = {None: None, "none": None, "relu": nn.ReLU(), "relu6": nn.ReLU6()}[p.get("act")]
    if kind in ("conv2d", "dwconv2d"):
        k, s, d = pair(p["kernel"]), pair(p.get("stride", 1)), pair(p.get("dilation", 1))
        pads = resolve_pad(p.get("pad"), (h, w), k, s, d)
        even = pads[0] == pads[1] and pads[2] == pads[3]
        out = p["out"] if kind == "conv2d" else c * p.get("multiplier", 1)
        op = nn.Conv2d(c, out, k, s, (pads[0], pads[2]) if even else 0, d,
                       groups=1 if kind == "conv2d" else c, bias=not p.get("bn", False))
        pad = None if even else nn.ZeroPad2d((pads[2], pads[3], pads[0], pads[1]))
        bn = nn.BatchNorm2d(out) if p.get("bn") else None
        oh = (h + pads[0] + pads[1] - (k[0] - 1) * d[0] - 1) // s[0] + 1
        ow = (w + pads[2] + pads[3] - (k[1] - 1) * d[1] - 1) // s[1] + 1
        return Unit(kind, op, bn, act, pad), (out, oh, ow)
    if kind == "linear":
        bn = nn.BatchNorm1d(p["out"]) if p.get("bn") else None
        return Unit(kind, nn.Linear(c * h * w, p["out"], bias=not p.get("bn", False)), bn, act), \
            (p["out"], 1, 1)
    if kind in ("maxpool", "avgpool"):
        if p.get("global"):
            return Unit(kind, nn.AdaptiveAvgPool2d(1)), (c, 1, 1)
        k = pair(p["kernel"])
        s = pair(p.get("stride", p["kernel"]))
        pads = resolve_pad(p.get("pad"), (h, w), k, s, (1, 1))
        if pads[0] != pads[1] or pads[2] != pads[3]:
            raise SystemExit(f"{kind}: uneven pads {pads} are not built here")
        op = nn.MaxPool2d(k, s, (pads[0], pads[2])) if kind == "maxpool" else \
            nn.AvgPool2d(k, s, (pads[0], pads[2]), count_include_pad=False)
        return Unit(kind, op), (c, (h + 2 * pads[0] - k[0]) // s[0] + 1,
                                (w + 2 * pads[2] - k[1]) // s[1] + 1)
    if kind == "add":
        return Unit(kind, nn.quantized.FloatFunctional(), act=act), chw
    if kind == "flatten":
        return Unit(kind), (c * h * w, 1, 1)
    if kind == "softmax":  # the loss (cross entropy) and argmax do without it
        return Unit(kind), chw
    raise SystemExit(f"layer type '{kind}' is not built here")


class Net(nn.Module):
    """The config's model.layers, layer for layer."""

    def __init__(self, model):
        super().__init__()
        self.quant = tq.QuantStub()
        h, w, c = model["input"]["shape"]
        shapes = {"input": (c, h, w)}
        units, self.wiring = [], []
        prev = (c, h, w)
        for i, layer in enumerate(model["layers"]):
            (kind, p), = layer.items()
            p = p or {}
            src = p.get("from")
            unit, prev = make_unit(kind, p, shapes[src] if src else prev)
            units.append(unit)
            self.wiring.append((src, p.get("with"), p.get("name")))
            if p.get("name"):
                shapes[p["name"]] = prev
        self.units = nn.ModuleList(units)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        named = {"input": x}
        for unit, (src, with_, name) in zip(self.units, self.wiring):
            x = unit(named[src] if src else x, named[with_] if with_ else None)
            if name:
                named[name] = x
        return self.dequant(x)

    def fuse_lists(self):
        return [[f"units.{i}.{n}" for n in u.fuse_list()]
                for i, u in enumerate(self.units) if u.fuse_list()]

    def fuse(self):
        tq.fuse_modules_qat(self, self.fuse_lists(), inplace=True)


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def run_epochs(model, opt, sched, x, y, epochs, iters, batch, gen, on_epoch_end=None, warmup=0):
    """Trains (y None: an autoencoder, mse against the input); returns images/s over all
    epochs, the first `warmup` batches of the first epoch trained but not timed."""
    images, seconds = 0, 0.0
    loss_fn = nn.CrossEntropyLoss() if y is not None else nn.MSELoss()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        nb = len(x) // batch if iters == 0 else min(iters, len(x) // batch)
        first = min(warmup, nb) if epoch == 0 else 0
        t0 = time.perf_counter()
        for b in range(nb):
            if b == first:
                t0 = time.perf_counter()
            idx = perm[b * batch:(b + 1) * batch]
            xb = x[idx]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, y[idx]) if y is not None else loss_fn(out, xb.flatten(1))
            loss.backward()
            opt.step()
            sched.step()
        seconds += time.perf_counter() - t0
        images += (nb - first) * batch
        if on_epoch_end:
            on_epoch_end(epoch)
    return images / seconds if seconds > 0 else 0.0


def optimizer(params, spec):
    """The config's optimizer mapping as a torch optimizer."""
    if spec.get("type", "sgd") == "adam":
        return torch.optim.Adam(params, lr=spec["lr"], weight_decay=spec.get("weight_decay", 0))
    return torch.optim.SGD(params, lr=spec["lr"], momentum=spec.get("momentum", 0),
                           weight_decay=spec.get("weight_decay", 0))


def weight_bits_qconfig(qconfig, bits, qat):
    """qconfig with its weights at `bits` (8: unchanged; 4: [-7, 7], per-channel symmetric)."""
    if bits == 8:
        return qconfig
    kw = dict(dtype=torch.qint8, qscheme=torch.per_channel_symmetric, quant_min=-7, quant_max=7)
    if qat:
        w = tq.FakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver, **kw)
    else:
        w = tq.PerChannelMinMaxObserver.with_args(**kw)
    return tq.QConfig(activation=qconfig.activation, weight=w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=os.path.join(ROOT, "examples/fmnist/fmnist_cnn.yaml"),
                    help="the qatc config whose model, data, optimizers and batch to use")
    ap.add_argument("--float-epochs", type=int, default=6)
    ap.add_argument("--qat-epochs", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=0, help="batches per epoch, 0 = all")
    ap.add_argument("--batch", type=int, default=0, help="0 = the config's")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=9527)
    ap.add_argument("--latency-runs", type=int, default=300)
    ap.add_argument("--latency-threads", type=int, default=1)
    ap.add_argument("--eval-images", type=int, default=0, help="first N eval inputs, 0 = all")
    ap.add_argument("--calibration-batches", type=int, default=100, help="PTQ, as qatc's default")
    ap.add_argument("--weight-bits", type=int, default=8, choices=(8, 4),
                    help="4: weights in [-7, 7] (W4A8), as quantization.weight.bits: 4")
    ap.add_argument("--speed-only", action="store_true",
                    help="training images/s only: no PTQ, accuracy or latency")
    ap.add_argument("--warmup", type=int, default=0, help="untimed first batches of each phase")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    with open(a.config) as f:
        cfg = yaml.safe_load(f)
    cfg_dir = os.path.dirname(os.path.abspath(a.config))
    shape = cfg["model"]["input"]["shape"]
    xtr, ytr = load_set(cfg_dir, cfg["data"]["train"], shape)
    if cfg["model"].get("loss") == "mse":
        ytr = None
    fbatch = a.batch or cfg["pretrain"]["batch"]
    qtrain = cfg["quantization"]["train"]
    qbatch = a.batch or qtrain.get("batch", fbatch)

    def batches(batch):
        return len(xtr) // batch if a.iterations == 0 else min(a.iterations, len(xtr) // batch)

    model = Net(cfg["model"])
    opt = optimizer(model.parameters(), cfg["pretrain"]["optimizer"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, a.float_epochs * batches(fbatch)))
    ips = run_epochs(model, opt, sched, xtr, ytr, a.float_epochs, a.iterations, fbatch, gen,
                     warmup=a.warmup)
    print(f"float_images_per_s {ips:.1f}", flush=True)

    engine = "onednn" if "onednn" in torch.backends.quantized.supported_engines else "fbgemm"
    torch.backends.quantized.engine = engine
    if not a.speed_only:
        xte, yte = load_set(cfg_dir, cfg["data"]["eval"], shape)
        if a.eval_images > 0:
            xte, yte = xte[:a.eval_images], yte[:a.eval_images]
        print(f"float_top1 {accuracy(model, xte, yte):.4f}")

        # Post-training static quantization of the same float model, for comparison.
        ptq = Net(cfg["model"])
        ptq.load_state_dict(model.state_dict())
        ptq.eval()
        tq.fuse_modules(ptq, ptq.fuse_lists(), inplace=True)
        ptq.qconfig = weight_bits_qconfig(tq.get_default_qconfig(engine), a.weight_bits, False)
        tq.prepare(ptq, inplace=True)
        with torch.no_grad():
            for b in range(a.calibration_batches):
                ptq(xtr[b * fbatch:(b + 1) * fbatch])
        tq.convert(ptq, inplace=True)
        print(f"ptq_int8_top1 {accuracy(ptq, xte, yte):.4f}", flush=True)

    model.train()
    model.fuse()
    model.qconfig = weight_bits_qconfig(tq.get_default_qat_qconfig(engine), a.weight_bits, True)
    tq.prepare_qat(model, inplace=True)
    opt = optimizer(model.parameters(), qtrain["optimizer"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, a.qat_epochs * batches(qbatch)))

    def schedule(epoch):
        if epoch > 2:
            model.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
        if epoch > 3:
            model.apply(tq.disable_observer)

    ips = run_epochs(model, opt, sched, xtr, ytr, a.qat_epochs, a.iterations, qbatch, gen,
                     schedule, warmup=a.warmup)
    print(f"qat_images_per_s {ips:.1f}", flush=True)
    if a.speed_only:
        return
    model.eval()
    qmodel = tq.convert(model, inplace=False)
    print(f"qat_int8_top1 {accuracy(qmodel, xte, yte):.4f}", flush=True)

    # Batch-1 int8 inference latency on each available engine: the median of
    # single calls after 20 untimed ones, on --latency-threads threads. With
    # two threads on a shared machine, qnnpack's spinning thread pool makes
    # the mean ten times the median; one thread is also what qatc's C uses.
    # --latency-runs 0 skips this.
    if a.latency_runs <= 0:
        return
    torch.set_num_threads(a.latency_threads)
    x1 = xte[:1]
    for eng in ("qnnpack", "onednn", "fbgemm"):
        if eng not in torch.backends.quantized.supported_engines:
            continue
        torch.backends.quantized.engine = eng
        q = tq.convert(model, inplace=False)
        times = []
        with torch.no_grad():
            for _ in range(20):
                q(x1)
            for _ in range(a.latency_runs):
                t0 = time.perf_counter()
                q(x1)
                times.append(time.perf_counter() - t0)
        times.sort()
        print(f"int8_batch1_us_{eng} {times[len(times) // 2] * 1e6:.1f}")


if __name__ == "__main__":
    main()
