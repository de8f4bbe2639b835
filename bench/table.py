#!/usr/bin/python3
"""Renders bench/run.sh's raw figures (OUT/raw.txt, `key value` lines) as the
markdown table of `make bench` on stdout.

    bench/table.py out/bench/raw.txt > out/bench/table.md

Keys (run.sh writes them): meta.*; qatc.I.* and torch.I.* per training run I
(images/s, top-1 in percent); host.I.us_per_image (the generated C, after
PyTorch run I); qatc.eval_int8_top1; model.* (from `qatc report`);
mcu.OPT.CORE.* (bench/target/measure.sh's columns; CORE m0, m3, m4 and, when
present, rv32 for rv32imc); host.instr (callgrind).
The CMSIS-NN column holds the anchor figures of issue 4, measured on the
same machine for the same reference CNN (CMSIS-NN 99f736a, arm-none-eabi-gcc
12.2, -O2). Timings appear only as ratios or images/s.
"""
import math
import sys

# CMSIS-NN anchors: instructions per inference, per MAC, kernel code bytes
CMSIS = {
    "m0": {"instr": 15.7e6, "per_mac": 8.2, "code_kb": 10.0},
    "m3": {"instr": 6.76e6, "per_mac": 3.52, "code_kb": 8.8},
    "m4": {"instr": 5.02e6, "per_mac": 2.61, "code_kb": 12.7},
}
CMSIS_ARENA = 15680  # activation RAM, bytes
# CMSIS-NN's int4 kernels (4-bit weights) on the same network, -O2: instructions per inference
CMSIS_W4 = {"m0": 18.36e6, "m3": 7.18e6, "m4": 8.48e6}


def read_raw(path):
    raw = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            if key:
                raw[key] = value
    return raw

SPEED_MODELS = {"kws": "KWS DS-CNN", "ic": "IC ResNet-8", "vww": "VWW MobileNetV1 0.25",
                "ad": "AD autoencoder"}


