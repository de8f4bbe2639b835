#!/usr/bin/python3
"""PyTorch's depthwise training passes for bench/dwconv_time.c's shapes (its header says
how): forward, input gradient, weight gradient (with the bias gradient), the median of
RUNS calls after 3 untimed ones, in ms. Usage: bench/dwconv_time.py [THREADS [RUNS]]"""
import sys
import time

import torch

SHAPES = [(64, 25, 5, 64), (32, 48, 48, 8), (32, 24, 24, 32), (32, 12, 12, 64)]


def median_ms(fn, runs):
    t = []
    for r in range(-3, runs):
        t0 = time.perf_counter()
        fn()
        if r >= 0:
            t.append(time.perf_counter() - t0)
    return 1e3 * sorted(t)[runs // 2]


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    torch.set_num_threads(threads)
    print(f"threads {threads}, median of {runs} calls, ms")
    print(f"{'B,H,W,C':16s} {'forward':>8s} {'d_input':>8s} {'d_weight':>8s}")
    for b, h, w, c in SHAPES:
        conv = torch.nn.Conv2d(c, c, 3, padding=1, groups=c)
        x = torch.randn(b, c, h, w)
        dy = torch.randn(b, c, h, w)
        xg = x.clone().requires_grad_()
        fwd = median_ms(lambda: conv(x), runs)
        conv.requires_grad_(False)
        din = median_ms(lambda: torch.autograd.grad(conv(xg), xg, dy), runs)
        conv.requires_grad_(True)
        dwt = median_ms(lambda: torch.autograd.grad(conv(x), [conv.weight, conv.bias], dy), runs) - fwd
        print(f"{f'{b},{h},{w},{c}':16s} {fwd:8.3f} {din - fwd:8.3f} {dwt:8.3f}")


if __name__ == "__main__":
    main()
