/* mkdata — the data sets of the MLPerf Tiny examples, made on this machine.
 *
 *   mkdata ic  OUT [options]   ResNet-8: Fashion-MNIST padded to 32x32, grey in 3 channels
 *   mkdata ad  OUT [options]   autoencoder: Fashion-MNIST resized to 20x32 = 640 features,
 *                              one class normal, the other nine anomalies
 *   mkdata vww OUT [options]   MobileNetV1: 96x96x3 scenes of Fashion-MNIST items pasted on
 *                              a textured background; label 1 = an item of --class is there
 *   mkdata kws OUT [options]   DS-CNN: synthetic 49x10 MFCC-like features, 12 classes
 *
 * Options: --seed S, --train N, --val N (ad), --test N, --class K (ad: the normal class,
 * vww: the class to find), --fmnist DIR (the IDX files of Fashion-MNIST).
 *
 * Files written into OUT (created when missing), NumPy .npy format 1.0:
 *   ic   x_train.npy (N, 32, 32, 3) u1, y_train.npy (N,) u1 class 0..9; x_test, y_test
 *   ad   x_train.npy (N, 640) f4 in [0, 1] (normal class only); x_val, y_val and x_test,
 *        y_test: half normal, half anomalies, y (N,) u1: 1 = anomaly
 *   vww  x_train.npy (N, 96, 96, 3) u1, y_train.npy (N,) u1 0/1, half each; x_test, y_test
 *   kws  x_train.npy (N, 49, 10, 1) f4 (frames, coefficients, one channel: the model's
 *        49x10x1 input), y_train.npy (N,) u1 class 0..11, 1/12 each; x_test, y_test
 *
 * Determinism: every output is a function of the options and (ic, ad, vww) of the
 * Fashion-MNIST files only. Each set draws from a random stream of its own (rng.h,
 * xoshiro256**) seeded from --seed and the set's name, so the test set does not change
 * with --train. Train items come from Fashion-MNIST's training file, test items from its
 * test file (ad's validation set from the training file, apart from the training items).
 *
 * The generative processes are described in examples/mlperf-tiny/README.md and, in
 * detail, above each maker below.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idx.h"
#include "npy.h"
#include "qerr.h"
#include "qfile.h"
#include "rng.h"

#define FM_SIDE 28
#define FM_PIXELS (FM_SIDE * FM_SIDE)
#define FM_CLASSES 10
#define PATH_CAP 4096

typedef struct {
    const char *kind;   /* ic, ad, vww, kws */
    const char *out;    /* output folder */
    const char *fmnist; /* folder of the Fashion-MNIST IDX files */
    uint64_t seed;
    int32_t n_train, n_val, n_test; /* -1: the kind's default */
    int32_t cls;                    /* -1: the kind's default */
} options;

/* One split of Fashion-MNIST: images (n, 28, 28) and labels (n). */
typedef struct {
    idx_images im;
    idx_labels lb;
} fm_split;

/* Set names that seed the random streams (see stream()). */
enum { S_TRAIN = 1, S_VAL = 2, S_TEST = 3, S_LANG = 4 };

/* The random stream of one set: seeded from the run's seed and the set. */
static void stream(rng_state *r, uint64_t seed, int set)
{
    rng_seed(r, seed * 8u + (uint64_t)set);
}

static double uniform(rng_state *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)rng_uniform(r);
}

/* ------------------------------------------------------------------ output */

static int write_npy(const char *dir, const char *name, npy_dtype t, void *data, int ndim,
                     const int64_t *shape, qerr *e)
{
    char path[PATH_CAP];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return qerr_set(e, "%s: path too long", dir);
    npy_array a = {.dtype = t, .ndim = ndim, .count = 1, .data = data};
    for (int i = 0; i < ndim; i++) {
        a.shape[i] = shape[i];
        a.count *= shape[i];
    }
    return npy_write(path, &a, 1, e);
}

/* One set: the inputs x (type t, shape xs: xs[0] examples) to DIR/xname and, when
 * yname is not NULL, their xs[0] labels y (uint8) to DIR/yname. 0 or -1. */
static int write_set(const char *dir, const char *xname, const char *yname, npy_dtype t,
                     void *x, int ndim, const int64_t *xs, uint8_t *y, qerr *e)
{
    if (write_npy(dir, xname, t, x, ndim, xs, e))
        return -1;
    return yname ? write_npy(dir, yname, NPY_U1, y, 1, xs, e) : 0;
}

