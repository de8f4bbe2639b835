# Tiny IDX data sets for the end-to-end checks, with sh and awk only.
# Source this file; then
#   tiny_data DIR N H W [SEED]
# writes DIR/img.idx (N images HxW, uint8) and DIR/lbl.idx (N labels 0..3):
# image i of class k = i mod 4 is noise in [1, 129) plus a brighter (+40) quarter k
# (top-left, top-right, bottom-left, bottom-right), so a small net learns it.
# The same arguments give the same bytes.
tiny_data() {
    LC_ALL=C awk -v n="$2" -v h="$3" -v w="$4" -v seed="${5:-1}" -v img="$1/img.idx" \
        -v lbl="$1/lbl.idx" '
    function be32(v, f) {
        printf "%c%c%c%c", int(v / 16777216) % 256, int(v / 65536) % 256,
            int(v / 256) % 256, v % 256 > f
    }
    BEGIN {
        x = seed
        printf "%c%c%c%c", 0, 0, 8, 3 > img
        be32(n, img); be32(h, img); be32(w, img)
        printf "%c%c%c%c", 0, 0, 8, 1 > lbl
        be32(n, lbl)
        for (i = 0; i < n; i++) {
            k = i % 4
            printf "%c", k > lbl
            for (y = 0; y < h; y++)
                for (xx = 0; xx < w; xx++) {
                    x = (x * 69069 + 1) % 4294967296
                    v = 1 + int(x / 65536) % 128
                    if ((y < h / 2) == (k < 2) && (xx < w / 2) == (k % 2 == 0))
                        v += 40
                    printf "%c", v > img
                }
        }
    }'
}
