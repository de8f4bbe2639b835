#!/bin/sh
# Bad input, table-driven: every case runs one qatc command on one broken file
# and must
#   - exit non-zero without crashing (status 1..127: no signal, no abort; a
#     run over 60 s is killed and counts as a hang),
#   - print exactly one line on stderr, naming the file (and the line when
#     the file has lines: "FILE:LINE:"),
#   - leave no file behind: not in the output folder (which is also the
#     current folder), not beside the inputs.
# Checkpoints given to --resume are cut short, corrupt or garbage: each is
# refused and left as it was.
# Nothing trains (but the one run that makes the checkpoint): config errors are found at load time, data errors when the
# data are loaded, before the first batch; the data are a few 4x4 images.
# Needs QATC (the binary) and BUILD (a scratch folder), as make check gives.
set -u
: "${QATC:?}" "${BUILD:?}"
W=$BUILD/bad_input
OUT=$W/out
rm -rf "$W"
mkdir -p "$OUT"
cd "$(dirname "$0")/.." || exit 1
. tests/support/tiny_data.sh

# ---- data: tiny IDX files, written with printf (no other tool needed) ---------

# u32 N: N as 4 big-endian bytes.
u32() {
    printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))"
    printf "\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"
}
# images N H W [C]: an IDX image file on stdout, pixels 0x80.
images() {
    if [ $# -eq 4 ]; then printf '\000\000\010\004'; else printf '\000\000\010\003'; fi
    for d in "$@"; do u32 "$d"; done
    head -c $(($1 * $2 * $3 * ${4:-1})) /dev/zero | tr '\000' '\200'
}
# labels N: labels 0, 1, 2, 0, 1, 2, ...
labels() {
    printf '\000\000\010\001'
    u32 "$1"
    i=0
    while [ $i -lt "$1" ]; do printf "\\$(printf %03o $((i % 3)))"; i=$((i + 1)); done
}

# Training images: noise, so that gzip cannot squeeze them into a few bytes.
tiny_data "$W" 6 4 4
labels 6 >"$W/lbl.idx"
gzip -c -n "$W/img.idx" >"$W/img.idx.gz"
gzip -c -n "$W/lbl.idx" >"$W/lbl.idx.gz"
images 6 4 4 2 >"$W/img442.idx"                  # matches the frozen model's 4x4x2 input
images 6 5 5 >"$W/img55.idx"                     # 5x5: not the model's input shape
labels 5 >"$W/lbl5.idx"                          # 5 labels for 6 images
{ printf '\000\000\010\001'; u32 6; printf '\000\001\002\000\001\011'; } \
    >"$W/lbl_big.idx"                            # label 9 with 3 classes
gz_size=$(wc -c <"$W/img.idx.gz")
head -c $((gz_size - 12)) "$W/img.idx.gz" >"$W/img_trunc.idx.gz" # gzip stream cut short
# corrupt: the deflate data overwritten in the middle, header and size intact
{ head -c 20 "$W/img.idx.gz"; printf 'corruptcorrupt'; tail -c +35 "$W/img.idx.gz"; } \
    >"$W/img_corrupt.idx.gz"
head -c 50 "$W/img.idx" >"$W/img_trunc.idx"     # payload cut short

# .npy arrays, written with printf: npy_head DESCR FORTRAN SHAPE [VERSION-BYTES]
# prints a format 1.0 header (magic, version, length, the dict padded with
# spaces to a multiple of 64 bytes, '\n'); the data follow.
npy_head() { npy_dict "{'descr': '$1', 'fortran_order': $2, 'shape': $3, }"; }
# npy_dict DICT: the same with any dict.
npy_dict() {
    len=$(( (10 + ${#1} + 1 + 63) / 64 * 64 - 10 ))
    printf '\223NUMPY\001\000'
    printf "\\$(printf %03o $((len & 255)))\\$(printf %03o $((len >> 8)))"
    printf '%s%*s\n' "$1" $((len - ${#1} - 1)) ''
}
bytes() { head -c "$1" /dev/zero | tr '\000' "${2:-\200}"; }
{ npy_head '|u1' False '(6, 4, 4)'; bytes 96; } >"$W/x.npy"            # valid: 6 inputs 4x4
{ npy_head '|u1' False '(6, 4, 4, 2)'; bytes 192; } >"$W/x442.npy"     # valid for the frozen model
{ npy_head '<i8' False '(6,)'; for i in 0 1 2 0 1 2; do printf "\\$(printf %03o $i)"; bytes 7 '\000'; done; } \
    >"$W/y.npy"                                                         # valid labels 0, 1, 2, ...
{ printf '\223NUMPZ'; tail -c +7 "$W/x.npy"; } >"$W/npy_magic.npy"
{ npy_head '|u1' True '(6, 4, 4)'; bytes 96; } >"$W/npy_fortran.npy"
{ npy_head '>f4' False '(6, 4, 4)'; bytes 384 '\000'; } >"$W/npy_bigendian.npy"
{ npy_head '<f8' False '(6, 4, 4)'; bytes 768 '\000'; } >"$W/npy_f8.npy"
{ npy_head '|u1' False '(6, 4, 4)'; bytes 50; } >"$W/npy_truncated.npy"  # shape says 96 bytes
{ npy_head '|u1' False '(6, 4, 4)'; bytes 100; } >"$W/npy_long.npy"      # 4 bytes too many
{ npy_head '|u1' False '(6, 5, 5)'; bytes 150; } >"$W/npy_shape.npy"     # not the model's 4x4
{ npy_head '|u1' False '(6, 4, 4, 2)'; bytes 192; } >"$W/npy_shape2.npy" # 4x4x2 for a 4x4x1 model
{ npy_head '<f4' False '(6, 4, 4)'; bytes 80 '\000'; printf '\000\000\300\177'; bytes 300 '\000'; } \
    >"$W/npy_nan.npy"                                                   # element 20 is NaN
{ npy_dict "{'descr': '|u1', 'fortran_order': False, }"; bytes 96; } \
    >"$W/npy_noshape.npy"                                               # no 'shape' key
{ npy_head '<f4' False '(6,)'; bytes 24 '\000'; } >"$W/npy_ylabels_f4.npy" # float class labels
{ npy_head '<i8' False '(6,)'; for i in 0 1 9 0 1 2; do printf "\\$(printf %03o $i)"; bytes 7 '\000'; done; } \
    >"$W/npy_ylabels_range.npy"                                         # 9 with 3 classes
{ npy_head '|u1' False '(6, 1)'; bytes 6 '\000'; } >"$W/npy_ylabels_2d.npy"  # (N, 1)
# .npy files against the limits: sizes checked from the header before any
# allocation or arithmetic they size, numbers read by qnum
npy_head '|u1' False '(4294967296, 4294967296)' >"$W/npy_prod_2e64.npy"  # wraps to 0 in 64 bits
{ npy_head '|u1' False '(65536, 32768)'; bytes 96; } >"$W/npy_2g.npy"   # 2^31 elements
{ npy_head '|u1' False '(134217727, 4, 4)'; bytes 96; } >"$W/npy_promise.npy" # 2 GiB promised, 96 bytes
{ printf '\223NUMPY\002\000\377\377\377\377'; bytes 64 ' '; } >"$W/npy_hdr_4g.npy"  # a 4 GiB header
{ npy_head '|u1' False '(1, 1, 1, 1, 1, 1, 1, 1, 6)'; bytes 6; } >"$W/npy_dims9.npy"
{ npy_head '|u1' False '(1000000000000000000000000000000000000006, 4, 4)'; bytes 96; } >"$W/npy_dim_digits.npy"
{ npy_head '|u1' False '(06, 4, 4)'; bytes 96; } >"$W/npy_dim_leading.npy"
{ npy_head '|u1' False '(6, 0, 4)'; } >"$W/npy_dim_zero.npy"
{ npy_head '|u1' False '(0x6, 4, 4)'; bytes 96; } >"$W/npy_dim_hex.npy"
{ npy_head '<f4' False '(6, 4, 4, 2)'; bytes 80 '\000'; printf '\000\000\200\177'; bytes 684 '\000'; } \
    >"$W/npy_inf.npy"                                                   # element 20 is +inf
gzip -c -n "$W/x442.npy" >"$W/x442_trailing.npy.gz"
printf 'trailing garbage' >>"$W/x442_trailing.npy.gz"
mkfifo "$W/fifo.npy"
mkdir -p "$W/dir.npy"
: >"$W/empty.idx"
printf 'GIF89a\001\000\001\000\000\377\000,garbage' >"$W/garbage.idx"

# ---- configs: a valid base, and one change per case ---------------------------

cat >"$W/base.yaml" <<'EOF'
model:
  name: tiny
  input: {shape: [4, 4, 1], scale: 0.00392156862745098, zero_point: -128}
  layers:
    - conv2d: {out: 2, kernel: 3, pad: 1, bn: true, act: relu, name: c1}
    - conv2d: {out: 2, kernel: 3, pad: 1}
    - add: {with: c1}
    - flatten: {}
    - linear: {out: 3}
data:
  train: {images: img.idx, labels: lbl.idx}
  eval: {images: img.idx.gz, labels: lbl.idx.gz}
pretrain:
  epochs: 1
  batch: 2
  optimizer: {type: sgd, lr: 0.05}
quantization:
  train:
    epochs: 1
    batch: 2
    optimizer: {type: sgd, lr: 0.005}
tuning:
  random_seed: 7
EOF

# cfg NAME SED-SCRIPT: W/NAME.yaml = base.yaml edited by the sed script.
cfg() { sed "$2" "$W/base.yaml" >"$W/$1.yaml"; }

cfg yaml_syntax        '3s/\[4, 4, 1\]/[4, 4, 1/'
cfg yaml_tab           '5s/^    /\t/'
cfg yaml_two_docs      '$a---\nmodel: {}'
cfg unknown_top        '$aoptimiser: {lr: 1}'
cfg unknown_layer_key  '6s/kernel: 3/kernal: 3/'
cfg unknown_layer_type '8s/flatten/flaten/'
cfg duplicate_key      '2a\  name: again'
cfg type_kernel_text   '6s/kernel: 3/kernel: three/'
cfg type_out_quoted    '6s/out: 2/out: "2"/'
cfg type_layers_map    '4s/layers:/layers: {conv2d: 1}/;5,9d'
cfg type_bn_number     '5s/bn: true/bn: 2/'
cfg name_not_c         '2s/tiny/9tiny-model/'
cfg kernel_too_big     '6s/kernel: 3, pad: 1/kernel: 7, pad: 1/'
cfg add_mismatch       '6s/out: 2/out: 3/'
cfg add_unresolved     '7s/with: c1/with: c9/'
cfg last_not_vector    '8,9d'
cfg kernel_3_values    '6s/kernel: 3, pad: 1/kernel: [3, 3, 3], pad: 1/'
cfg stride_pair_text   '6s/kernel: 3, pad: 1/kernel: 3, stride: [1, one], pad: 1/'
cfg dilation_zero      '6s/kernel: 3, pad: 1/kernel: 3, dilation: 0, pad: 1/'
cfg dilation_too_big   '6s/kernel: 3, pad: 1/kernel: 3, dilation: 3, pad: 1/'
cfg pad_3_values       '6s/pad: 1/pad: [1, 1, 1]/'
cfg pad_word           '6s/pad: 1/pad: sme/'
cfg pad_side_too_big   '6s/pad: 1/pad: [0, 0, 3, 0]/'
cfg pool_dilation      '8s/flatten: {}/maxpool: {kernel: 2, dilation: 2}/'
cfg pool_pad_too_big   '8s/flatten: {}/avgpool: {kernel: 2, pad: [0, 2]}/'
cfg multiplier_conv    '6s/out: 2, /out: 2, multiplier: 2, /'
cfg multiplier_zero    '6s/conv2d: {out: 2, kernel: 3, pad: 1}/dwconv2d: {kernel: 3, pad: 1, multiplier: 0}/'
cfg from_unresolved    '9s/linear: {out: 3}/linear: {out: 3, from: c9}/'
cfg from_dead_end      '9s/linear: {out: 3}/linear: {out: 3, from: c1}/'
cfg linear_bn_number   '9s/linear: {out: 3}/linear: {out: 3, bn: 1}/'
cfg with_input_shape   '7s/with: c1/with: input/'
cfg softmax_not_last   '8s/flatten: {}/softmax: {}/'
cfg scale_zero         '3s/scale: [0-9.]*/scale: 0/'
cfg scale_negative     '3s/scale: [0-9.]*/scale: -0.5/'
cfg scale_nan          '3s/scale: [0-9.]*/scale: .nan/'
cfg scale_inf          '3s/scale: [0-9.]*/scale: .inf/'
cfg zp_high            '3s/zero_point: -128/zero_point: 128/'
cfg zp_low             '3s/zero_point: -128/zero_point: -129/'
cfg lr_zero            '16s/lr: 0.05/lr: 0/'
cfg batch_zero         '15s/batch: 2/batch: 0/'
cfg data_missing       '11s/img.idx/no_such.idx/'
cfg data_truncated_gz  '11s/img.idx/img_trunc.idx.gz/'
cfg data_corrupt_gz    '11s/img.idx/img_corrupt.idx.gz/'
cfg data_truncated     '11s/img.idx/img_trunc.idx/'
cfg data_count         '11s/lbl.idx/lbl5.idx/'
cfg data_shape         '11s/img.idx/img55.idx/'
cfg data_label_range   '11s/lbl.idx/lbl_big.idx/'
cfg data_swapped       '11s/images: img.idx, labels: lbl.idx/images: lbl.idx, labels: img.idx/'
cfg data_empty         '12s/lbl.idx.gz/empty.idx/'
cfg data_garbage       '12s/img.idx.gz/garbage.idx/'
# one number parser, one set of rules (the config, the frozen model, the command line)
cfg num_tag_str        '14s/epochs: 1/epochs: !!str 1/'
cfg num_hex_float      '16s/lr: 0.05/lr: 0x1p-4/'
cfg num_hex_int        '15s/batch: 2/batch: 0x2/'
cfg num_leading_zero   '23s/random_seed: 7/random_seed: 07/'
cfg num_seed_20_digits '23s/random_seed: 7/random_seed: 99999999999999999999/'
cfg num_separator      '15s/batch: 2/batch: 1_0/'
cfg num_tag_custom     '16s/lr: 0.05/lr: !rate 0.05/'
cfg num_bool_tagged    '5s/bn: true/bn: !!str true/'
cfg num_name_tagged    '2s/name: tiny/name: !!int 5/'
# documented values that must work, or be refused when the config is read
cfg batch_one_pretrain '15s/batch: 2/batch: 1/'
cfg batch_one_qat      '20s/batch: 2/batch: 1/'
cfg scale_tiny         '3s/scale: [0-9.]*/scale: 1e-13/'
cfg scale_pixels_flat  '3s/scale: [0-9.]*/scale: 3/'
mkdir -p "$W/one"
tiny_data "$W/one" 1 4 4
cfg data_one_image     '11s#images: img.idx, labels: lbl.idx#images: one/img.idx, labels: one/lbl.idx#'
mkdir -p "$W/two"
tiny_data "$W/two" 2 4 4
cfg val_leaves_one     '11s#images: img.idx, labels: lbl.idx#images: two/img.idx, labels: two/lbl.idx#; 12a\  validation: {fraction: 0.5}'
cfg batch_int32        '3s/\[4, 4, 1\]/[4096, 4096, 1]/; 5,8d; 9s/linear: {out: 3}/avgpool: {global: true}\n    - linear: {out: 3}/; 15s/batch: 2/batch: 200/'
# unbounded work, bounded: limits first, before anything that grows with them
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "["; printf "x"; for (i = 0; i < 200000; i++) printf "]"; print "" }' \
    >"$W/yaml_deep.yaml"
awk 'BEGIN { for (i = 0; i < 40; i++) printf "%*sk%d:\n", 2 * i, "", i }' >"$W/yaml_deep_block.yaml"
{ cat "$W/base.yaml"; echo 'x: &l0 [a, a, a, a, a, a, a, a, a, a]'; i=1
  while [ $i -le 9 ]; do echo "x$i: &l$i [*l$((i-1)), *l$((i-1)), *l$((i-1)), *l$((i-1)), *l$((i-1)), *l$((i-1)), *l$((i-1)), *l$((i-1)), *l$((i-1)), *l$((i-1))]"; i=$((i + 1)); done
} >"$W/yaml_laughs.yaml"
{ cat "$W/base.yaml"; awk 'BEGIN { for (i = 0; i < 40000; i++) printf "# a comment line to make the file large\n" }'; } \
    >"$W/yaml_big.yaml"
cfg yaml_alias_cycle   '5s/.*/    - \&c [*c]/'
cfg yaml_alias_unknown '16s/lr: 0.05/lr: *rate/'
# small things: what is not a regular file, names, empty arguments
mkfifo "$W/fifo.yaml" "$W/fifo.idx"
cfg name_stdint        '2s/name: tiny/name: stdint/'
sed '2d' "$W/base.yaml" >"$W/string.yaml"              # no model.name: "string" from the file name
gzip -c -n "$W/img442.idx" >"$W/img442_trailing.idx.gz"
printf 'trailing garbage' >>"$W/img442_trailing.idx.gz"
# the keys of losses, metrics, validation and augmentation
cfg loss_unknown       '2a\  loss: mae'
cfg target_needs_mse   '2a\  target: input'
cfg target_input_shape '2a\  loss: mse\n  target: input'
cfg metric_unknown     '$a evaluation: {accuracy: {metric: top5}}'
cfg metric_needs_mse   '$a evaluation: {accuracy: {metric: mse}}'
cfg metric_auc_target  '2a\  loss: mse'"
"'$a evaluation: {accuracy: {metric: auc}}'
cfg inputs_and_images  '11s/images: img.idx/inputs: img.idx, images: img.idx/'
cfg inputs_missing     '11s/images: img.idx, //'
cfg val_fraction_range '12a\  validation: {fraction: 1.5}'
cfg val_fraction_files '12a\  validation: {fraction: 0.5, inputs: img.idx}'
cfg val_unknown_key    '12a\  validation: {fractoin: 0.5}'
cfg val_missing_file   '12a\  validation: {inputs: no_such.npy, labels: lbl.idx}'
cfg val_too_small      '12a\  validation: {fraction: 0.01}'
cfg aug_shift_big      '12a\  augment: {shift: 4}'
cfg aug_shift_negative '12a\  augment: {shift: -1}'
cfg aug_flip_type      '12a\  augment: {flip: 1}'
cfg aug_unknown_key    '12a\  augment: {rotate: 10}'
cfg mse_idx_targets    '2a\  loss: mse'
cfg softmax_mse        '2a\  loss: mse
9a\    - softmax: {}'
cfg criterion_range    '$a\  accuracy_criterion: {absolute: 2}'
# .npy inputs and labels of the training data
cfg npy_magic          '11s/img.idx/npy_magic.npy/'
cfg npy_fortran        '11s/img.idx/npy_fortran.npy/'
cfg npy_bigendian      '11s/img.idx/npy_bigendian.npy/'
cfg npy_f8             '11s/img.idx/npy_f8.npy/'
cfg npy_truncated      '11s/img.idx/npy_truncated.npy/'
cfg npy_long           '11s/img.idx/npy_long.npy/'
cfg npy_shape          '11s/img.idx/npy_shape.npy/'
cfg npy_channels       '11s/img.idx/npy_shape2.npy/'
cfg npy_nan            '11s/img.idx/npy_nan.npy/'
cfg npy_noshape        '11s/img.idx/npy_noshape.npy/'
cfg npy_labels_f4      '11s/lbl.idx/npy_ylabels_f4.npy/'
cfg npy_labels_range   '11s/lbl.idx/npy_ylabels_range.npy/'
cfg npy_labels_2d      '11s/lbl.idx/npy_ylabels_2d.npy/'
cfg npy_val_shape      '12a\  validation: {inputs: npy_shape.npy, labels: y.npy}'
cfg npy_eval_truncated '12s/img.idx.gz/npy_truncated.npy/'
# the same rules on the new inputs and keys
cfg npy_prod_2e64      '11s/img.idx/npy_prod_2e64.npy/'
cfg npy_2g             '11s/img.idx/npy_2g.npy/'
cfg npy_promise        '11s/img.idx/npy_promise.npy/'
cfg npy_hdr_4g         '11s/img.idx/npy_hdr_4g.npy/'
cfg val_npy_2g         '12a\  validation: {inputs: npy_2g.npy, labels: y.npy}'
cfg npy_dims9          '11s/img.idx/npy_dims9.npy/'
cfg npy_dim_digits     '11s/img.idx/npy_dim_digits.npy/'
cfg npy_dim_leading    '11s/img.idx/npy_dim_leading.npy/'
cfg npy_dim_zero       '11s/img.idx/npy_dim_zero.npy/'
cfg npy_dim_hex        '11s/img.idx/npy_dim_hex.npy/'
cfg npy_fifo           '11s/img.idx/fifo.npy/'
cfg val_fifo           '12a\  validation: {inputs: fifo.npy, labels: y.npy}'
cfg val_labels_dir     '12a\  validation: {inputs: img.idx, labels: dir.npy}'
cfg val_fraction_hex   '12a\  validation: {fraction: 0x1p-1}'
cfg val_fraction_str   '12a\  validation: {fraction: !!str 0.5}'
cfg val_fraction_nan   '12a\  validation: {fraction: .nan}'
cfg val_fraction_zero  '12a\  validation: {fraction: 0}'
cfg val_fraction_sep   '12a\  validation: {fraction: 0.2_5}'
cfg aug_shift_hex      '12a\  augment: {shift: 0x1}'
cfg aug_shift_leading  '12a\  augment: {shift: 01}'
cfg aug_shift_20_digits '12a\  augment: {shift: 99999999999999999999}'
cfg aug_shift_str      '12a\  augment: {shift: !!str 1}'
cfg aug_shift_float    '12a\  augment: {shift: 1.5}'
cfg aug_flip_str       '12a\  augment: {flip: !!str true}'
cfg aug_flip_width1    '3s/\[4, 4, 1\]/[4, 1, 1]/; 12a\  augment: {flip: true}'
cfg aug_shift_1x1      '3s/\[4, 4, 1\]/[1, 1, 4]/; 5,7d; 12a\  augment: {shift: 1}'
cfg metric_tagged      '$a evaluation: {accuracy: {metric: !!int top1}}'
: >"$W/empty.yaml"
head -c 3000 /dev/urandom >"$W/garbage.yaml"
printf '\000\001\002binary\377\376' >>"$W/garbage.yaml"

# ---- frozen models: the first example of docs/frozen-format.md, one change per case --

awk '/^```yaml/ && !done { on = 1; next } on && /^```/ { on = 0; done = 1 } on' \
    docs/frozen-format.md >"$W/base.frozen.yaml"
# frz NAME SED-SCRIPT: W/NAME.frozen.yaml = base.frozen.yaml edited.
frz() { sed "$2" "$W/base.frozen.yaml" >"$W/$1.frozen.yaml"; }
# line NAME PATTERN: the line of W/base.frozen.yaml holding PATTERN (first match).
line() { grep -n -m 1 -F -e "$1" "$W/base.frozen.yaml" | cut -d: -f1; }

frz f_syntax          's/weight_scale: \[0.01, 0.02\]/weight_scale: [0.01, 0.02/'
frz f_version         's/^qatc_frozen: 2/qatc_frozen: 3/'
frz f_weight_bits     '0,/weight_bits: 8/s//weight_bits: 3/'
frz f_pad_count       '0,/pad: \[0, 0, 0, 0\]/s//pad: [0, 0]/'
frz f_softmax_middle  's/op: flatten/op: softmax/'
frz f_unknown_key     's/^    per_channel: true/    per_chanel: true/'
frz f_weight_m128     's/\[127, -64\]/[-128, -64]/'
frz f_scale_zero      's/scale: 0.25, zero_point: -3/scale: 0, zero_point: -3/'
frz f_scale_negative  's/weight_scale: \[0.01, 0.02\]/weight_scale: [0.01, -0.02]/'
frz f_scale_nan       's/weight_scale: \[0.0078125\]/weight_scale: [.nan]/'
frz f_scale_inf       's/scale: 0.5, zero_point: -128/scale: .inf, zero_point: -128/'
frz f_zp_range        's/scale: 0.25, zero_point: -3/scale: 0.25, zero_point: 200/'
frz f_kernel_too_big  '/name: mp/,/output/s/kernel: \[2, 2\]/kernel: [5, 5]/'
frz f_add_forward     's/with: input/with: mp/'
cat >"$W/f_add_mismatch.frozen.yaml" <<'EOF'
qatc_frozen: 1
name: add_mismatch
input: {shape: [4, 4, 2], scale: 0.5, zero_point: 0}
layers:
  - op: maxpool
    name: mp
    input: input
    kernel: [2, 2]
    stride: [2, 2]
    output: {shape: [2, 2, 2], scale: 0.5, zero_point: 0}
  - op: add
    name: res
    input: mp
    with: input
    act: none
    output: {shape: [2, 2, 2], scale: 1, zero_point: 0}
output: res
EOF
# sizes from the file, checked before they are multiplied or allocated
frz f_shape_2e66      's/shape: \[4, 4, 2\], scale: 0.5/shape: [4194304, 4194304, 4194304], scale: 0.5/'
frz f_shape_int_max   's/shape: \[4, 4, 2\], scale: 0.5/shape: [2147483647, 1, 1], scale: 0.5/'
frz f_kernel_2e48     '/name: c1/,/output/{s/kernel: \[3, 3\]/kernel: [16777216, 16777216]/;s/pad: \[1, 1, 1, 1\]/pad: [16777215, 16777215, 16777215, 16777215]/}'
# every shape in range, but a weight row of 4096 x 4096 x 4096 values (64 GiB)
cat >"$W/f_alloc_64g.frozen.yaml" <<'EOF'
qatc_frozen: 1
name: a64
input: {shape: [1, 1, 4096], scale: 0.5, zero_point: 0}
layers:
  - op: conv2d
    name: c
    input: input
    kernel: [4096, 4096]
    stride: [1, 1]
    pad: [4095, 4095]
    output: {shape: [4096, 4096, 1], scale: 0.5, zero_point: 0}
    per_channel: false
    weight_scale: [0.01]
    bias: [0]
    weights:
      - [1]
output: c
EOF
frz f_shape_product   's/shape: \[4, 4, 2\], scale: 0.5/shape: [4096, 4096, 2], scale: 0.5/'
# an arena over 2 GiB: 130 maxpools of 4096x4096 kept alive by a chain of adds (one of
# them the planner puts in the caller's output buffer: 129 x 16 MiB in the arena)
k=130
{
    printf 'qatc_frozen: 1\nname: wide\ninput: {shape: [4096, 4096, 1], scale: 0.5, zero_point: 0}\nlayers:\n'
    prev=input i=1
    while [ $i -le $k ]; do
        printf '  - {op: maxpool, name: p%d, input: %s, kernel: [1, 1], stride: [1, 1], output: {shape: [4096, 4096, 1], scale: 0.5, zero_point: 0}}\n' $i $prev
        prev=p$i i=$((i + 1))
    done
    i=1
    while [ $i -lt $k ]; do
        printf '  - {op: add, name: a%d, input: %s, with: p%d, output: {shape: [4096, 4096, 1], scale: 0.5, zero_point: 0}}\n' $i $prev $i
        prev=a$i i=$((i + 1))
    done
    printf 'output: %s\n' $prev
} >"$W/f_arena_2g.frozen.yaml"
frz f_unresolved      's/input: c1/input: c7/'
frz f_name_stdint     's/^name: tiny/name: stdint/'
frz f_scale_hex       's/scale: 0.5, zero_point: -128/scale: 0x1p-1, zero_point: -128/'
frz f_version_str     's/^qatc_frozen: 2/qatc_frozen: !!str 2/'
frz f_weight_tagged   's/\[127, -64\]/[!!str 127, -64]/'
{ sed '/^layers:/q' "$W/base.frozen.yaml"
  awk 'BEGIN { for (i = 0; i < 150000; i++) print "  - {}" }'; echo 'output: x'; } \
    >"$W/f_many_layers.frozen.yaml"
cp "$W/yaml_deep.yaml" "$W/f_deep.frozen.yaml"
frz f_wrong_rows      '/- \[-1, -2, -3/d'
frz f_truncated       '/^output: fc/d'
frz f_bias_type       's/bias: \[100, -100\]/bias: [100, "-100"]/'
: >"$W/f_empty.frozen.yaml"
cp "$W/garbage.yaml" "$W/f_garbage.frozen.yaml"
L_syntax=$(line 'weight_scale: [0.01, 0.02]')
L_unknown=$(line 'per_channel: true')
L_m128=$(line '[127, -64]')
L_zero=$(line 'scale: 0.25, zero_point: -3')
L_c1=$(line '- op: conv2d') # scales are checked per layer: the layer's line
L_wbits=$(line 'weight_bits: 8')
L_pad=$(line 'pad: [0, 0, 0, 0]')
L_fl=$(line '- op: flatten')

# ---- the table -------------------------------------------------------------

pass=0 fail=0 VMEM= LIMIT=60
# refused RC EXPECT: the verdict shared by every row: sets why to what is wrong
# with a run that ended with status RC and wrote $W.stderr (empty when it was
# refused as it must be: a non-zero status, no signal, one line naming EXPECT).
refused() {
    why=
    [ "$1" -eq 0 ] && why="exit status 0"
    [ "$1" -ge 128 ] && why="exit status $1 (a signal: crash, abort or over $LIMIT s)"
    [ -z "$why" ] && [ "$(wc -l <"$W.stderr")" -ne 1 ] &&
        why="$(wc -l <"$W.stderr") lines on stderr, expected 1"
    [ -z "$why" ] && ! grep -q -F -- "$2" "$W.stderr" && why="stderr does not name '$2'"
}
# tally NAME COMMAND: counts the row as passed, or prints why it failed.
tally() {
    if [ -n "$why" ]; then
        fail=$((fail + 1))
        echo "FAIL $1: qatc $2: $why"
        sed 's/^/    stderr: /' "$W.stderr" | head -n 5
    else
        pass=$((pass + 1))
    fi
}
# bad NAME EXPECT QATC-ARGS...: runs qatc in $OUT; EXPECT must appear in the
# one line on stderr (grep -F). Files in W before and after must be the same.
bad() {
    name=$1 expect=$2
    shift 2
    before=$(ls -A "$W")
    # with VMEM set (KiB), under that address-space limit; killed after LIMIT s
    (cd "$OUT" && { [ -z "$VMEM" ] || ulimit -v "$VMEM"; } &&
        timeout -s KILL "$LIMIT" "$QATC" "$@" >"$W.stdout" 2>"$W.stderr")
    refused $? "$expect"
    [ -z "$why" ] && [ -n "$(ls -A "$OUT")" ] && why="left in the output folder: $(ls -A "$OUT")"
    [ -z "$why" ] && [ "$(ls -A "$W")" != "$before" ] && why="left beside the inputs"
    tally "$name" "$*"
    rm -rf "$OUT"
    mkdir -p "$OUT"
}

# snapshot DIR: every name in DIR (links as links) and the bytes of each file.
snapshot() {
    (cd "$1" && ls -lA --time-style=+ | grep -v '^total' && find . -type f -exec cksum {} + | sort)
}
# bad_keep NAME DIR EXPECT QATC-ARGS...: as bad, but run in DIR, which holds
# inputs (and old outputs): afterwards DIR must hold the same names with the
# same bytes, nothing added or removed.
bad_keep() {
    name=$1 dir=$2 expect=$3
    shift 3
    before=$(snapshot "$dir")
    (cd "$dir" && timeout -s KILL "$LIMIT" "$QATC" "$@" >"$W.stdout" 2>"$W.stderr")
    refused $? "$expect"
    [ -z "$why" ] && [ "$(snapshot "$dir")" != "$before" ] &&
        why="$dir changed: $(snapshot "$dir" | tr '\n' ' ')"
    tally "$name" "$*"
}

T="train -o $OUT --threads 1 --quiet"
F=$W/base.frozen.yaml
# train: the config
bad yaml_syntax        "$W/yaml_syntax.yaml:"          $T "$W/yaml_syntax.yaml"
bad yaml_tab           "$W/yaml_tab.yaml:5:"           $T "$W/yaml_tab.yaml"
bad yaml_two_docs      "$W/yaml_two_docs.yaml:25:"     $T "$W/yaml_two_docs.yaml"
bad unknown_top        "$W/unknown_top.yaml:24:"       $T "$W/unknown_top.yaml"
bad unknown_layer_key  "$W/unknown_layer_key.yaml:6:"  $T "$W/unknown_layer_key.yaml"
bad unknown_layer_type "$W/unknown_layer_type.yaml:8:" $T "$W/unknown_layer_type.yaml"
bad duplicate_key      "$W/duplicate_key.yaml:3:"      $T "$W/duplicate_key.yaml"
bad type_kernel_text   "$W/type_kernel_text.yaml:6:"   $T "$W/type_kernel_text.yaml"
bad type_out_quoted    "$W/type_out_quoted.yaml:6:"    $T "$W/type_out_quoted.yaml"
bad type_layers_map    "$W/type_layers_map.yaml:4:"    $T "$W/type_layers_map.yaml"
bad type_bn_number     "$W/type_bn_number.yaml:5:"     $T "$W/type_bn_number.yaml"
bad name_not_c         "$W/name_not_c.yaml:2:"         $T "$W/name_not_c.yaml"
bad kernel_too_big     "$W/kernel_too_big.yaml:6:"     $T "$W/kernel_too_big.yaml"
bad add_mismatch       "$W/add_mismatch.yaml:7:"       $T "$W/add_mismatch.yaml"
bad add_unresolved     "$W/add_unresolved.yaml:7:"     $T "$W/add_unresolved.yaml"
bad last_not_vector    "$W/last_not_vector.yaml:7:"    $T "$W/last_not_vector.yaml"
bad kernel_3_values    "$W/kernel_3_values.yaml:6: model.layers[1].conv2d.kernel:" $T "$W/kernel_3_values.yaml"
bad stride_pair_text   "$W/stride_pair_text.yaml:6: model.layers[1].conv2d.stride[1]:" $T "$W/stride_pair_text.yaml"
bad dilation_zero      "$W/dilation_zero.yaml:6: model.layers[1].conv2d.dilation:" $T "$W/dilation_zero.yaml"
bad dilation_too_big   "$W/dilation_too_big.yaml:6: model.layers[1].conv2d.kernel:" $T "$W/dilation_too_big.yaml"
bad pad_3_values       "$W/pad_3_values.yaml:6: model.layers[1].conv2d.pad:" $T "$W/pad_3_values.yaml"
bad pad_word           "$W/pad_word.yaml:6: model.layers[1].conv2d.pad:" $T "$W/pad_word.yaml"
bad pad_side_too_big   "$W/pad_side_too_big.yaml:6: model.layers[1].conv2d.pad:" $T "$W/pad_side_too_big.yaml"
bad pool_dilation      "$W/pool_dilation.yaml:8: model.layers[3].maxpool.dilation:" $T "$W/pool_dilation.yaml"
bad pool_pad_too_big   "$W/pool_pad_too_big.yaml:8: model.layers[3].avgpool.pad:" $T "$W/pool_pad_too_big.yaml"
bad multiplier_conv    "$W/multiplier_conv.yaml:6: model.layers[1].conv2d.multiplier:" $T "$W/multiplier_conv.yaml"
bad multiplier_zero    "$W/multiplier_zero.yaml:6: model.layers[1].dwconv2d.multiplier:" $T "$W/multiplier_zero.yaml"
bad from_unresolved    "$W/from_unresolved.yaml:9: model.layers[4].linear.from:" $T "$W/from_unresolved.yaml"
bad from_dead_end      "$W/from_dead_end.yaml:8: model.layers[3].flatten:" $T "$W/from_dead_end.yaml"
bad linear_bn_number   "$W/linear_bn_number.yaml:9: model.layers[4].linear.bn:" $T "$W/linear_bn_number.yaml"
bad with_input_shape   "$W/with_input_shape.yaml:7: model.layers[2].add.with:" $T "$W/with_input_shape.yaml"
bad softmax_not_last   "$W/softmax_not_last.yaml:8: model.layers[3].softmax:" $T "$W/softmax_not_last.yaml"
bad scale_zero         "$W/scale_zero.yaml:3:"         $T "$W/scale_zero.yaml"
bad scale_negative     "$W/scale_negative.yaml:3:"     $T "$W/scale_negative.yaml"
bad scale_nan          "$W/scale_nan.yaml:3:"          $T "$W/scale_nan.yaml"
bad scale_inf          "$W/scale_inf.yaml:3:"          $T "$W/scale_inf.yaml"
bad zp_high            "$W/zp_high.yaml:3:"            $T "$W/zp_high.yaml"
bad zp_low             "$W/zp_low.yaml:3:"             $T "$W/zp_low.yaml"
bad lr_zero            "$W/lr_zero.yaml:16:"           $T "$W/lr_zero.yaml"
bad batch_zero         "$W/batch_zero.yaml:15:"        $T "$W/batch_zero.yaml"
bad num_tag_str        "$W/num_tag_str.yaml:14: pretrain.epochs: expected an integer, got '1' tagged !!str" \
                                                       $T "$W/num_tag_str.yaml"
bad num_hex_float      "$W/num_hex_float.yaml:16: pretrain.optimizer.lr: expected a number, got '0x1p-4'" \
                                                       $T "$W/num_hex_float.yaml"
bad num_hex_int        "$W/num_hex_int.yaml:15: pretrain.batch: expected an integer, got '0x2'" \
                                                       $T "$W/num_hex_int.yaml"
bad num_leading_zero   "$W/num_leading_zero.yaml:23: tuning.random_seed: '07': leading zeros are ambiguous" \
                                                       $T "$W/num_leading_zero.yaml"
bad num_seed_20_digits "$W/num_seed_20_digits.yaml:23: tuning.random_seed: 99999999999999999999 is out of range [0, 9223372036854775807]" \
                                                       $T "$W/num_seed_20_digits.yaml"
bad num_separator      "$W/num_separator.yaml:15: pretrain.batch: expected an integer, got '1_0'" \
                                                       $T "$W/num_separator.yaml"
bad num_tag_custom     "$W/num_tag_custom.yaml:16: pretrain.optimizer.lr: expected a number, got '0.05' tagged !rate" \
                                                       $T "$W/num_tag_custom.yaml"
bad num_bool_tagged    "$W/num_bool_tagged.yaml:5: model.layers[0].conv2d.bn: expected true or false, got 'true' tagged !!str" \
                                                       $T "$W/num_bool_tagged.yaml"
bad num_name_tagged    "$W/num_name_tagged.yaml:2: model.name: expected a string, got '5' tagged !!int" \
                                                       $T "$W/num_name_tagged.yaml"
# ... the same words for the same numbers on the command line (exit status 2)
bad cli_seed_20_digits "qatc train: --seed: 99999999999999999999 is out of range [0, 9223372036854775807]" \
                                                       $T --seed 99999999999999999999 "$W/base.yaml"
bad cli_seed_hex       "qatc train: --seed: expected an integer, got '0x10'" \
                                                       $T --seed 0x10 "$W/base.yaml"
bad cli_seed_negative  "qatc train: --seed: -1 is out of range [0, 9223372036854775807]" \
                                                       $T --seed -1 "$W/base.yaml"
bad cli_threads_space  "qatc train: --threads: expected an integer, got ' 2'" \
                       train -o "$OUT" --threads " 2" --quiet "$W/base.yaml"
bad cli_threads_zero   "qatc train: --threads: 0 is out of range [1, 1024]" \
                       train -o "$OUT" --threads 0 --quiet "$W/base.yaml"
bad cli_golden_float   "qatc gen: --golden: expected an integer, got '1e3'" \
                       gen "$W/base.frozen.yaml" -o "$OUT" --golden 1e3 --images "$W/img442.idx"
bad cli_golden_zero    "qatc gen: --golden: '02': leading zeros are ambiguous" \
                       gen "$W/base.frozen.yaml" -o "$OUT" --golden 02 --images "$W/img442.idx"
bad batch_one_pretrain "$W/batch_one_pretrain.yaml:15: pretrain.batch: 1: a batch needs at least 2 images" \
                                                       $T "$W/batch_one_pretrain.yaml"
bad batch_one_qat      "$W/batch_one_qat.yaml:20: quantization.train.batch: 1: a batch needs at least 2 images" \
                                                       $T "$W/batch_one_qat.yaml"
bad scale_tiny         "$W/scale_tiny.yaml:3: model.input.scale: 1e-13 is out of range [1e-12, 1e+06]" \
                                                       $T "$W/scale_tiny.yaml"
bad scale_pixels_flat  "img.idx: with the input scale 3 every pixel value 0..255 becomes the int8 value -128" \
                                                       $T "$W/scale_pixels_flat.yaml"
bad data_one_image     "$W/data_one_image.yaml: data.train: $W/one/img.idx holds 1 input; training needs at least 2" \
                                                       $T "$W/data_one_image.yaml"
bad val_leaves_one     "$W/val_leaves_one.yaml:13: data.validation.fraction: 0.5 leaves 1 input of $W/two/img.idx to train on" \
                                                       $T "$W/val_leaves_one.yaml"
# a data error leaves no new output folder behind
bad data_no_new_folder "img_trunc.idx" train -o "$OUT/new" --threads 1 --quiet "$W/data_truncated.yaml"
bad batch_int32        "$W/batch_int32.yaml:12: pretrain.batch: 200 images of the largest tensor (16777216 values each) exceed" \
                                                       $T "$W/batch_int32.yaml"
LIMIT=10
bad yaml_deep          "$W/yaml_deep.yaml:1: nested deeper than 32 levels" $T "$W/yaml_deep.yaml"
bad yaml_deep_block    "$W/yaml_deep_block.yaml:33: nested deeper than 32 levels" $T "$W/yaml_deep_block.yaml"
bad yaml_laughs        "$W/yaml_laughs.yaml:28: more than 65536 YAML nodes" $T "$W/yaml_laughs.yaml"
bad yaml_big           "$W/yaml_big.yaml: 1600562 bytes, more than 1048576" $T "$W/yaml_big.yaml"
bad yaml_alias_cycle   "$W/yaml_alias_cycle.yaml:5: alias *c inside its own anchor" $T "$W/yaml_alias_cycle.yaml"
bad yaml_alias_unknown "$W/yaml_alias_unknown.yaml:16: alias *rate has no anchor" $T "$W/yaml_alias_unknown.yaml"
LIMIT=60
bad config_fifo        "$W/fifo.yaml: is not a regular file" $T "$W/fifo.yaml"
bad config_device      "/dev/zero: is not a regular file" $T /dev/zero
bad name_stdint        "$W/name_stdint.yaml:2: model.name: 'stdint' would make stdint.h, which shadows the C library's <stdint.h>" \
                                                       $T "$W/name_stdint.yaml"
bad name_from_file     "$W/string.yaml:2: model.name: 'string' (from the file name) would make string.h" \
                                                       $T "$W/string.yaml"
bad train_no_config    "qatc train: which config? (qatc train --help)" train --quiet
bad no_command         "qatc: which command?"
bad train_o_empty      "'': an empty folder name"      train -o "" --quiet "$W/base.yaml"
bad config_empty       "$W/empty.yaml:"                 $T "$W/empty.yaml"
bad config_garbage     "$W/garbage.yaml:"               $T "$W/garbage.yaml"
bad config_missing     "$W/none.yaml"                  $T "$W/none.yaml"
bad config_is_dir      "$W: "                          $T "$W"
# train: the data named by the config
bad data_missing       "$W/data_missing.yaml:11:"      $T "$W/data_missing.yaml"
bad data_truncated_gz  "img_trunc.idx.gz"              $T "$W/data_truncated_gz.yaml"
bad data_corrupt_gz    "img_corrupt.idx.gz"            $T "$W/data_corrupt_gz.yaml"
bad data_truncated     "img_trunc.idx"                 $T "$W/data_truncated.yaml"
bad data_count         "lbl5.idx"                      $T "$W/data_count.yaml"
bad data_shape         "img55.idx"                     $T "$W/data_shape.yaml"
bad data_label_range   "lbl_big.idx"                   $T "$W/data_label_range.yaml"
bad data_swapped       "lbl.idx"                       $T "$W/data_swapped.yaml"
bad data_empty         "empty.idx"                     $T "$W/data_empty.yaml"
bad data_garbage       "garbage.idx"                   $T "$W/data_garbage.yaml"
# train: losses, metrics, validation, augmentation
bad loss_unknown       "$W/loss_unknown.yaml:3: model.loss"              $T "$W/loss_unknown.yaml"
bad target_needs_mse   "$W/target_needs_mse.yaml:3: model.target"        $T "$W/target_needs_mse.yaml"
bad target_input_shape "$W/target_input_shape.yaml:11: model.layers[4]"  $T "$W/target_input_shape.yaml"
bad metric_unknown     "$W/metric_unknown.yaml:24: evaluation.accuracy.metric" $T "$W/metric_unknown.yaml"
bad metric_needs_mse   "$W/metric_needs_mse.yaml:24: evaluation.accuracy.metric" $T "$W/metric_needs_mse.yaml"
bad metric_auc_target  "$W/metric_auc_target.yaml:25: evaluation.accuracy.metric" $T "$W/metric_auc_target.yaml"
bad inputs_and_images  "$W/inputs_and_images.yaml:11: data.train.images" $T "$W/inputs_and_images.yaml"
bad inputs_missing     "$W/inputs_missing.yaml:11: data.train: missing key 'inputs'" $T "$W/inputs_missing.yaml"
bad val_fraction_range "$W/val_fraction_range.yaml:13: data.validation.fraction" $T "$W/val_fraction_range.yaml"
bad val_fraction_files "$W/val_fraction_files.yaml:13: data.validation" $T "$W/val_fraction_files.yaml"
bad val_unknown_key    "$W/val_unknown_key.yaml:13: data.validation.fractoin" $T "$W/val_unknown_key.yaml"
bad val_missing_file   "$W/val_missing_file.yaml:13: data.validation.inputs" $T "$W/val_missing_file.yaml"
bad val_too_small      "$W/val_too_small.yaml:13: data.validation.fraction: 0.01 of the 6" $T "$W/val_too_small.yaml"
bad aug_shift_big      "$W/aug_shift_big.yaml:13: data.augment.shift"     $T "$W/aug_shift_big.yaml"
bad aug_shift_negative "$W/aug_shift_negative.yaml:13: data.augment.shift" $T "$W/aug_shift_negative.yaml"
bad aug_flip_type      "$W/aug_flip_type.yaml:13: data.augment.flip"      $T "$W/aug_flip_type.yaml"
bad aug_unknown_key    "$W/aug_unknown_key.yaml:13: data.augment.rotate"  $T "$W/aug_unknown_key.yaml"
bad softmax_mse        "$W/softmax_mse.yaml:11: model.layers[5].softmax: softmax needs loss: cross_entropy" $T "$W/softmax_mse.yaml"
bad mse_idx_targets    "lbl.idx: float targets (loss: mse) must be a .npy" $T "$W/mse_idx_targets.yaml"
bad criterion_range    "$W/criterion_range.yaml:24: tuning.accuracy_criterion.absolute" $T "$W/criterion_range.yaml"
# train: malformed .npy data
bad npy_magic          "npy_magic.npy"         $T "$W/npy_magic.yaml"
bad npy_fortran        "npy_fortran.npy"       $T "$W/npy_fortran.yaml"
bad npy_bigendian      "npy_bigendian.npy"     $T "$W/npy_bigendian.yaml"
bad npy_f8             "npy_f8.npy"            $T "$W/npy_f8.yaml"
bad npy_truncated      "npy_truncated.npy"     $T "$W/npy_truncated.yaml"
bad npy_long           "npy_long.npy"          $T "$W/npy_long.yaml"
bad npy_shape          "npy_shape.npy"         $T "$W/npy_shape.yaml"
bad npy_channels       "npy_shape2.npy"        $T "$W/npy_channels.yaml"
bad npy_nan            "npy_nan.npy"           $T "$W/npy_nan.yaml"
bad npy_noshape        "npy_noshape.npy"       $T "$W/npy_noshape.yaml"
bad npy_labels_f4      "npy_ylabels_f4.npy"    $T "$W/npy_labels_f4.yaml"
bad npy_labels_range   "npy_ylabels_range.npy" $T "$W/npy_labels_range.yaml"
bad npy_labels_2d      "npy_ylabels_2d.npy"    $T "$W/npy_labels_2d.yaml"
bad npy_val_shape      "npy_shape.npy"         $T "$W/npy_val_shape.yaml"
bad npy_eval_truncated "npy_truncated.npy"     $T "$W/npy_eval_truncated.yaml"
# gen and report: the frozen model
bad f_syntax           "$W/f_syntax.frozen.yaml:"                  gen "$W/f_syntax.frozen.yaml" -o "$OUT"
bad f_version          "$W/f_version.frozen.yaml:1:"               gen "$W/f_version.frozen.yaml" -o "$OUT"
bad f_weight_bits      "$W/f_weight_bits.frozen.yaml:$L_wbits:"    gen "$W/f_weight_bits.frozen.yaml" -o "$OUT"
bad f_pad_count        "$W/f_pad_count.frozen.yaml:$L_pad:"        report "$W/f_pad_count.frozen.yaml"
bad f_softmax_middle   "$W/f_softmax_middle.frozen.yaml:$L_fl:"    eval "$W/f_softmax_middle.frozen.yaml" --images "$W/img442.idx" --labels "$W/lbl.idx"
bad f_unknown_key      "$W/f_unknown_key.frozen.yaml:$L_unknown:"  gen "$W/f_unknown_key.frozen.yaml" -o "$OUT"
bad f_weight_m128      "$W/f_weight_m128.frozen.yaml:$L_m128:"     gen "$W/f_weight_m128.frozen.yaml" -o "$OUT"
bad f_scale_zero       "$W/f_scale_zero.frozen.yaml:$L_c1:"      gen "$W/f_scale_zero.frozen.yaml" -o "$OUT"
bad f_scale_negative   "$W/f_scale_negative.frozen.yaml:$L_c1:" gen "$W/f_scale_negative.frozen.yaml" -o "$OUT"
bad f_scale_nan        "$W/f_scale_nan.frozen.yaml:"               gen "$W/f_scale_nan.frozen.yaml" -o "$OUT"
bad f_scale_inf        "$W/f_scale_inf.frozen.yaml:5:"             report "$W/f_scale_inf.frozen.yaml"
bad f_zp_range         "$W/f_zp_range.frozen.yaml:$L_zero:"        report "$W/f_zp_range.frozen.yaml"
bad f_kernel_too_big   "$W/f_kernel_too_big.frozen.yaml:"          report "$W/f_kernel_too_big.frozen.yaml"
bad f_add_mismatch     "$W/f_add_mismatch.frozen.yaml:11:"         report "$W/f_add_mismatch.frozen.yaml"
bad f_add_forward      "$W/f_add_forward.frozen.yaml:"             report "$W/f_add_forward.frozen.yaml"
bad f_unresolved       "$W/f_unresolved.frozen.yaml:"              report "$W/f_unresolved.frozen.yaml"
bad f_wrong_rows       "$W/f_wrong_rows.frozen.yaml:"              gen "$W/f_wrong_rows.frozen.yaml" -o "$OUT"
bad f_truncated        "$W/f_truncated.frozen.yaml"                gen "$W/f_truncated.frozen.yaml" -o "$OUT"
bad f_bias_type        "$W/f_bias_type.frozen.yaml:"               eval "$W/f_bias_type.frozen.yaml" --images "$W/img442.idx" --labels "$W/lbl.idx"
bad f_empty            "$W/f_empty.frozen.yaml"                    gen "$W/f_empty.frozen.yaml" -o "$OUT"
bad f_garbage          "$W/f_garbage.frozen.yaml"                  report "$W/f_garbage.frozen.yaml"
bad f_missing          "$W/none.frozen.yaml"                       report "$W/none.frozen.yaml"
bad f_scale_hex        "$W/f_scale_hex.frozen.yaml:5: input.scale: expected a number, got '0x1p-1'" \
                                                                    report "$W/f_scale_hex.frozen.yaml"
bad f_version_str      "$W/f_version_str.frozen.yaml:1: qatc_frozen: expected an integer, got '2' tagged !!str" \
                                                                    report "$W/f_version_str.frozen.yaml"
bad f_weight_tagged    "$W/f_weight_tagged.frozen.yaml:$L_m128: layers[" \
                                                                    report "$W/f_weight_tagged.frozen.yaml"
LIMIT=10
bad f_many_layers      "$W/f_many_layers.frozen.yaml:7: layers: 150000 layers, at most 4096" \
                                                                    report "$W/f_many_layers.frozen.yaml"
bad f_deep             "$W/f_deep.frozen.yaml:1: nested deeper than 32 levels" \
                                                                    gen "$W/f_deep.frozen.yaml" -o "$OUT"
LIMIT=60
bad f_shape_2e66       "$W/f_shape_2e66.frozen.yaml:5: input.shape: [4194304, 4194304, 4194304] exceeds 16777216 elements" \
                                                                    report "$W/f_shape_2e66.frozen.yaml"
bad f_shape_2e66_gen   "exceeds 16777216 elements"                  gen "$W/f_shape_2e66.frozen.yaml" -o "$OUT"
bad f_shape_int_max    "$W/f_shape_int_max.frozen.yaml:5: input.shape[0]: 2147483647 is out of range" \
                                                                    report "$W/f_shape_int_max.frozen.yaml"
bad f_kernel_2e48      "layers[0].kernel: each output sums more than 66311 products" \
                                                                    report "$W/f_kernel_2e48.frozen.yaml"
# 311 bytes that asked for 64 GiB: refused from the sizes, under a 1 GiB address space
VMEM=1048576
bad f_alloc_64g        "$W/f_alloc_64g.frozen.yaml:5: layers[0].kernel: each output sums more than 66311 products" \
                                                                    report "$W/f_alloc_64g.frozen.yaml"
VMEM=
bad f_shape_product    "$W/f_shape_product.frozen.yaml:5: input.shape: [4096, 4096, 2] exceeds 16777216 elements" \
                                                                    report "$W/f_shape_product.frozen.yaml"
VMEM=
bad f_arena_2g         "$W/f_arena_2g.frozen.yaml: plan: the arena needs 2164260864 bytes" \
                                                                    report "$W/f_arena_2g.frozen.yaml"
bad f_arena_2g_gen     "$W/f_arena_2g.frozen.yaml: plan: the arena needs" \
                                                                    gen "$W/f_arena_2g.frozen.yaml" -o "$OUT"
# eval and gen --golden: the data against a valid model
bad e_truncated_gz     "img_trunc.idx.gz"    eval "$F" --images "$W/img_trunc.idx.gz" --labels "$W/lbl.idx"
bad e_corrupt_gz       "img_corrupt.idx.gz"  eval "$F" --images "$W/img_corrupt.idx.gz" --labels "$W/lbl.idx"
bad e_count            "lbl5.idx"            eval "$F" --images "$W/img442.idx" --labels "$W/lbl5.idx"
bad e_shape            "img.idx"             eval "$F" --images "$W/img.idx" --labels "$W/lbl.idx"
bad e_empty            "empty.idx"           eval "$F" --images "$W/img442.idx" --labels "$W/empty.idx"
bad e_fifo             "$W/fifo.idx: is not a regular file" \
                       eval "$F" --images "$W/fifo.idx" --labels "$W/lbl.idx"
bad e_trailing_gz      "img442_trailing.idx.gz: unexpected data after the gzip stream" \
                       eval "$F" --images "$W/img442_trailing.idx.gz" --labels "$W/lbl.idx"
bad g_o_empty          "'': an empty folder name"    gen "$F" -o ""
bad f_fifo             "$W/fifo.yaml: is not a regular file" report "$W/fifo.yaml"
bad f_name_stdint      "$W/f_name_stdint.frozen.yaml:4: name: 'stdint' would make stdint.h" \
                       gen "$W/f_name_stdint.frozen.yaml" -o "$OUT"
bad e_label_range      "$W/lbl_big.idx: label 9 of image 5 is not below the model's 3 classes" \
                       eval "$F" --images "$W/img442.idx" --labels "$W/lbl_big.idx"
bad e_garbage          "garbage.idx"         eval "$F" --images "$W/garbage.idx" --labels "$W/lbl.idx"
bad g_golden_shape     "img55.idx"           gen "$F" -o "$OUT" --golden 2 --images "$W/img55.idx"
bad g_golden_too_many  "img442.idx"          gen "$F" -o "$OUT" --golden 7 --images "$W/img442.idx"
bad g_golden_trunc     "img_trunc.idx"       gen "$F" -o "$OUT" --golden 1 --images "$W/img_trunc.idx"
# eval and gen --golden: .npy data and the metric
bad e_npy_fortran      "npy_fortran.npy"     eval "$F" --inputs "$W/npy_fortran.npy" --labels "$W/y.npy"
bad e_npy_truncated    "npy_truncated.npy"   eval "$F" --inputs "$W/npy_truncated.npy" --labels "$W/y.npy"
bad e_npy_shape        "npy_shape.npy"       eval "$F" --inputs "$W/npy_shape.npy" --labels "$W/y.npy"
bad e_npy_nan          "npy_nan.npy"         eval "$F" --inputs "$W/npy_nan.npy" --labels "$W/y.npy"
bad e_npy_labels_range "npy_ylabels_range.npy" eval "$F" --inputs "$W/x442.npy" --labels "$W/npy_ylabels_range.npy"
bad e_npy_labels_2d    "npy_ylabels_2d.npy"  eval "$F" --inputs "$W/x442.npy" --labels "$W/npy_ylabels_2d.npy"
bad e_metric_unknown   "--metric: 'top5'"    eval "$F" --inputs "$W/x442.npy" --labels "$W/y.npy" --metric top5
bad e_mse_shape        "ends in 1x1x3, its input is 4x4x2" eval "$F" --inputs "$W/x442.npy" --metric mse
bad e_mse_idx_targets  "lbl.idx: float targets" eval "$F" --inputs "$W/x442.npy" --labels "$W/lbl.idx" --metric mse
bad g_npy_fortran      "npy_fortran.npy"     gen "$F" -o "$OUT" --golden 1 --inputs "$W/npy_fortran.npy"
bad g_npy_bigendian    "npy_bigendian.npy"   gen "$F" -o "$OUT" --golden 1 --inputs "$W/npy_bigendian.npy"
bad g_npy_long         "npy_long.npy"        gen "$F" -o "$OUT" --golden 1 --inputs "$W/npy_long.npy"
bad g_npy_shape        "npy_shape.npy"       gen "$F" -o "$OUT" --golden 1 --inputs "$W/npy_shape.npy"
bad g_npy_too_many     "x442.npy"            gen "$F" -o "$OUT" --golden 7 --inputs "$W/x442.npy"
# the rules of issue 13 on the new inputs: .npy sizes before allocation (a
# 1 GiB address space for the files that promise more), qnum for every
# number, no FIFO waited on, one line
VMEM=1048576
bad npy_prod_2e64      "npy_prod_2e64.npy: header: 'shape' dimension 0 '4294967296' is over 2147483647" \
                       $T "$W/npy_prod_2e64.yaml"
bad npy_2g             "npy_2g.npy: header: 'shape' has more than 2147483647 elements" \
                       $T "$W/npy_2g.yaml"
bad npy_promise        "npy_promise.npy"     $T "$W/npy_promise.yaml"
bad npy_hdr_4g         "npy_hdr_4g.npy: header length 4294967295 is over the 10000-byte limit" \
                       $T "$W/npy_hdr_4g.yaml"
bad e_npy_2g           "npy_2g.npy: header: 'shape' has more than 2147483647 elements" \
                       eval "$F" --inputs "$W/npy_2g.npy" --labels "$W/y.npy"
bad e_npy_promise      "npy_promise.npy"     eval "$F" --inputs "$W/npy_promise.npy" --labels "$W/y.npy"
bad e_npy_labels_2g    "npy_2g.npy"          eval "$F" --inputs "$W/x442.npy" --labels "$W/npy_2g.npy"
bad g_npy_2g           "npy_2g.npy: header: 'shape' has more than 2147483647 elements" \
                       gen "$F" -o "$OUT" --golden 1 --inputs "$W/npy_2g.npy"
bad g_npy_promise      "npy_promise.npy"     gen "$F" -o "$OUT" --golden 1 --inputs "$W/npy_promise.npy"
bad g_npy_hdr_4g       "npy_hdr_4g.npy: header length 4294967295" \
                       gen "$F" -o "$OUT" --golden 1 --inputs "$W/npy_hdr_4g.npy"
bad val_npy_2g         "npy_2g.npy: header: 'shape' has more than 2147483647 elements" \
                       $T "$W/val_npy_2g.yaml"
VMEM=
bad npy_dims9          "npy_dims9.npy: header: 'shape' has more than 8 dimensions" $T "$W/npy_dims9.yaml"
bad npy_dim_digits     "npy_dim_digits.npy: header: 'shape' dimension 0 '1000000000000000000000000000000000000006' is over 2147483647" \
                       $T "$W/npy_dim_digits.yaml"
bad npy_dim_leading    "npy_dim_leading.npy: header: 'shape' dimension 0 '06' has a leading zero" \
                       $T "$W/npy_dim_leading.yaml"
bad npy_dim_zero       "npy_dim_zero.npy: header: 'shape' dimension 1 is 0" $T "$W/npy_dim_zero.yaml"
bad npy_dim_hex        "npy_dim_hex.npy: header: expected ',' or ')' in 'shape'" $T "$W/npy_dim_hex.yaml"
bad e_npy_inf          "npy_inf.npy: data: element" eval "$F" --inputs "$W/npy_inf.npy" --labels "$W/y.npy"
bad e_npy_trailing_gz  "x442_trailing.npy.gz: unexpected data after the gzip stream" \
                       eval "$F" --inputs "$W/x442_trailing.npy.gz" --labels "$W/y.npy"
bad e_npy_dims9        "npy_dims9.npy"       eval "$F" --inputs "$W/npy_dims9.npy" --labels "$W/y.npy"
bad g_npy_dim_leading  "npy_dim_leading.npy" gen "$F" -o "$OUT" --golden 1 --inputs "$W/npy_dim_leading.npy"
bad g_npy_trailing_gz  "x442_trailing.npy.gz: unexpected data after the gzip stream" \
                       gen "$F" -o "$OUT" --golden 1 --inputs "$W/x442_trailing.npy.gz"
# what is not a regular file, as a .npy input: refused at once, never waited on
LIMIT=10
bad npy_fifo           "$W/fifo.npy: is not a regular file" $T "$W/npy_fifo.yaml"
bad val_fifo           "$W/fifo.npy: is not a regular file" $T "$W/val_fifo.yaml"
bad val_labels_dir     "$W/dir.npy: is a directory"         $T "$W/val_labels_dir.yaml"
bad e_npy_fifo         "$W/fifo.npy: is not a regular file" \
                       eval "$F" --inputs "$W/fifo.npy" --labels "$W/y.npy"
bad e_labels_fifo      "$W/fifo.npy: is not a regular file" \
                       eval "$F" --inputs "$W/x442.npy" --labels "$W/fifo.npy"
bad g_npy_fifo         "$W/fifo.npy: is not a regular file" \
                       gen "$F" -o "$OUT" --golden 1 --inputs "$W/fifo.npy"
bad g_dev_zero         "/dev/zero: is not a regular file" gen "$F" -o "$OUT" --golden 1 --inputs /dev/zero
bad e_npy_dir          "$W/dir.npy: is a directory" eval "$F" --inputs "$W/dir.npy" --labels "$W/y.npy"
LIMIT=60
# the new config keys: numbers by qnum, documented values refused with their line
bad val_fraction_hex   "$W/val_fraction_hex.yaml:13: data.validation.fraction: expected a number, got '0x1p-1'" \
                       $T "$W/val_fraction_hex.yaml"
bad val_fraction_str   "$W/val_fraction_str.yaml:13: data.validation.fraction: expected a number, got '0.5' tagged !!str" \
                       $T "$W/val_fraction_str.yaml"
bad val_fraction_nan   "$W/val_fraction_nan.yaml:13: data.validation.fraction" $T "$W/val_fraction_nan.yaml"
bad val_fraction_zero  "$W/val_fraction_zero.yaml:13: data.validation.fraction" $T "$W/val_fraction_zero.yaml"
bad val_fraction_sep   "$W/val_fraction_sep.yaml:13: data.validation.fraction: expected a number, got '0.2_5'" \
                       $T "$W/val_fraction_sep.yaml"
bad aug_shift_hex      "$W/aug_shift_hex.yaml:13: data.augment.shift: expected an integer, got '0x1'" \
                       $T "$W/aug_shift_hex.yaml"
bad aug_shift_leading  "$W/aug_shift_leading.yaml:13: data.augment.shift: '01': leading zeros are ambiguous" \
                       $T "$W/aug_shift_leading.yaml"
bad aug_shift_20_digits "$W/aug_shift_20_digits.yaml:13: data.augment.shift: 99999999999999999999 is out of range" \
                       $T "$W/aug_shift_20_digits.yaml"
bad aug_shift_str      "$W/aug_shift_str.yaml:13: data.augment.shift: expected an integer, got '1' tagged !!str" \
                       $T "$W/aug_shift_str.yaml"
bad aug_shift_float    "$W/aug_shift_float.yaml:13: data.augment.shift: expected an integer, got '1.5'" \
                       $T "$W/aug_shift_float.yaml"
bad aug_flip_str       "$W/aug_flip_str.yaml:13: data.augment.flip" $T "$W/aug_flip_str.yaml"
bad aug_flip_width1    "$W/aug_flip_width1.yaml:13: data.augment.flip" $T "$W/aug_flip_width1.yaml"
bad aug_shift_1x1      "$W/aug_shift_1x1.yaml:10: data.augment.shift" $T "$W/aug_shift_1x1.yaml"
bad metric_tagged      "$W/metric_tagged.yaml:24: evaluation.accuracy.metric" $T "$W/metric_tagged.yaml"
# eval and gen: the command line
bad e_inputs_twice     "qatc eval: one of --inputs and --images, once" \
                       eval "$F" --inputs "$W/x442.npy" --images "$W/img442.idx" --labels "$W/y.npy"
bad e_no_labels        "qatc eval: needs FROZEN.yaml --inputs FILE --labels FILE" eval "$F" --inputs "$W/x442.npy"
bad e_inputs_empty     "qatc eval: " eval "$F" --inputs "" --labels "$W/y.npy"
bad e_auc_shape        "ends in 1x1x3" eval "$F" --inputs "$W/x442.npy" --labels "$W/y.npy" --metric auc
bad g_inputs_no_golden "qatc gen: --golden N and --inputs FILE go together" gen "$F" -o "$OUT" --inputs "$W/x442.npy"
bad g_inputs_twice     "qatc gen: one of --inputs and --images, once" \
                       gen "$F" -o "$OUT" --golden 1 --inputs "$W/x442.npy" --images "$W/img442.idx"
bad g_golden_hex       "qatc gen: --golden: expected an integer, got '0x2'" \
                       gen "$F" -o "$OUT" --golden 0x2 --inputs "$W/x442.npy"
bad g_golden_20_digits "qatc gen: --golden: 99999999999999999999 is out of range [1, 1000000]" \
                       gen "$F" -o "$OUT" --golden 99999999999999999999 --inputs "$W/x442.npy"
bad g_golden_negative  "qatc gen: --golden: -1 is out of range [1, 1000000]" \
                       gen "$F" -o "$OUT" --golden -1 --inputs "$W/x442.npy"
bad g_target_unknown   "qatc gen: --target: 'z80' is none of" gen "$F" -o "$OUT" --target z80
bad cli_threads_hex    "qatc train: --threads: expected an integer, got '0x2'" \
                       train -o "$OUT" --threads 0x2 --quiet "$W/base.yaml"
bad cli_threads_big    "qatc train: --threads: 99999999999999999999 is out of range [1, 1024]" \
                       train -o "$OUT" --threads 99999999999999999999 --quiet "$W/base.yaml"
bad cli_seed_float     "qatc train: --seed: expected an integer, got '1.5'" \
                       train -o "$OUT" --seed 1.5 --quiet "$W/base.yaml"
bad cli_seed_leading   "qatc train: --seed: '07': leading zeros are ambiguous" \
                       train -o "$OUT" --seed 07 --quiet "$W/base.yaml"

# No output over an input: the output folder holds an input under the name
# of an output (or a link to one); compared by inode, so no spelling or link
# gets around it. The folder is left exactly as it was.
never="qatc never writes over its inputs"
mkdir -p "$W/oi"
cp "$F" "$W/oi/tiny.h"                                  # the model tiny, named tiny.h
bad_keep over_gen_h        "$W/oi" "./tiny.h: is the input tiny.h; $never" gen tiny.h
rm -rf "$W/oi"; mkdir -p "$W/oi"
cp "$F" "$W/oi/tiny.c"
bad_keep over_gen_c        "$W/oi" "$never" gen tiny.c -o .
rm -rf "$W/oi"; mkdir -p "$W/oi"
cp "$F" "$W/oi/m.yaml"; cp "$W/img442.idx" "$W/oi/tiny_golden.c"   # the images, as NAME_golden.c
bad_keep over_gen_images   "$W/oi" "tiny_golden.c: is the input $W/oi/tiny_golden.c" \
    gen m.yaml -o "$W/oi" --golden 2 --images "$W/oi/tiny_golden.c"
rm -rf "$W/oi"; mkdir -p "$W/oi/sub"
cp "$F" "$W/oi/sub/m.yaml"; ln -s ../oi/sub/m.yaml "$W/oi/tiny.h" # a symbolic link to the model
bad_keep over_gen_symlink  "$W/oi" "$never" gen sub/m.yaml
rm -rf "$W/oi"; mkdir -p "$W/oi/sub"
cp "$F" "$W/oi/sub/m.yaml"; ln "$W/oi/sub/m.yaml" "$W/oi/tiny.c"  # a hard link
bad_keep over_gen_hardlink "$W/oi" "$never" gen ./sub/../sub/m.yaml
rm -rf "$W/oi"; mkdir -p "$W/oi"
sed 's#: \([a-z_.]*idx[a-z.]*\)#: ../\1#g' "$W/base.yaml" >"$W/oi/tiny.frozen.yaml"
bad_keep over_train_config "$W/oi" "./tiny.frozen.yaml: is the input tiny.frozen.yaml" \
    train tiny.frozen.yaml --threads 1 --quiet
rm -rf "$W/oi"; mkdir -p "$W/oi"
sed 's#: \([a-z_.]*idx[a-z.]*\)#: ../\1#g' "$W/base.yaml" >"$W/oi/c.yaml"
ln "$W/oi/c.yaml" "$W/oi/tiny.ckpt"                      # the config, hard-linked as NAME.ckpt
bad_keep over_train_ckpt   "$W/oi" "./tiny.ckpt: is the input c.yaml" \
    train c.yaml -o . --threads 1 --quiet
rm -rf "$W/oi"; mkdir -p "$W/oi"
cp "$W/lbl.idx" "$W/oi/tiny.csv"                           # a data file named NAME.csv
sed 's#: \([a-z_.]*idx[a-z.]*\)#: ../\1#g; 11s#labels: ../lbl.idx#labels: tiny.csv#' \
    "$W/base.yaml" >"$W/oi/c.yaml"
bad_keep over_train_data   "$W/oi" "./tiny.csv: is the input tiny.csv" \
    train c.yaml --threads 1 --quiet
rm -rf "$W/oi"
# .npy data: inputs, labels and validation files are inputs like any other
mkdir -p "$W/oi"
cp "$F" "$W/oi/m.yaml"; cp "$W/x442.npy" "$W/oi/tiny.h"     # golden inputs named NAME.h
bad_keep over_gen_npy      "$W/oi" "./tiny.h: is the input tiny.h; $never" \
    gen m.yaml --golden 2 --inputs tiny.h
rm -rf "$W/oi"; mkdir -p "$W/oi"
ln -s ../x.npy "$W/oi/tiny.frozen.yaml"                    # .npy inputs, a symbolic link
sed 's#: \([a-z_.]*idx[a-z.]*\)#: ../\1#g; 11s#.*#  train: {inputs: tiny.frozen.yaml, labels: ../y.npy}#' \
    "$W/base.yaml" >"$W/oi/c.yaml"
bad_keep over_train_npy_inputs "$W/oi" "./tiny.frozen.yaml: is the input tiny.frozen.yaml" \
    train c.yaml --threads 1 --quiet
rm -rf "$W/oi"; mkdir -p "$W/oi"
cp "$W/y.npy" "$W/oi/y.npy"; ln "$W/oi/y.npy" "$W/oi/tiny.ckpt"  # .npy labels, hard-linked
sed 's#: \([a-z_.]*idx[a-z.]*\)#: ../\1#g; 11s#.*#  train: {inputs: ../x.npy, labels: y.npy}#' \
    "$W/base.yaml" >"$W/oi/c.yaml"
bad_keep over_train_npy_labels "$W/oi" "./tiny.ckpt: is the input y.npy" \
    train c.yaml --threads 1 --quiet
rm -rf "$W/oi"; mkdir -p "$W/oi"
cp "$W/x.npy" "$W/oi/v.npy"; ln "$W/oi/v.npy" "$W/oi/tiny.csv"    # validation inputs
sed 's#: \([a-z_.]*idx[a-z.]*\)#: ../\1#g; 12a\  validation: {inputs: v.npy, labels: ../y.npy}' \
    "$W/base.yaml" >"$W/oi/c.yaml"
bad_keep over_train_validation "$W/oi" "./tiny.csv: is the input v.npy" \
    train c.yaml --threads 1 --quiet
rm -rf "$W/oi"; mkdir -p "$W/oi"
cp "$W/y.npy" "$W/oi/tiny.frozen.yaml"                      # validation labels named NAME.frozen.yaml
sed 's#: \([a-z_.]*idx[a-z.]*\)#: ../\1#g; 12a\  validation: {inputs: ../x.npy, labels: tiny.frozen.yaml}' \
    "$W/base.yaml" >"$W/oi/c.yaml"
bad_keep over_train_val_labels "$W/oi" "./tiny.frozen.yaml: is the input tiny.frozen.yaml" \
    train c.yaml --threads 1 --quiet
rm -rf "$W/oi"

# All of gen's files replace the old ones, or none does: with an old tiny.c
# and tiny.h in the folder and one output that cannot be renamed into place
# (a folder of that name), gen fails and the old files are there byte for byte.
for blocked in tiny_golden.c tiny.h; do
    mkdir -p "$W/oi/$blocked/sub"
    for f in tiny.c tiny.h; do [ -e "$W/oi/$f" ] || echo "/* old $f */" >"$W/oi/$f"; done
    bad_keep "keep_old_set_$blocked" "$W/oi" "$blocked: write failed: Is a directory; the previous files are unchanged" \
        gen "$F" -o . --golden 2 --images "$W/img442.idx"
    rm -rf "$W/oi"
done

# train --resume: a checkpoint that is not whole or not intact is refused and
# left as it was (nothing else written).
mkdir -p "$W/ck"
(cd "$W/ck" && "$QATC" train "$W/base.yaml" -o "$W/ck" --threads 1 --quiet >/dev/null 2>&1) ||
    { echo "FAIL: the base config does not train"; fail=$((fail + 1)); }
CK=$W/ck/tiny.ckpt
ck_size=$(wc -c <"$CK" 2>/dev/null || echo 0)
# poke FILE OFFSET OCTAL: overwrites one byte.
poke() { printf "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }
# resume_refused NAME CONFIG EXPECT: `qatc train CONFIG --resume` with
# $OUT/tiny.ckpt must fail with one line on stderr holding EXPECT, and leave
# the checkpoint as it was (nothing else written).
resume_refused() {
    name=$1 config=$2 expect=$3
    cp "$OUT/tiny.ckpt" "$W.ckpt"
    (cd "$OUT" && timeout -s KILL "$LIMIT" "$QATC" $T --resume "$config" >"$W.stdout" 2>"$W.stderr")
    refused $? "$expect"
    [ -z "$why" ] && [ "$(ls -A "$OUT")" != tiny.ckpt ] && why="files written: $(ls -A "$OUT")"
    [ -z "$why" ] && ! cmp -s "$OUT/tiny.ckpt" "$W.ckpt" && why="the checkpoint was changed"
    tally "$name" "$T --resume"
    rm -rf "$OUT" "$W.ckpt"
    mkdir -p "$OUT"
}
# bad_ckpt NAME EXPECT MAKE-CKPT-COMMAND...: the command writes $OUT/tiny.ckpt.
bad_ckpt() {
    name=$1 expect=$2
    shift 2
    "$@"
    resume_refused "$name" "$W/base.yaml" "$OUT/tiny.ckpt: $expect"
}
ck_truncated() { head -c $((ck_size - 100)) "$CK" >"$OUT/tiny.ckpt"; }
ck_flipped() {
    cp "$CK" "$OUT/tiny.ckpt"
    poke "$OUT/tiny.ckpt" $((ck_size / 2)) 252
    poke "$OUT/tiny.ckpt" $((ck_size / 2 + 1)) 3
}
ck_phase()     { cp "$CK" "$OUT/tiny.ckpt"; poke "$OUT/tiny.ckpt" 49 125; } # phase's 2nd byte
ck_header_size() { cp "$CK" "$OUT/tiny.ckpt"; poke "$OUT/tiny.ckpt" 8 50; } # another build's
# a byte of the config's settings text (after the header): its own CRC catches it
ck_settings() {
    cp "$CK" "$OUT/tiny.ckpt"
    poke "$OUT/tiny.ckpt" $(($(grep -abo 'seed (' "$CK" | head -n 1 | cut -d: -f1) + 1)) 101
}
# Crafted checkpoints: a header field changed and both CRCs made right again
# (gzip's trailer holds the CRC-32 of its input, in the checkpoint's byte
# order on this little-endian machine), so only the range checks can refuse.
le32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
le64() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }
# crc_into FILE N: the CRC-32 of FILE's first N bytes, written at N.
crc_into() { head -c "$2" "$1" | gzip -c | tail -c 8 | head -c 4 | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }
# crafted OFFSET OCTAL...: $OUT/tiny.ckpt = $CK with bytes from OFFSET, CRCs fixed
crafted() {
    f=$OUT/tiny.ckpt at=$1
    shift
    cp "$CK" "$f"
    for b in "$@"; do poke "$f" "$at" "$b"; at=$((at + 1)); done
    hb=$(le32 "$f" 8)                         # header_bytes
    head=$((hb + $(le64 "$f" $((hb - 8)))))   # + canon_bytes, the last header field
    crc_into "$f" "$head"
    crc_into "$f" $(($(wc -c <"$f") - 4))
}
ck_epoch_int_max() { crafted 52 377 377 377 177; }  # epoch (after magic, sizes, phase) = INT_MAX
ck_epoch_past()    { crafted 52 2 0 0 0; }          # epoch 2 of a 1-epoch schedule
ck_batch_past()    { crafted 56 0 0 1 0; }          # batch 65536 of a 3-batch epoch
ck_appended()  { { cat "$CK"; printf 'more'; } >"$OUT/tiny.ckpt"; }
ck_garbage()   { cp "$W/garbage.yaml" "$OUT/tiny.ckpt"; }
ck_empty()     { : >"$OUT/tiny.ckpt"; }
T="train -o $OUT --threads 1 --quiet"
bad_ckpt ckpt_truncated "truncated checkpoint"                  ck_truncated
bad_ckpt ckpt_flipped   "corrupt checkpoint (CRC mismatch)"     ck_flipped
bad_ckpt ckpt_phase     "corrupt checkpoint (header out of range)" ck_phase
bad_ckpt ckpt_header_size "written by another version or build of qatc" ck_header_size
bad_ckpt ckpt_settings  "corrupt checkpoint (CRC mismatch)"     ck_settings
bad_ckpt ckpt_appended  "corrupt checkpoint (data after its end)" ck_appended
bad_ckpt ckpt_garbage   "not a qatc checkpoint"                 ck_garbage
bad_ckpt ckpt_empty     "not a qatc checkpoint"                 ck_empty
bad_ckpt ckpt_epoch_int_max "corrupt checkpoint (header out of range)" ck_epoch_int_max
bad_ckpt ckpt_epoch_past "corrupt checkpoint (header out of range)" ck_epoch_past
bad_ckpt ckpt_batch_past "corrupt checkpoint (header out of range)" ck_batch_past
mkfifo "$OUT/tiny.ckpt"
bad_keep ckpt_fifo "$OUT" "$OUT/tiny.ckpt: is not a regular file" \
    train -o "$OUT" --threads 1 --quiet --resume "$W/base.yaml"
rm -rf "$OUT"
mkdir -p "$OUT"

# --resume of a finished run whose model was deleted: refused (it said it
# wrote the model, and wrote nothing); the folder left as it was.
cp "$CK" "$W/ck/tiny.csv" "$OUT/"
bad_keep resume_model_deleted "$OUT" "$OUT/tiny.frozen.yaml: missing: the best model was written by an earlier run" \
    train -o "$OUT" --threads 1 --quiet --resume "$W/base.yaml"
rm -rf "$OUT"
mkdir -p "$OUT"

# train --resume with a config whose settings changed since the checkpoint:
# refused, naming the config's line, the first differing field and the
# checkpoint. changed_cfg NAME SED-SCRIPT EXPECT: base.yaml edited by the script.
changed_cfg() {
    cfg "$1" "$2"
    cp "$CK" "$OUT/tiny.ckpt"
    resume_refused "$1" "$W/$1.yaml" "$W/$1.yaml:$3"
}
was="but $OUT/tiny.ckpt was trained with"
changed_cfg resume_lr      '21s/lr: 0.005/lr: 0.01/' "21: quantization.train.optimizer.lr: 0.01, $was 0.005"
changed_cfg resume_epochs  '19s/epochs: 1/epochs: 2/' "19: quantization.train.epochs: 2, $was 1"
changed_cfg resume_layer   '5s/act: relu/act: relu6/' "5: model.layers[0].conv2d.act: relu6, $was relu"
changed_cfg resume_seed    '23s/7/8/' "23: seed (--seed, else tuning.random_seed): 8, $was 7"
changed_cfg resume_added   '15a\  lr_schedule: cosine' \
    "16: pretrain.lr_schedule: cosine, absent when $OUT/tiny.ckpt was trained"
changed_cfg resume_removed '15d' " pretrain.batch: absent, $was 2"
# ... while what changes no result may change: --threads, the timeout, the
# criterion, the layout of the file, a number's spelling (5e-3 for 0.005).
cfg resume_same '21s/lr: 0.005/lr: 5e-3/; $a\  exit_policy: {timeout: 600}\n  accuracy_criterion: {absolute: 0.5}'
cp "$CK" "$W/ck/tiny.frozen.yaml" "$OUT/"
if (cd "$OUT" && "$QATC" train -o "$OUT" --threads 2 --quiet --resume "$W/resume_same.yaml" \
        >"$W.stdout" 2>"$W.stderr"); then
    : # accepted, as it must be (not counted among the rejected cases)
else
    fail=$((fail + 1))
    echo "FAIL resume_same: qatc train --resume refused: $(cat "$W.stderr")"
fi
rm -rf "$OUT"
mkdir -p "$OUT"

rm -f "$W.stdout" "$W.stderr"
echo "bad input: $pass of $((pass + fail)) cases rejected cleanly"
[ $fail -eq 0 ]