def speed_table(r, w, ahead, behind):
    """Section s of run.sh: training images/s of the MLPerf Tiny models."""
    models = [m for m in r.get("meta.speed_models", "").split(",") if m]
    if not models:
        return
    pairs = int(r["meta.pairs"])

    def runs(m, who, key):
        return [float(r[f"speed.{m}.{who}.{i}.{key}"]) for i in range(1, pairs + 1)]

    def cell(xs):
        m = sum(xs) / len(xs)
        return f"{m:,.0f}" if len(xs) == 1 else f"{m:,.0f} ({', '.join(f'{x:,.0f}' for x in xs)})"

    w(f"**Training speed**, the MLPerf Tiny models (examples/mlperf-tiny): `qatc train` and "
      f"PyTorch eager (bench/pytorch_qat.py --speed-only: the same network built layer for "
      f"layer from the same config, same batch and optimizer), {r['meta.threads']} threads "
      f"each, 1 float + 1 QAT epoch of a fixed number of batches, {pairs} run"
      f"{'s' if pairs > 1 else ''} of each alternating per model (PyTorch trains "
      f"{r['meta.speed_warmup']} batches untimed first). Images/s of the training steps "
      f"(mean, then each run); the ratio is of the means, then of each pair.")
    w("")
    w("| model (batch × batches) | float: qatc | PyTorch | qatc / PyTorch | "
      "QAT: qatc | PyTorch | qatc / PyTorch |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for m in models:
        cells = []
        for phase in ("float", "qat"):
            q, t = runs(m, "qatc", f"{phase}_images_per_s"), runs(m, "torch", f"{phase}_images_per_s")
            ratio = (sum(q) / len(q)) / (sum(t) / len(t))
            each = "" if pairs == 1 else " (" + ", ".join(f"{a / b:.2f}" for a, b in zip(q, t)) + ")"
            cells += [cell(q), cell(t), f"{ratio:.2f}×{each}"]
            (ahead if ratio > 0.98 else behind).append(
                f"{SPEED_MODELS[m]} {phase} training speed: {ratio:.2f}× PyTorch's images/s")
        w(f"| {SPEED_MODELS[m]} ({r[f'speed.{m}.batch']} × {r[f'speed.{m}.iters']}) | "
          + " | ".join(cells) + " |")
    w("")

PRECISION_RUNS = {"cnn-w8": "reference CNN, W8", "cnn-w4": "reference CNN, W4A8",
                  "mobilenet-w8": "examples/mobilenet, W8", "mobilenet-w4": "examples/mobilenet, W4A8"}


def precision_table(r, w):
    """Section p of run.sh: top-1 of qatc and PyTorch at 8- and 4-bit weights."""
    runs = [x for x in r.get("meta.precision_runs", "").split(",") if x]
    if not runs:
        return
    w("**Precision**: float, PTQ and QAT int8 top-1 on all 10,000 Fashion-MNIST test images, "
      "6 float + 8 QAT epochs of "
      + ("the whole training set" if r["meta.precision_iters"] == "0" else f"{r['meta.precision_iters']} batches")
      + ", seed 9527, batch 64 (`make "
      "bench-precision`). qatc: `qatc train` (PTQ: 100 calibration batches; QAT: the last "
      "epoch's int8 model, then the model it keeps, the best epoch on the test set, as it has "
      "no validation set). PyTorch: bench/pytorch_qat.py (eager mode, onednn qconfig; W4A8: "
      "weights in [−7, 7] per channel, --weight-bits 4), the last epoch's converted model. "
      "±0.3 points is one binomial σ at 90%.")
    w("")
    w("| model | float: qatc | PyTorch | PTQ int8: qatc | PyTorch | QAT int8: qatc last (kept) "
      "| PyTorch | QAT: qatc − PyTorch |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for x in runs:
        def v(who, key):
            return float(r[f"prec.{x}.{who}.{key}"])
        w(f"| {PRECISION_RUNS[x]} | {v('qatc', 'float_top1'):.2f}% | {v('torch', 'float_top1'):.2f}% | "
          f"{v('qatc', 'ptq_int8_top1'):.2f}% | {v('torch', 'ptq_int8_top1'):.2f}% | "
          f"{v('qatc', 'qat_int8_top1'):.2f}% ({v('qatc', 'kept_int8_top1'):.2f}%) | "
          f"{v('torch', 'qat_int8_top1'):.2f}% | "
          f"{v('qatc', 'qat_int8_top1') - v('torch', 'qat_int8_top1'):+.2f} points |")
    w("")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: table.py RAW.txt")
    r = read_raw(sys.argv[1])
    pairs = int(r["meta.pairs"])

    def num(key):
        return float(r[key])

    def runs(who, key):
        return [num(f"{who}.{i}.{key}") for i in range(1, pairs + 1)]

    def mean(xs):
        return sum(xs) / len(xs)

    def per_run(xs, fmt="{:.0f}", unit=""):
        """The mean, then each run's value unless they are all the same."""
        m = fmt.format(mean(xs)) + unit
        if len(set(xs)) == 1:
            return m
        return f"{m} ({', '.join(fmt.format(x) for x in xs)})"

    def pair_ratios(qs, ts):
        return "" if len(qs) == 1 else "; pairs " + ", ".join(f"{q / t:.2f}" for q, t in zip(qs, ts))

    def faster(ratio, pairs_note=""):
        """ratio = qatc speed / other speed."""
        word = "about even" if 0.98 < ratio < 1.02 else "faster" if ratio > 1 else "slower"
        return f"{ratio:.2f}× (qatc {word}{pairs_note})"

    def mega(x):
        return f"{x / 1e6:.2f} M"

    def kib(b):
        return f"{b / 1024:.1f} KB"

    out = []
    behind, ahead = [], []
    w = out.append
    neval = int(r["meta.eval_images"])
    sigma = 100 * math.sqrt(0.9 * 0.1 / neval)
    iters = int(r["meta.iters"])
    per_epoch = "all batches" if iters == 0 else f"{iters} batches"
    w(f"Measured by `make bench` on {r['meta.date']}: {r['meta.machine']}, {r['meta.cpu']}, "
      f"{r['meta.cores']} cores, load average {r['meta.load_start']} at the start "
      f"(other work shared the machine; ratios come from runs taken side by side), "
      f"qatc {r['meta.commit']}, PyTorch {r['meta.torch']}, arm-none-eabi-gcc {r['meta.arm_gcc']}"
      + (f", riscv64-unknown-elf-gcc {r['meta.riscv_gcc']}" if "meta.riscv_gcc" in r else "")
      + ".")
    w("")
    speed_only = r.get("meta.speed_only", "0") == "1"
    if not speed_only:
        w(f"**Training**: the reference CNN (examples/fmnist/fmnist_cnn.yaml) on Fashion-MNIST, "
          f"batch {r['meta.batch']}, {r['meta.float_epochs']} float + {r['meta.qat_epochs']} QAT "
          f"epochs of {per_epoch}, {r['meta.threads']} threads each (GOMP_SPINCOUNT="
          f"{r['meta.gomp_spincount']} for both, as qatc sets for itself); PyTorch eager mode "
          f"(bench/pytorch_qat.py, onednn qconfig: 8-bit activations, per-channel weights). "
          f"{pairs} run{'s' if pairs > 1 else ''} of each, alternating; images/s of the training "
          f"steps (mean, then each run). Top-1 on the first {neval} test images "
          f"(±{sigma:.1f} points is one binomial σ at 90%).")
        w("")
        w("| | qatc | PyTorch | qatc / PyTorch |")
        w("|---|---:|---:|---:|")
        for phase, label in (("float", "float training, images/s"), ("qat", "QAT training, images/s")):
            q, t = runs("qatc", f"{phase}_images_per_s"), runs("torch", f"{phase}_images_per_s")
            ratio = mean(q) / mean(t)
            w(f"| {label} | {per_run(q)} | {per_run(t)} | {faster(ratio, pair_ratios(q, t))} |")
            (ahead if ratio > 0.98 else behind).append(
                f"{label.split(',')[0]} speed: {ratio:.2f}× PyTorch's images/s")
        for key, label in (("float_top1", "float top-1"), ("ptq_int8_top1", "PTQ int8 top-1"),
                           ("qat_int8_top1", "QAT int8 top-1, last epoch")):
            q, t = runs("qatc", key), runs("torch", key)
            d = mean(q) - mean(t)
            w(f"| {label} | {per_run(q, '{:.2f}', '%')} | {per_run(t, '{:.2f}', '%')} | {d:+.2f} points |")
            if abs(d) >= 2 * sigma:
                (ahead if d > 0 else behind).append(f"{label}: {d:+.2f} points against PyTorch")
            else:
                ahead.append(f"{label}: {d:+.2f} points against PyTorch, within 2σ")
        kept = runs("qatc", "kept_int8_top1")
        w(f"| QAT int8 top-1 of the model qatc keeps (best epoch on these images; "
          f"`qatc eval` of run 1: {num('qatc.eval_int8_top1'):.2f}%) | {per_run(kept, '{:.2f}', '%')} | | |")
        w("")

    speed_table(r, w, ahead, behind)
    precision_table(r, w)

    if not speed_only:
        macs = num("model.macs")
        rv32 = "mcu.O2.rv32.instr" in r
        w(f"**Inference**: the generated C of run 1's model, {macs:,.0f} MACs. Instructions per "
          f"inference counted exactly under qemu (bench/qemu_icount), firmware built with "
          f"arm-none-eabi-gcc -Os (the default) and -O2 (as the CMSIS-NN anchors)"
          + (", rv32imc (no FPU) with riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32 on "
             "qemu-system-riscv32 -M virt" if rv32 else "")
          + f"; host instructions by callgrind ({r['meta.host_cflags']}).")
        w("")
        w("| | qatc -Os | qatc -O2 | CMSIS-NN -O2 | qatc -O2 / CMSIS-NN |")
        w("|---|---:|---:|---:|---:|")
        for core in ("m0", "m3", "m4"):
            os_, o2, ref = (f"mcu.Os.{core}.", f"mcu.O2.{core}.", CMSIS[core])
            ratio = num(o2 + "instr") / ref["instr"]
            best = min(num(os_ + "instr"), num(o2 + "instr"))
            w(f"| Cortex-{core.upper()} instructions / inference | {mega(num(os_ + 'instr'))} | "
              f"{mega(num(o2 + 'instr'))} | {mega(ref['instr'])} | {ratio:.2f}× |")
            w(f"| Cortex-{core.upper()} instructions / MAC | {num(os_ + 'per_mac'):.2f} | "
              f"{num(o2 + 'per_mac'):.2f} | {ref['per_mac']:.2f} | |")
            (behind if best > ref["instr"] else ahead).append(
                f"Cortex-{core.upper()}: {best / ref['instr']:.2f}× CMSIS-NN's instructions per "
                f"inference ({mega(best)} at the better of -Os/-O2 against {mega(ref['instr'])})")
        for core in ("m0", "m3", "m4"):
            key = f"mcu.w4.O2.{core}."
            if key + "instr" not in r:
                continue
            w4, w8 = num(key + "instr"), num(f"mcu.O2.{core}.instr")
            w(f"| Cortex-{core.upper()} instructions / inference, 4-bit weights (W4 / W8: "
              f"{w4 / w8:.2f}×; weights {num(key + 'weights'):,.0f} bytes, W8 "
              f"{num(f'mcu.O2.{core}.weights'):,.0f}) | | {mega(w4)} | {mega(CMSIS_W4[core])} (int4) | "
              f"{w4 / CMSIS_W4[core]:.2f}× |")
        if rv32:
            os_, o2 = "mcu.Os.rv32.", "mcu.O2.rv32."
            w(f"| rv32imc instructions / inference | {mega(num(os_ + 'instr'))} | "
              f"{mega(num(o2 + 'instr'))} | | |")
            w(f"| rv32imc instructions / MAC | {num(os_ + 'per_mac'):.2f} | "
              f"{num(o2 + 'per_mac'):.2f} | | |")
        if any(k.endswith(".on_mps2") for k in r):
            w("| (Cortex-M0: the image did not fit the micro:bit's 16 KB of RAM; M0 code run on "
              "mps2-an385) | | | | |")
        w(f"| host ({r['meta.machine']}) instructions / inference | {mega(num('host.instr'))} | | | |")
        us = runs("host", "us_per_image")
        for eng in ("qnnpack", "onednn"):
            key = f"int8_batch1_us_{eng}"
            if f"torch.1.{key}" not in r:
                continue
            t = runs("torch", key)
            ratio = mean(t) / mean(us)
            w(f"| host time per image, PyTorch int8 batch-1 {eng} ÷ qatc "
              f"(one thread each, median call) | {faster(ratio, pair_ratios(t, us))} | | | |")
            if ratio > 0.98:
                ahead.append(f"host latency: PyTorch {eng} int8 batch-1 takes {ratio:.2f}× "
                             f"qatc's time per image")
            else:
                behind.append(f"host latency: qatc takes {1 / ratio:.2f}× the time per image of "
                              f"PyTorch {eng} int8 batch-1")
        w("")

        w("**Footprint** of the -Os firmware images (bench/target: tests/target's startup and "
          "linker scripts, sample input, semihosting output); CMSIS-NN's kernel code at -O2.")
        w("")
        w("| bytes | Cortex-M0 qatc | Cortex-M0 CMSIS-NN | Cortex-M4 qatc | Cortex-M4 CMSIS-NN |"
          + (" rv32imc qatc |" if rv32 else ""))
        w("|---|---:|---:|---:|---:|" + ("---:|" if rv32 else ""))

        def row(label, key, ref=("", ""), fmt=lambda x: f"{x:,.0f}", opt="Os"):
            cells = [fmt(num(f"mcu.{opt}.{c}.{key}")) for c in ("m0", "m4")]
            w(f"| {label} | {cells[0]} | {ref[0]} | {cells[1]} | {ref[1]} |"
              + (f" {fmt(num(f'mcu.{opt}.rv32.{key}'))} |" if rv32 else ""))

        row("flash: model code (generated kernels)", "code",
            (f"{CMSIS['m0']['code_kb']} KB kernels", f"{CMSIS['m4']['code_kb']} KB kernels"))
        row("flash: model code at -O2", "code", opt="O2")
        row("flash: libgcc/libc code", "lib")
        row("flash: weights, biases, multipliers", "weights")
        row("flash: whole image (with startup, main, sample)", "flash")
        row("RAM: arena (activations)", "arena", (f"{CMSIS_ARENA:,}", f"{CMSIS_ARENA:,}"))
        lb = num("model.arena_lower_bound")
        w(f"| RAM: lower bound of the arena's schedule (most bytes live at one step) | {lb:,.0f} | | "
          f"{lb:,.0f} | |" + (f" {lb:,.0f} |" if rv32 else ""))
        row("RAM: other static data", "static")
        row("RAM: stack high-water mark", "stack")
        w("")
        for core in ("m0", "m4"):
            code = num(f"mcu.Os.{core}.code") + num(f"mcu.Os.{core}.lib")
            ref = CMSIS[core]["code_kb"] * 1024
            (ahead if code <= ref else behind).append(
                f"Cortex-{core.upper()} code: {kib(code)} (kernels + libgcc/libc, -Os) against "
                f"CMSIS-NN's {CMSIS[core]['code_kb']} KB")
        arena = num("model.arena")
        (ahead if arena <= CMSIS_ARENA else behind).append(
            f"arena: {arena:,.0f} bytes (lower bound {lb:,.0f}) against CMSIS-NN's {CMSIS_ARENA:,}")

    for title, items in () if not (ahead or behind) else \
            (("Where qatc is behind", behind), ("Where it is ahead or even", ahead)):
        w(f"**{title}** in this run:" if items else f"**{title}**: nowhere in this run.")
        w("")
        for item in items:
            w(f"- {item}")
        w("")
    print("\n".join(out).rstrip("\n"))


if __name__ == "__main__":
    main()
