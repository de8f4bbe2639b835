#!/bin/sh
# Usage: footprint.sh IMAGE.map MODEL_OBJECT
# Splits the flash and static RAM of a linked image by reading its GNU ld map
# (tests/target/build.sh writes IMAGE.map next to IMAGE.elf). MODEL_OBJECT is
# the object file of the generated model (e.g. fmnist_cnn.o). Prints one
# figure per line, KEY=BYTES:
#   code_model    .text of the generated model (its kernels)
#   code_lib      .text pulled from libgcc/libc (__aeabi_lmul, __ashldi3, memcpy, ...)
#   code_other    .text of everything else (startup, main, semihosting)
#   weights       constant data of the model (.rodata, RISC-V's .srodata too:
#                 weights, biases, multipliers)
#   const_other   other constant data (sample input, strings)
#   data_init     initial values of .data (flash)
#   flash         sum of the six above
#   ram_model     .bss + .data of the model (its static arena)
#   ram_other     .bss + .data of everything else
set -eu
[ $# -eq 2 ] || { echo "usage: footprint.sh IMAGE.map MODEL_OBJECT" >&2; exit 2; }
map=$1; model=$2
[ -r "$map" ] || { echo "footprint.sh: cannot read $map" >&2; exit 2; }
awk -v model="$model" '
function hex(s,    i, v) {                # "0x1a4" -> 420 (mawk has no strtonum)
    v = 0
    for (i = 3; i <= length(s); i++)
        v = v * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
    return v
}
function add(sec, size, file,    kind, who) {
    if (size == 0) return
    n = split(file, parts, "/"); base = parts[n]
    if (base == model) who = "model"
    else if (file ~ /lib(c|gcc|c_nano|m)\.a\(/) who = "lib"
    else who = "other"
    if (sec ~ /^\.(text|vectors|ARM\.exidx)/) kind = "code"
    else if (sec ~ /^\.s?rodata/) kind = "const"         # .s*: RISC-V small data
    else if (sec ~ /^\.s?data/) kind = "data"
    else if (sec ~ /^\.s?bss/ || sec == "COMMON") kind = "bss"
    else return
    sum[kind "_" who] += size
}
/^Linker script and memory map/ { inmap = 1; next }
!inmap { next }
/^OUTPUT\(/ { inmap = 0; next }
# an output section header (".text 0x... 0x...") opens an output section
/^\.[^ ]/ { out = $1; pending = ""; next }
out !~ /^\.(text|data|bss|ARM\.exidx)$/ { next }
# input section, all on one line: " .text.f 0xADDR 0xSIZE FILE"
/^ [.A-Z]/ && NF >= 4 && $2 ~ /^0x/ && $3 ~ /^0x/ { add($1, hex($3), $4); pending = ""; next }
# input section whose name was too long: the numbers follow on the next line
/^ [.A-Z]/ && NF == 1 { pending = $1; next }
pending != "" && $1 ~ /^0x/ && $2 ~ /^0x/ && NF >= 3 { add(pending, hex($2), $3); pending = ""; next }
{ pending = "" }
END {
    code_model = sum["code_model"] + 0; code_lib = sum["code_lib"] + 0
    code_other = sum["code_other"] + 0
    weights = sum["const_model"] + 0
    const_other = sum["const_lib"] + sum["const_other"]
    data_init = sum["data_model"] + sum["data_lib"] + sum["data_other"]
    printf "code_model=%d\ncode_lib=%d\ncode_other=%d\n", code_model, code_lib, code_other
    printf "weights=%d\nconst_other=%d\ndata_init=%d\n", weights, const_other, data_init
    printf "flash=%d\n", code_model + code_lib + code_other + weights + const_other + data_init
    printf "ram_model=%d\n", sum["bss_model"] + sum["data_model"]
    printf "ram_other=%d\n", sum["bss_lib"] + sum["bss_other"] + sum["data_lib"] + sum["data_other"]
}' "$map"
