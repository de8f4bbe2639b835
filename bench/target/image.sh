# Sourced by measure.sh and layers.sh (after they set $here and $root): the
# arguments GENERATED_DIR NAME [SAMPLE.c] and the benchmark image of one core.
#   $dir, $name, $upper (NAME in capitals), $out ($QT_OUT, default
#   GENERATED_DIR/bench), $srcs and $sampleflag (the sample input, or none).
#   bench_image CORE ELF [CFLAG...]: builds infer_main.c with the model for
#   CORE into ELF and sets $machine (qemu's) and $label (the table's). An M0
#   model too big for the micro:bit's 16 KB of RAM is built for the MPS2
#   memory map and run by the M3 of mps2-an385 ("cortex-m0*"): the
#   instructions are the same, only unaligned accesses would not trap.
usage="usage: $(basename "$0") GENERATED_DIR NAME [SAMPLE.c]"
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "$usage" >&2; exit 2; }
dir=$(cd "$1" && pwd); name=$2; upper=$(echo "$name" | tr a-z A-Z); sample=${3:-}
out=${QT_OUT:-$dir/bench}
mkdir -p "$out"
if [ -n "$sample" ]; then
    srcs="$sample"; sampleflag="-I$root/examples/firmware"
else
    srcs=""; sampleflag="-DQT_NO_SAMPLE"
fi

bench_image() {
    core=$1; elf=$2; shift 2
    case $core in
        m0) machine=microbit; label=cortex-m0 ;;
        m3) machine=mps2-an385; label=cortex-m3 ;;
        m4) machine=mps2-an386; label=cortex-m4 ;;
        rv32) machine=virt; label=rv32imc ;;
        *) echo "$(basename "$0"): unknown core '$core'" >&2; exit 2 ;;
    esac
    machine=${QT_MACHINE:-$machine} # with QT_BOARD=mps2: QT_MACHINE=mps2-an385
    if ! bench_build "$core" "$elf" "$@" 2>"$elf.build.log"; then
        [ "$core" = m0 ] && grep -q "overflowed\|left for the stack" "$elf.build.log" ||
            { cat "$elf.build.log" >&2; exit 1; }
        echo "$(basename "$0"): $name does not fit the micro:bit's RAM;" \
            "cortex-m0* = M0 code on mps2-an385" >&2
        machine=mps2-an385
        label="cortex-m0*"
        QT_BOARD=mps2 bench_build "$core" "$elf" "$@"
    fi
}

bench_build() {
    b_core=$1; b_elf=$2; shift 2
    # shellcheck disable=SC2086
    QT_CFLAGS="-DQT_NAME=$name -DQT_UPPER=$upper -DQT_HEADER=\"$name.h\" -I$dir
               -I$root/bench/qemu_icount $sampleflag ${QT_OPT:-} $*" \
        "$root/tests/target/build.sh" "$b_core" "$b_elf" "$here/infer_main.c" \
        "$root/bench/qemu_icount/bench_marks.c" "$dir/$name.c" $srcs
}