/* ------------------------------------------------------------- Fashion-MNIST */

static int fm_read(const char *dir, const char *split, fm_split *s, qerr *e)
{
    char ip[PATH_CAP], lp[PATH_CAP];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, split);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    memset(s, 0, sizeof *s);
    if (idx_read_images(ip, &s->im, e))
        return -1;
    if (idx_read_labels(lp, &s->lb, e)) {
        idx_images_free(&s->im);
        return -1;
    }
    if (s->im.h != FM_SIDE || s->im.w != FM_SIDE || s->im.c != 1 || s->im.n != s->lb.n) {
        idx_images_free(&s->im);
        idx_labels_free(&s->lb);
        return qerr_set(e, "%s: expected N 28x28 images and N labels", ip);
    }
    return 0;
}

static void fm_free(fm_split *s)
{
    idx_images_free(&s->im);
    idx_labels_free(&s->lb);
}

/* The indices of s's images of class cls (want 1) or of every other class (want 0),
 * in file order, into a new array; *n receives the count. NULL when out of memory. */
static int32_t *fm_select(const fm_split *s, int cls, int want, int32_t *n)
{
    int32_t *ix = malloc(sizeof *ix * (size_t)s->im.n);
    *n = 0;
    if (ix)
        for (int32_t i = 0; i < s->im.n; i++)
            if ((s->lb.labels[i] == cls) == want)
                ix[(*n)++] = i;
    return ix;
}

/* Where output pixel i of n falls on a 28-pixel source axis: the left source pixel
 * *i0 (at most 26, so i0 + 1 exists) and the weight *f in [0, 1] of its right
 * neighbour. Pixel centres at half-pixel positions (as TensorFlow's resize with
 * half_pixel_centers and PyTorch's align_corners=False), edges clamped. */
static void source_pos(int i, int n, int *i0, double *f)
{
    double s = (i + 0.5) * FM_SIDE / n - 0.5;
    if (s < 0)
        s = 0;
    *i0 = (int)s;
    if (*i0 > FM_SIDE - 2)
        *i0 = FM_SIDE - 2;
    *f = s - *i0;
    if (*f > 1)
        *f = 1;
}

/* Bilinear resize of a 28x28 image to h x w. dst (h, w) gets values in [0, 255]. */
static void resize28(const uint8_t *src, int h, int w, float *dst)
{
    for (int y = 0; y < h; y++) {
        int y0;
        double fy;
        source_pos(y, h, &y0, &fy);
        for (int x = 0; x < w; x++) {
            int x0;
            double fx;
            source_pos(x, w, &x0, &fx);
            const uint8_t *p = src + y0 * FM_SIDE + x0;
            double top = p[0] + fx * (p[1] - p[0]);
            double bot = p[FM_SIDE] + fx * (p[FM_SIDE + 1] - p[FM_SIDE]);
            dst[y * w + x] = (float)(top + fy * (bot - top));
        }
    }
}

/* 0..total-1 in a seeded random order (its first n are a sample without replacement).
 * NULL when out of memory. */
static int32_t *shuffled(rng_state *r, int32_t total)
{
    int32_t *ix = malloc(sizeof *ix * (size_t)total);
    if (!ix)
        return NULL;
    for (int32_t i = 0; i < total; i++)
        ix[i] = i;
    rng_shuffle(r, ix, total);
    return ix;
}

/* n labels, label i % k for i < n, in a seeded random order: as balanced as n allows. */
static uint8_t *balanced_labels(rng_state *r, int32_t n, int k)
{
    int32_t *ix = malloc(sizeof *ix * (size_t)n);
    uint8_t *y = malloc((size_t)n);
    if (!ix || !y) {
        free(ix);
        free(y);
        return NULL;
    }
    for (int32_t i = 0; i < n; i++)
        ix[i] = i;
    rng_shuffle(r, ix, n);
    for (int32_t i = 0; i < n; i++)
        y[ix[i]] = (uint8_t)(i % k);
    free(ix);
    return y;
}

/* ---------------------------------------------------------------------- ic */

/* ResNet-8's set: a seeded sample of n Fashion-MNIST images, each padded with 2 black
 * rows and columns on every side to 32x32 and copied into the 3 channels (grey RGB). */
