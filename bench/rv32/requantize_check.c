/* requantize_check: the generated requantize() and rescale(), which work on 32-bit words
 * (templates/kernels.m4), against the int64 formulas they replace, on edge and random
 * cases. requantize_check.sh expands the two helpers into helpers.h. */
#include <stdint.h>
#include <stdio.h>

#include "helpers.h"

static int8_t reference(int32_t acc, int32_t m0, int32_t shift, int32_t zp, int32_t lo, int32_t hi)
{
    int32_t t = 31 - shift, y;
    int64_t p = (int64_t)acc * m0 + ((int64_t)1 << (t - 1));
    if (t >= 32) {
        y = (int32_t)(p >> 32) >> (t - 32);
    } else {
        int64_t q = p >> t;
        y = q < -256 ? -256 : q > 256 ? 256 : (int32_t)q;
    }
    y += zp;
    return (int8_t)(y < lo ? lo : y > hi ? hi : y);
}

/* round(x * M) for M <= 1/2 (shift <= 0), as rescale() was */
static int32_t rescale_reference(int32_t x, int32_t m0, int32_t shift)
{
    int32_t t = 31 - shift;
    return (int32_t)(((int64_t)x * m0 + ((int64_t)1 << (t - 1))) >> t);
}

static uint64_t state = 88172645463325252ull;
static uint32_t next(void)
{
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return (uint32_t)(state >> 32);
}

int main(void)
{
    static const int32_t accs[] = {0, 1, -1, 2, -2, 255, -256, 32767, -32768, 1 << 20,
                                   -(1 << 20), INT32_MAX, INT32_MIN + 1, INT32_MIN};
    static const int32_t m0s[] = {0, 1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MAX - 1, 1518500250};
    long n = 0, bad = 0, n_r = 0, bad_r = 0;
    for (int32_t shift = -31; shift <= 30; shift++) {
        for (size_t i = 0; i < sizeof accs / sizeof *accs; i++)
            for (size_t j = 0; j < sizeof m0s / sizeof *m0s; j++, n++) {
                bad += requantize(accs[i], m0s[j], shift, -3, -128, 127) !=
                       reference(accs[i], m0s[j], shift, -3, -128, 127);
                if (shift <= 0 && (m0s[j] <= 1 << 30 || shift < 0)) /* M <= 1/2 */
                    n_r++, bad_r += rescale(accs[i], m0s[j], shift) !=
                                    rescale_reference(accs[i], m0s[j], shift);
            }
        for (int k = 0; k < 200000; k++, n++) {
            int32_t acc = (int32_t)next() >> (next() % 32);
            int32_t m0 = (int32_t)((1u << 30) | (next() >> 2));
            int32_t zp = (int32_t)(next() % 256) - 128;
            bad += requantize(acc, m0, shift, zp, -128, 127) != reference(acc, m0, shift, zp, -128, 127);
            if (shift < 0) /* M < 1/2 */
                n_r++, bad_r += rescale(acc, m0, shift) != rescale_reference(acc, m0, shift);
        }
    }
    printf("requantize_check: requantize %ld cases, %ld differ; rescale %ld cases, %ld differ\n",
           n, bad, n_r, bad_r);
    return bad != 0 || bad_r != 0;
}
