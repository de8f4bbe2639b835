#!/usr/bin/python3
"""PyTorch eager-mode float + QAT training of the reference CNN, for comparison.

A benchmark dependency only (Debian's python3-torch), never part of the product.
Same model, data, batch and schedule as examples/fmnist/fmnist_cnn.yaml:
conv3x3 16/32/64 with BN+ReLU, two 2x2 max pools, global average pool, linear 10;
SGD momentum 0.9, cosine lr (0.05 float, 0.005 QAT), weight decay 5e-4 in both,
batch 64; QAT with the seed's schedule (freeze BN stats after epoch 2, disable
observers after epoch 3, 0-based, at the end of epochs). The qconfig is
onednn's when this torch has it: 8-bit activations (0..255, moving-average
min/max) and per-channel symmetric weights, as qatc's config; fbgemm's would
quantize activations to 7 bits (reduce_range). Accuracy is measured on the
first --eval-images test images (0 = all 10k), the same slice qatc evaluates.
--weight-bits 4 gives W4A8: the weight observers and fake quantizers take
[-7, 7] (symmetric per channel, scale max|w| / 7, as qatc's 4-bit weights);
the converted model runs them on the int8 kernels, which is exactly qatc's
int4 arithmetic (int4 values held in int8).

Prints one line per measurement as `key value` for bench/run.sh.
"""
import argparse
import gzip
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.c1, self.b1, self.r1 = nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
        self.p1 = nn.MaxPool2d(2)
        self.c2, self.b2, self.r2 = nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU()
        self.p2 = nn.MaxPool2d(2)
        self.c3, self.b3, self.r3 = nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.p1(self.r1(self.b1(self.c1(x))))
        x = self.p2(self.r2(self.b2(self.c2(x))))
        x = self.gap(self.r3(self.b3(self.c3(x))))
        x = self.fc(torch.flatten(x, 1))
        return self.dequant(x)

    def fuse(self):
        tq.fuse_modules_qat(self, [["c1", "b1", "r1"], ["c2", "b2", "r2"], ["c3", "b3", "r3"]], inplace=True)


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def run_epochs(model, opt, sched, x, y, epochs, iters, batch, gen, on_epoch_end=None):
    """Trains; returns images/s over all epochs."""
    images, seconds = 0, 0.0
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        nb = len(x) // batch if iters == 0 else min(iters, len(x) // batch)
        t0 = time.perf_counter()
        for b in range(nb):
            idx = perm[b * batch:(b + 1) * batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            sched.step()
        seconds += time.perf_counter() - t0
        images += nb * batch
        if on_epoch_end:
            on_epoch_end(epoch)
    return images / seconds if seconds > 0 else 0.0


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
    ap.add_argument("--float-epochs", type=int, default=6)
    ap.add_argument("--qat-epochs", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=0, help="batches per epoch, 0 = all")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=9527)
    ap.add_argument("--latency-runs", type=int, default=300)
    ap.add_argument("--latency-threads", type=int, default=1)
    ap.add_argument("--eval-images", type=int, default=0, help="first N test images, 0 = all")
    ap.add_argument("--calibration-batches", type=int, default=100, help="PTQ, as qatc's default")
    ap.add_argument("--weight-bits", type=int, default=8, choices=(8, 4),
                    help="4: weights in [-7, 7] (W4A8), as quantization.weight.bits: 4")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    def load(split):
        x = read_idx(f"{DATA}/{split}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
        y = read_idx(f"{DATA}/{split}-labels-idx1-ubyte.gz").astype(np.int64)
        return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)

    xtr, ytr = load("train")
    xte, yte = load("t10k")
    if a.eval_images > 0:
        xte, yte = xte[:a.eval_images], yte[:a.eval_images]
    nb = len(xtr) // a.batch if a.iterations == 0 else min(a.iterations, len(xtr) // a.batch)

    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, a.float_epochs * nb))
    ips = run_epochs(model, opt, sched, xtr, ytr, a.float_epochs, a.iterations, a.batch, gen)
    print(f"float_images_per_s {ips:.1f}")
    print(f"float_top1 {accuracy(model, xte, yte):.4f}")

    engine = "onednn" if "onednn" in torch.backends.quantized.supported_engines else "fbgemm"
    torch.backends.quantized.engine = engine

    # Post-training static quantization of the same float model, for comparison.
    ptq = Net()
    ptq.load_state_dict(model.state_dict())
    ptq.eval()
    tq.fuse_modules(ptq, [["c1", "b1", "r1"], ["c2", "b2", "r2"], ["c3", "b3", "r3"]], inplace=True)
    ptq.qconfig = weight_bits_qconfig(tq.get_default_qconfig(engine), a.weight_bits, False)
    tq.prepare(ptq, inplace=True)
    with torch.no_grad():
        for b in range(a.calibration_batches):
            ptq(xtr[b * a.batch:(b + 1) * a.batch])
    tq.convert(ptq, inplace=True)
    print(f"ptq_int8_top1 {accuracy(ptq, xte, yte):.4f}")

    model.train()
    model.fuse()
    model.qconfig = weight_bits_qconfig(tq.get_default_qat_qconfig(engine), a.weight_bits, True)
    tq.prepare_qat(model, inplace=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.005, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, a.qat_epochs * nb))

    def schedule(epoch):
        if epoch > 2:
            model.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
        if epoch > 3:
            model.apply(tq.disable_observer)

    ips = run_epochs(model, opt, sched, xtr, ytr, a.qat_epochs, a.iterations, a.batch, gen, schedule)
    print(f"qat_images_per_s {ips:.1f}")
    model.eval()
    qmodel = tq.convert(model, inplace=False)
    print(f"qat_int8_top1 {accuracy(qmodel, xte, yte):.4f}")

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