static int ic_set(const fm_split *s, rng_state *r, int32_t n, const char *dir,
                  const char *xname, const char *yname, qerr *e)
{
    if (n > s->im.n)
        return qerr_set(e, "ic: %" PRId32 " images asked, the file has %" PRId32, n, s->im.n);
    int32_t *ix = shuffled(r, s->im.n);
    uint8_t *x = calloc((size_t)n * 32 * 32 * 3, 1), *y = malloc((size_t)n);
    int rc = -1;
    if (!ix || !x || !y) {
        qerr_set(e, "ic: out of memory");
        goto done;
    }
    for (int32_t i = 0; i < n; i++) {
        const uint8_t *p = s->im.pixels + (size_t)ix[i] * FM_PIXELS;
        uint8_t *o = x + (size_t)i * 32 * 32 * 3;
        for (int yy = 0; yy < FM_SIDE; yy++)
            for (int xx = 0; xx < FM_SIDE; xx++)
                for (int c = 0; c < 3; c++)
                    o[((yy + 2) * 32 + xx + 2) * 3 + c] = p[yy * FM_SIDE + xx];
        y[i] = s->lb.labels[ix[i]];
    }
    int64_t xs[4] = {n, 32, 32, 3};
    rc = write_set(dir, xname, yname, NPY_U1, x, 4, xs, y, e);
done:
    free(ix);
    free(x);
    free(y);
    return rc;
}

static int make_ic(const options *o, const fm_split *tr, const fm_split *te, qerr *e)
{
    rng_state r;
    stream(&r, o->seed, S_TRAIN);
    if (ic_set(tr, &r, o->n_train, o->out, "x_train.npy", "y_train.npy", e))
        return -1;
    stream(&r, o->seed, S_TEST);
    return ic_set(te, &r, o->n_test, o->out, "x_test.npy", "y_test.npy", e);
}

/* ---------------------------------------------------------------------- ad */

#define AD_H 20
#define AD_W 32
#define AD_F (AD_H * AD_W)

/* The autoencoder's features of Fashion-MNIST image i: resized to 20x32 (bilinear),
 * row by row, divided by 255. */
static void ad_features(const fm_split *s, int32_t i, float *f)
{
    resize28(s->im.pixels + (size_t)i * FM_PIXELS, AD_H, AD_W, f);
    for (int k = 0; k < AD_F; k++)
        f[k] /= 255.0f;
}

/* Writes n normals (the given indices, in that order) followed by n_anom anomalies (the
 * first n_anom of anom), in a seeded random order, with labels 0 (normal) and 1
 * (anomaly); without yname only the normals, no labels. */
static int ad_set(const fm_split *s, rng_state *r, const int32_t *norm, int32_t n_norm,
                  const int32_t *anom, int32_t n_anom, const char *dir, const char *xname,
                  const char *yname, qerr *e)
{
    int32_t n = n_norm + n_anom;
    int32_t *order = malloc(sizeof *order * (size_t)n);
    float *x = malloc(sizeof *x * (size_t)n * AD_F);
    uint8_t *y = malloc((size_t)n);
    int rc = -1;
    if (!order || !x || !y) {
        qerr_set(e, "ad: out of memory");
        goto done;
    }
    for (int32_t i = 0; i < n; i++)
        order[i] = i;
    if (n_anom > 0)
        rng_shuffle(r, order, n);
    for (int32_t i = 0; i < n; i++) {
        int32_t k = order[i];
        int anomaly = k >= n_norm;
        ad_features(s, anomaly ? anom[k - n_norm] : norm[k], x + (size_t)i * AD_F);
        y[i] = (uint8_t)anomaly;
    }
    int64_t xs[2] = {n, AD_F};
    rc = write_set(dir, xname, yname, NPY_F4, x, 2, xs, y, e);
done:
    free(order);
    free(x);
    free(y);
    return rc;
}

/* The autoencoder's sets, class o->cls normal. Training: n_train normal images of the
 * training file (no labels: the target is the input). Validation: n_val other normal
 * images of the training file and n_val anomalies (images of the other nine classes,
 * a seeded sample) of the training file. Test: n_test normal and n_test anomalous images
 * of the test file. */
