#!/bin/sh
# The bench's table and README tools, without running the bench:
#   - bench/table.py renders a raw file of known figures: ratios, per-run
#     means, the CMSIS-NN column and the "behind"/"ahead" lists follow them;
#   - bench/readme_numbers.sh appends a Numbers section to a README without
#     markers, replaces only what is between the markers on a second run
#     (the rest byte for byte), and on bad input (no table, a repeated
#     marker) fails with one line and leaves the README as it was.
# Environment (make check): BUILD (scratch).
set -eu
BUILD=${BUILD:-$PWD/build}
src=$PWD
work=$BUILD/check_bench_numbers
rm -rf "$work"
mkdir -p "$work"
fail() { echo "check_bench_numbers: $*" >&2; exit 1; }

# --- table.py -----------------------------------------------------------------
if [ -x /usr/bin/python3 ]; then
    raw=$work/raw.txt
    {
        echo "meta.date 2025-01-02"; echo "meta.machine x86_64"; echo "meta.cpu Test CPU"
        echo "meta.cores 2"; echo "meta.threads 2"; echo "meta.iters 100"
        echo "meta.float_epochs 6"; echo "meta.qat_epochs 8"; echo "meta.eval_images 2000"
        echo "meta.pairs 2"; echo "meta.host_cflags -O2"; echo "meta.load_start 1.00"
        echo "meta.gomp_spincount 1000"
        echo "meta.commit abc1234"; echo "meta.torch 1.13"; echo "meta.arm_gcc 12.2.1"
        echo "meta.batch 64"
        for i in 1 2; do
            echo "qatc.$i.float_images_per_s $((900 + 200 * i))"   # 1100, 1300: mean 1200
            echo "qatc.$i.qat_images_per_s 500"
            echo "qatc.$i.float_top1 90.00"; echo "qatc.$i.ptq_int8_top1 89.00"
            echo "qatc.$i.qat_int8_top1 85.00"; echo "qatc.$i.kept_int8_top1 89.50"
            echo "torch.$i.float_images_per_s 600"; echo "torch.$i.qat_images_per_s 1000"
            echo "torch.$i.float_top1 90.10"; echo "torch.$i.ptq_int8_top1 89.00"
            echo "torch.$i.qat_int8_top1 89.80"
            echo "torch.$i.int8_batch1_us_onednn 400"; echo "host.$i.us_per_image 800"
        done
        echo "qatc.eval_int8_top1 89.50"; echo "model.macs 1919872"
        echo "model.arena 15680"; echo "model.arena_lower_bound 15000"
        for opt in Os O2; do
            for core in m0 m3 m4 rv32; do
                echo "mcu.$opt.$core.instr 10040000"; echo "mcu.$opt.$core.per_mac 5.23"
                echo "mcu.$opt.$core.code 1500"; echo "mcu.$opt.$core.lib 700"
                echo "mcu.$opt.$core.weights 24922"; echo "mcu.$opt.$core.flash 28000"
                echo "mcu.$opt.$core.arena 15680"; echo "mcu.$opt.$core.static 14"
                echo "mcu.$opt.$core.stack 148"
            done
        done
        echo "host.instr 7650000"
        echo "mcu.w4.O2.m4.instr 11044000"; echo "mcu.w4.O2.m4.weights 12461"
    } > "$raw"
    /usr/bin/python3 "$src/bench/table.py" "$raw" > "$work/table.md" || fail "table.py failed"
    t=$work/table.md
    grep -qF '| float training, images/s | 1200 (1100, 1300) | 600 | 2.00× (qatc faster; pairs 1.83, 2.17) |' "$t" ||
        fail "table.py: float training row wrong: $(grep 'float training' "$t")"
    grep -qF '| QAT training, images/s | 500 | 1000 | 0.50× (qatc slower; pairs 0.50, 0.50) |' "$t" ||
        fail "table.py: QAT training row wrong: $(grep 'QAT training' "$t")"
    grep -qF '| Cortex-M4 instructions / inference | 10.04 M | 10.04 M | 5.02 M | 2.00× |' "$t" ||
        fail "table.py: M4 row wrong: $(grep 'M4 instructions / inf' "$t")"
    grep -qF '| Cortex-M4 instructions / inference, 4-bit weights (W4 / W8: 1.10×; weights 12,461 bytes, W8 24,922) | | 11.04 M | 8.48 M (int4) | 1.30× |' "$t" ||
        fail "table.py: M4 W4 row wrong: $(grep '4-bit weights' "$t")"
    grep -q 'Cortex-M3 instructions / inference, 4-bit' "$t" && fail "table.py: a W4 row without figures"
    grep -qF '| rv32imc instructions / MAC | 5.23 | 5.23 | | |' "$t" ||
        fail "table.py: rv32imc row wrong: $(grep 'rv32imc instructions / MAC' "$t")"
    grep -qF '| flash: model code at -O2 | 1,500 |  | 1,500 |  | 1,500 |' "$t" ||
        fail "table.py: rv32imc footprint column wrong: $(grep 'model code at -O2' "$t")"
    grep -qF 'onednn ÷ qatc (one thread each, median call) | 0.50× (qatc slower; pairs 0.50, 0.50)' "$t" ||
        fail "table.py: host time ratio wrong: $(grep 'host time' "$t")"
    grep -qF '| RAM: lower bound of the arena' "$t" && grep -q '| 15,000 | | 15,000 | | 15,000 |' "$t" ||
        fail "table.py: arena lower bound row wrong"
    behind=$(sed -n '/^\*\*Where qatc is behind/,/^\*\*Where it is ahead/p' "$t")
    for want in 'QAT training speed: 0.50×' 'QAT int8 top-1, last epoch: -4.80 points' \
                'Cortex-M4: 2.00×' 'host latency: qatc takes 2.00× the time per image of PyTorch onednn'; do
        case $behind in *"$want"*) ;; *) fail "table.py: '$want' missing from: $behind" ;; esac
    done
    case $behind in *'float training'* | *'PTQ int8'* | *'Cortex-M0: '*) fail "table.py: wrongly behind: $behind" ;; esac
    sed -n '/^\*\*Where it is ahead/,$p' "$t" | grep -qx -- '- float top-1: -0.10 points against PyTorch, within 2σ' ||
        fail "table.py: a difference within noise is not reported as such"
    if /usr/bin/python3 "$src/bench/table.py" /dev/null > /dev/null 2>&1; then
        fail "table.py: an empty raw file was accepted"
    fi
