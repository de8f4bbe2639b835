/* augment — seeded shifts and flips of training inputs (augment.h). */
#include "augment.h"

#include <string.h>

int aug_enabled(const aug_config *a)
{
    return a->shift > 0 || a->flip;
}

void aug_draw_one(const aug_config *a, int32_t h, int32_t w, rng_state *r, aug_draw *d)
{
    uint32_t span = 2u * (uint32_t)a->shift + 1u;
    d->flip = a->flip ? (int)rng_below(r, 2) : 0;
    d->dy = a->shift > 0 && h > 1 ? (int32_t)rng_below(r, span) - a->shift : 0;
    d->dx = a->shift > 0 && w > 1 ? (int32_t)rng_below(r, span) - a->shift : 0;
}

void aug_apply(const aug_draw *d, const float *in, float *out, int32_t h, int32_t w, int32_t c)
{
    for (int32_t y = 0; y < h; y++) {
        int32_t sy = y - d->dy;
        for (int32_t x = 0; x < w; x++) {
            int32_t sx = x - d->dx; /* in the flipped input */
            sx = d->flip ? w - 1 - sx : sx;
            float *o = out + ((size_t)y * (size_t)w + (size_t)x) * (size_t)c;
            if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
                memset(o, 0, (size_t)c * sizeof *o); /* real zero */
                continue;
            }
            memcpy(o, in + ((size_t)sy * (size_t)w + (size_t)sx) * (size_t)c,
                   (size_t)c * sizeof *o);
        }
    }
}

void aug_batch(const aug_config *a, rng_state *r, float *x, int32_t count, int32_t h,
               int32_t w, int32_t c, float *scratch)
{
    size_t size = (size_t)h * (size_t)w * (size_t)c;
    for (int32_t i = 0; i < count; i++) {
        aug_draw d;
        aug_draw_one(a, h, w, r, &d);
        if (!d.flip && d.dy == 0 && d.dx == 0)
            continue;
        float *xi = x + (size_t)i * size;
        aug_apply(&d, xi, scratch, h, w, c);
        memcpy(xi, scratch, size * sizeof *xi);
    }
}

void aug_skip(const aug_config *a, rng_state *r, int64_t count, int32_t h, int32_t w)
{
    aug_draw d;
    for (int64_t i = 0; i < count; i++)
        aug_draw_one(a, h, w, r, &d);
}