static int make_ad(const options *o, const fm_split *tr, const fm_split *te, qerr *e)
{
    int32_t nn_tr, na_tr, nn_te, na_te;
    int32_t *norm_tr = fm_select(tr, o->cls, 1, &nn_tr), *anom_tr = fm_select(tr, o->cls, 0, &na_tr);
    int32_t *norm_te = fm_select(te, o->cls, 1, &nn_te), *anom_te = fm_select(te, o->cls, 0, &na_te);
    rng_state r;
    int rc = -1;
    if (!norm_tr || !anom_tr || !norm_te || !anom_te) {
        qerr_set(e, "ad: out of memory");
        goto done;
    }
    if (o->n_train + o->n_val > nn_tr || o->n_val > na_tr || o->n_test > nn_te ||
        o->n_test > na_te) {
        qerr_set(e, "ad: class %d has %" PRId32 " training and %" PRId32 " test images; asked "
                    "for %" PRId32 " + %" PRId32 " and %" PRId32,
                 o->cls, nn_tr, nn_te, o->n_train, o->n_val, o->n_test);
        goto done;
    }
    /* The normals of the training file: a seeded shuffle, the first n_val for validation,
     * the next n_train for training. */
    stream(&r, o->seed, S_TRAIN);
    rng_shuffle(&r, norm_tr, nn_tr);
    if (ad_set(tr, &r, norm_tr + o->n_val, o->n_train, NULL, 0, o->out, "x_train.npy", NULL, e))
        goto done;
    stream(&r, o->seed, S_VAL);
    rng_shuffle(&r, anom_tr, na_tr);
    if (ad_set(tr, &r, norm_tr, o->n_val, anom_tr, o->n_val, o->out, "x_val.npy", "y_val.npy", e))
        goto done;
    stream(&r, o->seed, S_TEST);
    rng_shuffle(&r, norm_te, nn_te);
    rng_shuffle(&r, anom_te, na_te);
    rc = ad_set(te, &r, norm_te, o->n_test, anom_te, o->n_test, o->out, "x_test.npy",
                "y_test.npy", e);
done:
    free(norm_tr);
    free(anom_tr);
    free(norm_te);
    free(anom_te);
    return rc;
}

/* --------------------------------------------------------------------- vww */

#define VWW_SIDE 96
#define VWW_PIXELS (VWW_SIDE * VWW_SIDE)
#define VWW_ITEM_MIN 32   /* pasted item sides, pixels */
#define VWW_ITEM_MAX 64

/* Value noise: a g x g grid of uniform values, bilinearly interpolated over 96x96,
 * added into t with weight w. */
static void vww_noise(rng_state *r, int g, float w, float *t)
{
    float grid[17 * 17];
    for (int i = 0; i < (g + 1) * (g + 1); i++)
        grid[i] = rng_uniform(r);
    for (int y = 0; y < VWW_SIDE; y++) {
        float gy = (float)y * g / VWW_SIDE;
        int y0 = (int)gy;
        float fy = gy - y0;
        for (int x = 0; x < VWW_SIDE; x++) {
            float gx = (float)x * g / VWW_SIDE;
            int x0 = (int)gx;
            float fx = gx - x0;
            const float *p = grid + y0 * (g + 1) + x0;
            float top = p[0] + fx * (p[1] - p[0]);
            float bot = p[g + 1] + fx * (p[g + 2] - p[g + 1]);
            t[y * VWW_SIDE + x] += w * (top + fy * (bot - top));
        }
    }
}

/* Pastes Fashion-MNIST image src into the scene img (96x96x3, floats 0..255): resized to
 * side x side (bilinear), maybe mirrored, top-left corner at (top, left), in a random
 * colour. Opacity alpha = min(1, 2p/255) and colour tint · (0.25 + 0.75 p/255) for the
 * resized pixel p, so the item's black surround stays transparent and its shading shows. */
static void vww_paste(rng_state *r, const uint8_t *src, float *img)
{
    float item[VWW_ITEM_MAX * VWW_ITEM_MAX];
    int side = VWW_ITEM_MIN + (int)rng_below(r, VWW_ITEM_MAX - VWW_ITEM_MIN + 1);
    int top = (int)rng_below(r, (uint32_t)(VWW_SIDE - side + 1));
    int left = (int)rng_below(r, (uint32_t)(VWW_SIDE - side + 1));
    int mirror = (int)rng_below(r, 2);
    float tint[3];
    for (int c = 0; c < 3; c++)
        tint[c] = (float)uniform(r, 64, 255);
    resize28(src, side, side, item);
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            float p = item[y * side + (mirror ? side - 1 - x : x)] / 255.0f;
            float a = p * 2 > 1 ? 1 : p * 2;
            float *o = img + ((top + y) * VWW_SIDE + left + x) * 3;
            for (int c = 0; c < 3; c++)
                o[c] = o[c] * (1 - a) + tint[c] * (0.25f + 0.75f * p) * a;
        }
}