else
    echo "check_bench_numbers: no /usr/bin/python3: table.py not checked"
fi

# --- readme_numbers.sh ----------------------------------------------------------
cd "$work"
printf '# Project\n\nSome text.\n' > README.md
cp README.md orig.md
printf 'first table\n| a | b |' > t1.md          # no final newline
sh "$src/bench/readme_numbers.sh" t1.md README.md 2> /dev/null || fail "readme_numbers.sh: first splice failed"
head -n 3 README.md | cmp -s - orig.md || fail "readme_numbers.sh: the README's text changed"
grep -qx '## Numbers' README.md || fail "readme_numbers.sh: no Numbers heading"
sed -n '/^<!-- numbers:begin -->$/,/^<!-- numbers:end -->$/p' README.md > got.md
printf '<!-- numbers:begin -->\nfirst table\n| a | b |\n<!-- numbers:end -->\n' | cmp -s - got.md ||
    fail "readme_numbers.sh: section wrong: $(cat got.md)"
printf 'after the section\n' >> README.md
cp README.md before.md
printf 'second\n' > t2.md
sh "$src/bench/readme_numbers.sh" t2.md README.md 2> /dev/null || fail "readme_numbers.sh: second splice failed"
[ "$(grep -c '^## Numbers$' README.md)" -eq 1 ] || fail "readme_numbers.sh: the section was added twice"
sed 's/^second$/first table\n| a | b |/' README.md | cmp -s - before.md ||
    fail "readme_numbers.sh: more than the table changed: $(diff before.md README.md)"
cp README.md before.md
if sh "$src/bench/readme_numbers.sh" missing.md README.md 2> err.txt; then
    fail "readme_numbers.sh: a missing table was accepted"
fi
[ "$(wc -l < err.txt)" -eq 1 ] || fail "readme_numbers.sh: want one line on stderr, got: $(cat err.txt)"
echo '<!-- numbers:begin -->' >> README.md
cp README.md before.md
if sh "$src/bench/readme_numbers.sh" t2.md README.md 2> err.txt; then
    fail "readme_numbers.sh: a repeated marker was accepted"
fi
cmp -s README.md before.md || fail "readme_numbers.sh: a failed splice changed the README"
[ ! -e README.md.numbers.tmp ] || fail "readme_numbers.sh: left its temporary file"
echo "check_bench_numbers: ok"