/* One scene into out (96x96x3 u1): a background of two random colours mixed by three
 * octaves of value noise (4x4, 8x8 and 16x16 grids), with pixel noise N(0, 6²); then the
 * distractors (items of other classes), then, when label is 1, one item of the class.
 * Every scene holds 0 or 1 distractor, equally likely, so half the negatives are empty
 * backgrounds (presence alone tells those apart) and half hold an item of another class
 * (telling those apart takes the item's shape). The item is pasted last, so it is never
 * hidden. */
static void vww_scene(rng_state *r, const fm_split *s, const int32_t *pos, int32_t npos,
                      const int32_t *neg, int32_t nneg, int label, uint8_t *out)
{
    static float img[VWW_PIXELS * 3], t[VWW_PIXELS];
    float c0[3], c1[3];
    for (int c = 0; c < 3; c++) {
        c0[c] = (float)uniform(r, 0, 255);
        c1[c] = (float)uniform(r, 0, 255);
    }
    memset(t, 0, sizeof t);
    vww_noise(r, 4, 0.5f, t);
    vww_noise(r, 8, 0.3f, t);
    vww_noise(r, 16, 0.2f, t);
    for (int i = 0; i < VWW_PIXELS; i++)
        for (int c = 0; c < 3; c++)
            img[i * 3 + c] = c0[c] + (c1[c] - c0[c]) * t[i] + 6.0f * rng_normal(r);
    int n_distract = (int)rng_below(r, 2);
    for (int k = 0; k < n_distract; k++)
        vww_paste(r, s->im.pixels + (size_t)neg[rng_below(r, (uint32_t)nneg)] * FM_PIXELS, img);
    if (label)
        vww_paste(r, s->im.pixels + (size_t)pos[rng_below(r, (uint32_t)npos)] * FM_PIXELS, img);
    for (int i = 0; i < VWW_PIXELS * 3; i++) {
        float v = floorf(img[i] + 0.5f);
        out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

static int vww_set(const fm_split *s, int cls, rng_state *r, int32_t n, const char *dir,
                   const char *xname, const char *yname, qerr *e)
{
    int32_t npos, nneg;
    int32_t *pos = fm_select(s, cls, 1, &npos), *neg = fm_select(s, cls, 0, &nneg);
    uint8_t *x = malloc((size_t)n * VWW_PIXELS * 3), *y = balanced_labels(r, n, 2);
    int rc = -1;
    if (!pos || !neg || !x || !y) {
        qerr_set(e, "vww: out of memory");
        goto done;
    }
    for (int32_t i = 0; i < n; i++)
        vww_scene(r, s, pos, npos, neg, nneg, y[i], x + (size_t)i * VWW_PIXELS * 3);
    int64_t xs[4] = {n, VWW_SIDE, VWW_SIDE, 3};
    rc = write_set(dir, xname, yname, NPY_U1, x, 4, xs, y, e);
done:
    free(pos);
    free(neg);
    free(x);
    free(y);
    return rc;
}

static int make_vww(const options *o, const fm_split *tr, const fm_split *te, qerr *e)
{
    rng_state r;
    stream(&r, o->seed, S_TRAIN);
    if (vww_set(tr, o->cls, &r, o->n_train, o->out, "x_train.npy", "y_train.npy", e))
        return -1;
    stream(&r, o->seed, S_TEST);
    return vww_set(te, o->cls, &r, o->n_test, o->out, "x_test.npy", "y_test.npy", e);
}

/* --------------------------------------------------------------------- kws */

#define KWS_T 49          /* frames */
#define KWS_F 10          /* coefficients per frame */
#define KWS_CLASSES 12    /* 0 silence, 1 unknown, 2..11 keywords */
#define KWS_PHONES 16     /* the phoneme inventory */
#define KWS_MAXLEN 4      /* phonemes per word: 2..4 */

/* The "language": what every phoneme sounds like and how every keyword is spelt. */
typedef struct {
    float phone[KWS_PHONES][KWS_F];   /* mean frame of each phoneme */
    int len[KWS_CLASSES];             /* keywords 2..11: phonemes in the word */
    int seq[KWS_CLASSES][KWS_MAXLEN]; /* the word's phonemes */
} kws_lang;

static int kws_is_keyword(const kws_lang *L, const int *seq, int len)
{
    for (int k = 2; k < KWS_CLASSES; k++)
        if (L->len[k] == len && memcmp(L->seq[k], seq, sizeof *seq * (size_t)len) == 0)
            return 1;
    return 0;
}

/* A random word of 2..4 phonemes. */
static int kws_word(rng_state *r, int *seq)
{
    int len = 2 + (int)rng_below(r, KWS_MAXLEN - 1);
    for (int i = 0; i < len; i++)
        seq[i] = (int)rng_below(r, KWS_PHONES);
    return len;
}

/* Phoneme means: coefficient 0 (the frame's energy) N(0, 1), coefficient j ≥ 1
 * N(0, (3 / (1 + j/4))²): like MFCCs, higher coefficients vary less. Ten distinct
 * keywords of 2-4 phonemes. */
static void kws_language(rng_state *r, kws_lang *L)
{
    for (int p = 0; p < KWS_PHONES; p++)
        for (int j = 0; j < KWS_F; j++)
            L->phone[p][j] = rng_normal(r) * (j == 0 ? 1.0f : 3.0f / (1.0f + j / 4.0f));
    memset(L->len, 0, sizeof L->len);
    for (int k = 2; k < KWS_CLASSES; k++) {
        int seq[KWS_MAXLEN] = {0}, len;
        do
            len = kws_word(r, seq);
        while (kws_is_keyword(L, seq, len));
        L->len[k] = len;
        memcpy(L->seq[k], seq, sizeof seq);
    }
}

/* One utterance of class k into x (49 frames x 10). Per utterance a speaker: an offset
 * N(0, 0.6²) on every coefficient of every phoneme, a loudness N(0, 1) on coefficient 0,
 * a speaking rate in [0.7, 1.4]; and a background level b in [0, 1]. The background is
 * AR(1) noise over time (n_t = 0.7 n_{t-1} + N(0, (0.3 + 0.3 b)²) per coefficient) on an
 * energy floor of -5 + 2.5 b. Silence (k = 0) is background only. A word (keyword k, or
 * for k = 1 a random 2-4 phoneme word that is no keyword) lasts round(U(4, 7) · rate)
 * frames per phoneme (at least 2, the whole word at most 45: rescaled), starts at a
 * uniform frame where it fits, and each of its frames is the phoneme's mean (blended from
 * the previous phoneme's over the first two frames: coarticulation) + the speaker offset
 * + N(0, 0.7²) + half the background, its energy raised by 4 + loudness. */
static void kws_utterance(rng_state *r, const kws_lang *L, int k, float *x)
{
    float off[KWS_F], noise[KWS_F] = {0};
    for (int j = 0; j < KWS_F; j++)
        off[j] = 0.6f * rng_normal(r);
    float loud = rng_normal(r);
    double rate = uniform(r, 0.7, 1.4);
    float b = rng_uniform(r);
    for (int t = 0; t < KWS_T; t++)
        for (int j = 0; j < KWS_F; j++) {
            noise[j] = 0.7f * noise[j] + (0.3f + 0.3f * b) * rng_normal(r);
            x[t * KWS_F + j] = noise[j] + (j == 0 ? -5.0f + 2.5f * b : 0.0f);
        }
    if (k == 0)
        return;
    int seq[KWS_MAXLEN] = {0}, len;
    if (k == 1) {
        do
            len = kws_word(r, seq);
        while (kws_is_keyword(L, seq, len));
    } else {
        len = L->len[k];
        memcpy(seq, L->seq[k], sizeof seq);
    }
    int dur[KWS_MAXLEN], total = 0;
    for (int i = 0; i < len; i++) {
        dur[i] = (int)floor(uniform(r, 4, 7) * rate + 0.5);
        if (dur[i] < 2)
            dur[i] = 2;
        total += dur[i];
    }
    if (total > 45) {
        int t2 = 0;
        for (int i = 0; i < len; i++) {
            dur[i] = dur[i] * 45 / total;
            if (dur[i] < 2)
                dur[i] = 2;
            t2 += dur[i];
        }
        total = t2;
    }
    int t = (int)rng_below(r, (uint32_t)(KWS_T - total + 1));
    for (int i = 0; i < len; i++)
        for (int f = 0; f < dur[i]; f++, t++) {
            const float *cur = L->phone[seq[i]];
            const float *prev = i > 0 ? L->phone[seq[i - 1]] : cur;
            float w = f < 2 ? (f + 1) / 3.0f : 1.0f;
            for (int j = 0; j < KWS_F; j++) {
                float m = prev[j] + w * (cur[j] - prev[j]);
                float v = m + off[j] + 0.7f * rng_normal(r) + 0.5f * x[t * KWS_F + j];
                x[t * KWS_F + j] = v + (j == 0 ? 4.0f + loud : 0.0f);
            }
        }
}

static int kws_set(const kws_lang *L, rng_state *r, int32_t n, const char *dir, const char *xname,
                   const char *yname, qerr *e)
{
    float *x = malloc(sizeof *x * (size_t)n * KWS_T * KWS_F);
    uint8_t *y = balanced_labels(r, n, KWS_CLASSES);
    int rc = -1;
    if (!x || !y) {
        qerr_set(e, "kws: out of memory");
        goto done;
    }
    for (int32_t i = 0; i < n; i++)
        kws_utterance(r, L, y[i], x + (size_t)i * KWS_T * KWS_F);
    int64_t xs[4] = {n, KWS_T, KWS_F, 1};
    rc = write_set(dir, xname, yname, NPY_F4, x, 4, xs, y, e);
done:
    free(x);
    free(y);
    return rc;
}

static int make_kws(const options *o, qerr *e)
{
    kws_lang L;
    rng_state r;
    stream(&r, o->seed, S_LANG);
    kws_language(&r, &L);
    stream(&r, o->seed, S_TRAIN);
    if (kws_set(&L, &r, o->n_train, o->out, "x_train.npy", "y_train.npy", e))
        return -1;
    stream(&r, o->seed, S_TEST);
    return kws_set(&L, &r, o->n_test, o->out, "x_test.npy", "y_test.npy", e);
}

/* -------------------------------------------------------------------- main */

static const char usage[] =
    "usage: mkdata ic|ad|vww|kws OUT [--seed S] [--train N] [--val N] [--test N]\n"
    "              [--class K] [--fmnist DIR]\n"
    "\n"
    "Makes the data set of one MLPerf Tiny example in folder OUT (.npy files):\n"
    "  ic   ResNet-8: Fashion-MNIST padded to 32x32x3 (grey in 3 channels), 10 classes\n"
    "       [train 10000, test 1000]\n"
    "  ad   autoencoder: Fashion-MNIST resized to 20x32 = 640 features in [0, 1]; class\n"
    "       --class normal [7, sneaker], the others anomalies; training normals only,\n"
    "       validation and test half anomalies [train 5000, val 500 + 500, test 1000 + 1000]\n"
    "  vww  MobileNetV1: 96x96x3 scenes of Fashion-MNIST items on textured backgrounds,\n"
    "       label 1 when an item of --class [8, bag] is in the scene [train 3000, test 500]\n"
    "  kws  DS-CNN: synthetic 49x10 MFCC-like features, 12 classes (silence, unknown,\n"
    "       10 keywords) [train 12000, test 2000]\n"
    "The same options give the same bytes. --fmnist: the Fashion-MNIST IDX files\n"
    "[/usr/share/datasets/fashion-mnist].\n";

/* A non-negative integer option value below limit. */
static int parse_count(const char *flag, const char *v, int64_t limit, int64_t *out, qerr *e)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < 0 || x >= limit)
        return qerr_set(e, "%s: '%s' is not an integer in [0, %" PRId64 ")", flag, v, limit);
    *out = x;
    return 0;
}

static int parse_args(int argc, char **argv, options *o, qerr *e)
{
    memset(o, 0, sizeof *o);
    o->fmnist = "/usr/share/datasets/fashion-mnist";
    o->seed = 1;
    o->n_train = o->n_val = o->n_test = o->cls = -1;
    if (argc < 3)
        return qerr_set(e, "expected a kind and an output folder");
    o->kind = argv[1];
    o->out = argv[2];
    for (int i = 3; i < argc; i += 2) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t x = 0;
        if (!v)
            return qerr_set(e, "%s: missing value", f);
        if (strcmp(f, "--fmnist") == 0) {
            o->fmnist = v;
            continue;
        }
        if (parse_count(f, v, strcmp(f, "--seed") == 0 ? INT64_MAX : 1 << 24, &x, e))
            return -1;
        if (strcmp(f, "--seed") == 0)
            o->seed = (uint64_t)x;
        else if (strcmp(f, "--train") == 0)
            o->n_train = (int32_t)x;
        else if (strcmp(f, "--val") == 0)
            o->n_val = (int32_t)x;
        else if (strcmp(f, "--test") == 0)
            o->n_test = (int32_t)x;
        else if (strcmp(f, "--class") == 0)
            o->cls = (int32_t)x;
        else
            return qerr_set(e, "%s: unknown option", f);
    }
    struct {
        const char *kind;
        int32_t train, val, test, cls;
    } defaults[] = {
        {"ic", 10000, 0, 1000, 0},
        {"ad", 5000, 500, 1000, 7},
        {"vww", 3000, 0, 500, 8},
        {"kws", 12000, 0, 2000, 0},
    };
    for (size_t k = 0; k < sizeof defaults / sizeof defaults[0]; k++) {
        if (strcmp(o->kind, defaults[k].kind) != 0)
            continue;
        if (o->n_train < 0)
            o->n_train = defaults[k].train;
        if (o->n_val < 0)
            o->n_val = defaults[k].val;
        if (o->n_test < 0)
            o->n_test = defaults[k].test;
        if (o->cls < 0)
            o->cls = defaults[k].cls;
        if (o->cls >= FM_CLASSES)
            return qerr_set(e, "--class: %" PRId32 " is not a Fashion-MNIST class (0..9)", o->cls);
        if (o->n_train < 1 || o->n_test < 1 || (strcmp(o->kind, "ad") == 0 && o->n_val < 1))
            return qerr_set(e, "%s: every set needs at least one example", o->kind);
        return 0;
    }
    return qerr_set(e, "'%s': not a kind (ic, ad, vww, kws)", o->kind);
}

int main(int argc, char **argv)
{
    options o;
    qerr e = {{0}};
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (parse_args(argc, argv, &o, &e)) {
        fprintf(stderr, "mkdata: %s\n%s", e.msg, usage);
        return 2;
    }
    if (qfile_mkdirs(o.out, &e)) {
        fprintf(stderr, "mkdata: %s\n", e.msg);
        return 1;
    }
    int rc;
    if (strcmp(o.kind, "kws") == 0) {
        rc = make_kws(&o, &e);
    } else {
        fm_split tr, te;
        if (fm_read(o.fmnist, "train", &tr, &e)) {
            fprintf(stderr, "mkdata: %s\n", e.msg);
            return 1;
        }
        if (fm_read(o.fmnist, "t10k", &te, &e)) {
            fm_free(&tr);
            fprintf(stderr, "mkdata: %s\n", e.msg);
            return 1;
        }
        rc = strcmp(o.kind, "ic") == 0   ? make_ic(&o, &tr, &te, &e)
             : strcmp(o.kind, "ad") == 0 ? make_ad(&o, &tr, &te, &e)
                                         : make_vww(&o, &tr, &te, &e);
        fm_free(&tr);
        fm_free(&te);
    }
    if (rc) {
        fprintf(stderr, "mkdata: %s\n", e.msg);
        return 1;
    }
    printf("mkdata %s: %s: %" PRId32 " training", o.kind, o.out, o.n_train);
    if (strcmp(o.kind, "ad") == 0)
        printf(" (normal class %" PRId32 "), %" PRId32 " + %" PRId32 " validation, %" PRId32
               " + %" PRId32 " test (normal + anomalies)",
               o.cls, o.n_val, o.n_val, o.n_test, o.n_test);
    else
        printf(", %" PRId32 " test", o.n_test);
    if (strcmp(o.kind, "vww") == 0)
        printf(" (label 1: an item of class %" PRId32 ")", o.cls);
    printf(", seed %" PRIu64 "\n", o.seed);
    return 0;
}
