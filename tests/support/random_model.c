#include "random_model.h"

#include "q8_exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the builder draws; global average pool is an avgpool variant. */
typedef enum {
    V_CONV2D,
    V_DWCONV2D,
    V_LINEAR,
    V_MAXPOOL,
    V_AVGPOOL,
    V_GLOBAL_AVGPOOL,
    V_ADD,
    V_FLATTEN,
    V_COUNT
} variant;

typedef struct {
    rng_state *r;
    random_model_opts o;
    q_model *m;
    int cap_layers;
    int32_t layer_weights; /* weight cap of one layer */
    int logits;            /* building the final linear: mostly without activation */
} builder;

void random_model_default_opts(random_model_opts *o)
{
    o->max_layers = 8;
    o->every_op = 0;
    o->end_linear = 1;
    o->max_elems = 1024;
    o->max_weights = 16000;
    o->per_channel = -1;
    o->breadth = 0;
    o->weight4 = 0;
}

static int rint_in(rng_state *r, int lo, int hi)
{
    return lo + (int)rng_below(r, (uint32_t)(hi - lo + 1));
}

static double runif(rng_state *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)rng_uniform(r);
}

static int imin(int a, int b) { return a < b ? a : b; }

/* Zero-points over the whole range, the extremes and 0 more often. */
static int32_t rand_zp(rng_state *r)
{
    switch (rng_below(r, 8)) {
    case 0: return -128;
    case 1: return 127;
    case 2: return 0;
    default: return rint_in(r, -128, 127);
    }
}

/* Keeps activation scales far inside q_model_check's [1e-12, 1e12]. */
static double clamp_scale(double s)
{
    return s < 0x1p-30 ? 0x1p-30 : s > 0x1p20 ? 0x1p20 : s;
}

static q_layer *new_layer(builder *b, q_op op, int input)
{
    q_model *m = b->m;
    q_layer *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof *l);
    l->op = op;
    l->input = input;
    l->input2 = -1;
    snprintf(l->name, sizeof l->name, "%s_%d", q_op_names[op], m->n_layers);
    m->n_layers++;
    return l;
}

static q_shape shape_of(builder *b, int t) { return q_model_tensor_shape(b->m, t); }
static q_quant quant_of(builder *b, int t) { return q_model_tensor_quant(b->m, t); }

/* One spatial axis of a conv window: kernel 1..5, padding below the kernel
 * (mostly "same"-like), stride 1..3; the kernel fits the padded input. */
static void rand_axis(rng_state *r, int32_t in, int32_t *k, int32_t *pad, int32_t *stride)
{
    *k = rint_in(r, 1, 5);
    *pad = rint_in(r, 0, imin(*k - 1, 2));
    while (in + 2 * *pad < *k) {
        if (*pad < *k - 1)
            (*pad)++;
        else
            (*k)--;
    }
    *stride = rng_below(r, 2) ? 1 : rint_in(r, 1, 3);
}

static int32_t out_dim(int32_t in, int32_t k, int32_t pad, int32_t stride)
{
    return (in + 2 * pad - k) / stride + 1;
}

/* Kernel, stride, padding and output height/width of a conv or dwconv on input
 * shape in, such that the output can have at most max_elems elements (with one
 * channel for conv2d, with in.c for dwconv2d) and the weights of one output
 * channel fit per_out_cap (which must be >= in.c for conv2d, >= 1 for dwconv2d). */
static void rand_conv_window(builder *b, q_layer *l, q_shape in, int32_t per_out_cap)
{
    rand_axis(b->r, in.h, &l->win.kernel_h, &l->win.pad_top, &l->win.stride_h);
    rand_axis(b->r, in.w, &l->win.kernel_w, &l->win.pad_left, &l->win.stride_w);
    int32_t oh = out_dim(in.h, l->win.kernel_h, l->win.pad_top, l->win.stride_h);
    int32_t ow = out_dim(in.w, l->win.kernel_w, l->win.pad_left, l->win.stride_w);
    /* Padding can grow the output; without padding it cannot. */
    if (oh * ow * (l->op == Q_OP_DWCONV2D ? in.c : 1) > b->o.max_elems) {
        l->win.pad_top = l->win.pad_left = 0;
        l->win.kernel_h = imin(l->win.kernel_h, in.h);
        l->win.kernel_w = imin(l->win.kernel_w, in.w);
    }
    int32_t per_out = l->win.kernel_h * l->win.kernel_w * (l->op == Q_OP_CONV2D ? in.c : 1);
    if (per_out > per_out_cap) {
        l->win.kernel_h = l->win.kernel_w = 1;
        l->win.pad_top = l->win.pad_left = 0;
    }
    l->out_shape.h = out_dim(in.h, l->win.kernel_h, l->win.pad_top, l->win.stride_h);
    l->out_shape.w = out_dim(in.w, l->win.kernel_w, l->win.pad_left, l->win.stride_w);
    l->win.pad_bottom = l->win.pad_top;
    l->win.pad_right = l->win.pad_left;
}

/* breadth: a window for layer l (conv2d, dwconv2d, maxpool, avgpool) on
 * input `in`, each axis on its own: kernel 1..5 (pools 1..3), stride 1..3,
 * dilation 2..3 on one conv in three, padding `valid`, TensorFlow's `same`
 * or per side below the effective kernel; resolved by q_geom_derive, which
 * also sets l->out_shape's height and width. The output (with out_c
 * channels per position) stays within max_elems and the weights of one
 * output channel (kernel taps times per_tap) within per_out_cap; after a few
 * draws that do not fit, 1x1 stride 1. */
static void rand_window_breadth(builder *b, q_layer *l, q_shape in, int32_t out_c,
                                int32_t per_tap, int32_t per_out_cap)
{
    rng_state *r = b->r;
    int pool = l->op == Q_OP_MAXPOOL || l->op == Q_OP_AVGPOOL;
    for (int tries = 0;; tries++) {
        q_window w = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
        q_pad_rule rule = Q_PAD_SIDES;
        if (tries < 8) {
            int32_t kmax = pool ? 3 : 5;
            w.kernel_h = rint_in(r, 1, kmax);
            w.kernel_w = rng_below(r, 3) ? rint_in(r, 1, kmax) : w.kernel_h;
            w.stride_h = rng_below(r, 2) ? 1 : rint_in(r, 1, 3);
            w.stride_w = rng_below(r, 2) ? w.stride_h : rint_in(r, 1, 3);
            if (pool && rng_below(r, 2)) { /* non-overlapping, the usual pool */
                w.stride_h = w.kernel_h;
                w.stride_w = w.kernel_w;
            }
            if (!pool && rng_below(r, 3) == 0) {
                w.dilation_h = rint_in(r, 1, 3);
                w.dilation_w = rint_in(r, 1, 3);
            }
            int32_t eh = (w.kernel_h - 1) * w.dilation_h + 1;
            int32_t ew = (w.kernel_w - 1) * w.dilation_w + 1;
            switch (rng_below(r, 4)) {
            case 0: rule = Q_PAD_VALID; break;
            case 1: rule = Q_PAD_SAME; break;
            default:
                w.pad_top = rint_in(r, 0, imin(eh - 1, 2));
                w.pad_bottom = rint_in(r, 0, imin(eh - 1, 2));
                w.pad_left = rint_in(r, 0, imin(ew - 1, 2));
                w.pad_right = rint_in(r, 0, imin(ew - 1, 2));
            }
        }
        q_geom g = {.op = l->op, .win = w, .pad_rule = rule, .out_c = out_c,
                    .multiplier = l->op == Q_OP_DWCONV2D ? l->multiplier : 0};
        q_shape o;
        const char *key;
        char why[160];
        if (q_geom_derive(&g, in, in, &o, NULL, &key, why, sizeof why) == 0 &&
            (int64_t)o.h * o.w * out_c <= b->o.max_elems &&
            (int64_t)g.win.kernel_h * g.win.kernel_w * per_tap <= per_out_cap) {
            l->win = g.win;
            l->out_shape.h = o.h;
            l->out_shape.w = o.w;
            return;
        }
    }
}

static int calibrate(builder *b, q_layer *l);

/* Weights, weight scales, bias and output quantization of a conv2d, dwconv2d
 * or linear layer with K terms per output, out_c outputs. */
static int fill_weights(builder *b, q_layer *l, int32_t k, int32_t out_c, int32_t n_weights)
{
    rng_state *r = b->r;
    q_quant in_q = quant_of(b, l->input);
    l->per_channel = b->o.per_channel < 0 ? (int)rng_below(r, 2) : b->o.per_channel;
    int n_scales = l->per_channel ? out_c : 1;
    l->w_scale = malloc(sizeof(double) * (size_t)n_scales);
    l->weights = malloc((size_t)n_weights);
    l->bias = malloc(sizeof(int32_t) * (size_t)out_c);
    if (!l->w_scale || !l->weights || !l->bias)
        return -1;

    double base = exp2(runif(r, -9, -5));
    double mean_ws = 0;
    for (int c = 0; c < n_scales; c++) {
        l->w_scale[c] = base * exp2(runif(r, -1, 1));
        mean_ws += l->w_scale[c] / n_scales;
    }
    /* weight4: one weighted layer in three has 4-bit weights, in [-7, 7] */
    int32_t full = 127;
    if (b->o.weight4 && rng_below(r, 3) == 0) {
        l->weight_bits = 4;
        full = q_weight_max(4);
    }
    /* One magnitude per output channel: some use the full [-127, 127], some little of it. */
    int32_t per_oc = n_weights / out_c;
    double wstd = 0;
    for (int32_t oc = 0; oc < out_c; oc++) {
        int wmax = rng_below(r, 4) == 0 ? full : rint_in(r, 1, full);
        wstd += wmax / sqrt(3.0) / out_c;
        for (int32_t j = 0; j < per_oc; j++) {
            /* dwconv weights are (kh, kw, c): channel oc is every out_c-th weight */
            int32_t idx = l->op == Q_OP_DWCONV2D ? j * out_c + oc : oc * per_oc + j;
            l->weights[idx] = (int8_t)rint_in(r, -wmax, wmax);
        }
    }
    /* acc std ~ sqrt(K) * std(w) * std(x - zp) with std(x - zp) ~ 74 for uniform
     * int8: a first guess of the output scale (~40 steps of standard deviation)
     * that calibrate() then replaces by a measured one. */
    double acc_std = sqrt((double)k) * (wstd > 0.5 ? wstd : 0.5) * 74.0;
    l->out_q.scale = clamp_scale(in_q.scale * mean_ws * acc_std / 40.0);
    for (int32_t oc = 0; oc < out_c; oc++)
        l->bias[oc] = 0; /* calibrate() draws them against the measured spread */
    l->act = b->logits && rng_below(r, 4) ? Q_ACT_NONE : (q_act)rng_below(r, Q_ACT_COUNT);
    return calibrate(b, l);
}

/* Picks the output scale and zero-point of l, the last layer built so far,
 * from what it produces: runs the partial model on a few uniform random
 * inputs with l's activation off and a scale 16 times the first guess (so
 * nothing saturates), then sets the scale so that the real output's standard
 * deviation spans ~30 steps (times 2^[-1, 1]), and the zero-point so that the
 * values are centred (no activation) or start near -128 (relu, relu6); one
 * time in eight the zero-point is drawn over the whole range instead, for the
 * edges. For relu6 the weight scales are scaled so that the real output
 * is of the order of 6. Without this, relu on a high zero-point or a too coarse scale make
 * many random models ignore their input, which makes bit-exact tests weak.
 * Keeps the first guess when the output does not vary. Returns -1 when
 * memory runs out. */
/* Runs the model built so far on RUNS uniform random inputs and measures its
 * last tensor: mean_q over everything (for the zero-point) and var_q, the
 * variance the input causes (per element across runs, averaged over
 * elements: spread across channels and positions comes from biases and is not
 * what the next layers must resolve), sat the fraction at -128 or 127. */
static int measure(builder *b, const q_layer *l, double *mean_q, double *var_q, double *sat)
{
    enum { RUNS = 4 };
    q_model *m = b->m;
    qerr e;
    q8_exec *x = q_model_check(m, "random_model", &e) ? NULL : q8_exec_new(m, &e);
    int32_t n_in = q_shape_size(m->in_shape), n_out = q_shape_size(l->out_shape);
    int8_t *in = malloc((size_t)n_in), *out = malloc((size_t)n_out * RUNS);
    if (!x || !in || !out) {
        q8_exec_free(x);
        free(in);
        free(out);
        return -1;
    }
    for (int k = 0; k < RUNS; k++) {
        for (int32_t i = 0; i < n_in; i++)
            in[i] = (int8_t)((int)rng_below(b->r, 256) - 128);
        q8_exec_run(x, in, out + (size_t)k * n_out);
    }
    q8_exec_free(x);
    free(in);
    *mean_q = *var_q = *sat = 0;
    for (int32_t i = 0; i < n_out; i++) {
        double s1 = 0, s2 = 0;
        for (int k = 0; k < RUNS; k++) {
            int8_t q = out[(size_t)k * n_out + i];
            s1 += q;
            s2 += (double)q * q;
            *sat += (q == -128 || q == 127) / (double)RUNS / n_out;
        }
        *mean_q += s1 / RUNS / n_out;
        *var_q += (s2 / RUNS - (s1 / RUNS) * (s1 / RUNS)) / n_out;
    }
    free(out);
    return 0;
}

/* Picks the output scale and zero-point of l, the last layer built so far,
 * from what it produces. With l's activation off and zero-point 0, the scale
 * starts at 16 times the first guess (nothing saturates) and shrinks by 16
 * until the input moves the output by some steps; then the scale is set so
 * that the input-driven standard deviation spans ~30 steps (times 2^[-1, 1])
 * and the zero-point so that the values are centred (no activation) or start
 * near -128 (relu, relu6); one time in sixteen the zero-point is drawn over a
 * wide range instead, for the edges. For relu6 the weight scales are scaled
 * so that the real output is of the order of 6. Without this, relu on a high
 * zero-point or a too coarse scale make many random models ignore their
 * input, which makes bit-exact tests weak. Returns -1 when memory runs out. */
/* The output quantization to measure l with at scale s, zero-point 0. An
 * average pool whose quantization would equal its input's would run as the
 * division kind, which it will not be (unless breadth keeps it so): it is
 * measured through a scale one step of a double away that gives the
 * rescaling kind the same multiplier, so the measurements (and every later
 * draw) are those of the rescaling pool, as before the division kind existed. */
static q_quant measure_quant(builder *b, const q_layer *l, double s)
{
    q_quant in_q = quant_of(b, l->input);
    if (l->op != Q_OP_AVGPOOL || s != in_q.scale || in_q.zero_point != 0)
        return (q_quant){s, 0};
    /* as q8_exec computes it: s_in / (s_out * kh * kw) */
    double kh = (double)l->win.kernel_h, kw = (double)l->win.kernel_w;
    fxp_requant want, got;
    if (fxp_quantize_multiplier(s / (s * kh * kw), &want))
        return (q_quant){s, 0};
    for (int dir = 0; dir < 2; dir++) {
        double s2 = nextafter(s, dir ? 0.0 : INFINITY);
        if (fxp_quantize_multiplier(s / (s2 * kh * kw), &got) == 0 &&
            got.multiplier == want.multiplier && got.shift == want.shift)
            return (q_quant){s2, 0};
    }
    return (q_quant){s, 0};
}

static int calibrate(builder *b, q_layer *l)
{
    rng_state *r = b->r;
    q_act act = l->act;
    l->act = Q_ACT_NONE;
    double s = clamp_scale(l->out_q.scale * 16); /* real = s * q while measuring */
    double mean_q, var_q, sat;
    for (int it = 0;; it++) {
        l->out_q = measure_quant(b, l, s);
        if (measure(b, l, &mean_q, &var_q, &sat))
            return -1;
        if (var_q >= 25 || sat > 0.01 || it == 4 || s / 16 < 0x1p-30)
            break;
        s /= 16;
    }
    if (l->bias && var_q > 0.25) {
        /* Biases of the order of what the input moves (half a standard
         * deviation), so that neither dominates; now and then one of four or
         * more channels gets an extreme bias (at the accumulator bound): it
         * saturates. */
        q_quant in_q = quant_of(b, l->input);
        int32_t out_c = q_layer_out_channels(l);
        int64_t k = q_layer_weight_count(b->m, l) / (l->op == Q_OP_DWCONV2D ? 1 : out_c);
        if (l->op == Q_OP_DWCONV2D)
            k = (int64_t)l->win.kernel_h * l->win.kernel_w;
        double limit = (double)(INT32_MAX - k * 127 * 255); /* q_model_check's bound */
        for (int32_t oc = 0; oc < out_c; oc++) {
            double std_acc = sqrt(var_q) * s / (in_q.scale * l->w_scale[l->per_channel ? oc : 0]);
            double v = (double)rng_normal(r) * 0.5 * std_acc;
            l->bias[oc] = (int32_t)llround(v < -limit ? -limit : v > limit ? limit : v);
        }
        if (out_c >= 4 && rng_below(r, 8) == 0)
            l->bias[rng_below(r, (uint32_t)out_c)] = (int32_t)(rng_below(r, 2) ? limit : -limit);
        if (measure(b, l, &mean_q, &var_q, &sat))
            return -1;
    }
    if (act == Q_ACT_RELU6 && l->w_scale && var_q > 0.25) {
        /* relu6 clamps at real 6: bring the real output to a standard deviation
         * of ~3 by scaling the weight scales (the integers stay; bias scale
         * s_in * s_w follows), else it is a constant or a sign. */
        double f = 3.0 / (sqrt(var_q) * s) * exp2(runif(r, -1, 1));
        int n_scales = l->per_channel ? q_layer_out_channels(l) : 1;
        for (int c = 0; c < n_scales; c++) {
            double ws = l->w_scale[c] * f;
            l->w_scale[c] = ws < 1e-9 ? 1e-9 : ws > 1e3 ? 1e3 : ws;
        }
        s *= f;
    }
    double scale = var_q > 0.25 ? clamp_scale(sqrt(var_q) * s / 30.0 * exp2(runif(r, -1, 1))) : s;
    int32_t zp;
    if (rng_below(r, 16) == 0) {
        /* anywhere for no activation; relu keeps part of the range open */
        zp = act == Q_ACT_NONE ? rand_zp(r) : rint_in(r, -128, 0);
    } else if (act == Q_ACT_NONE) {
        double centre = -mean_q * s / scale; /* real mean at q = 0 */
        zp = (int32_t)(centre < -128 ? -128 : centre > 127 ? 127 : lround(centre));
    } else {
        zp = rint_in(r, -128, -112);
    }
    l->out_q = (q_quant){scale, zp};
    l->act = act;
    return 0;
}

static int add_conv2d(builder *b, int input)
{
    q_layer *l = new_layer(b, Q_OP_CONV2D, input);
    q_shape in = shape_of(b, input);
    if (b->o.breadth)
        rand_window_breadth(b, l, in, 1, in.c, b->layer_weights);
    else
        rand_conv_window(b, l, in, b->layer_weights);
    int32_t per_out = l->win.kernel_h * l->win.kernel_w * in.c;
    int32_t max_c = imin(b->o.max_elems / (l->out_shape.h * l->out_shape.w),
                         b->layer_weights / per_out);
    l->out_shape.c = rint_in(b->r, 1, imin(8, max_c < 1 ? 1 : max_c));
    return fill_weights(b, l, per_out, l->out_shape.c, per_out * l->out_shape.c);
}

static int add_dwconv2d(builder *b, int input)
{
    q_layer *l = new_layer(b, Q_OP_DWCONV2D, input);
    q_shape in = shape_of(b, input);
    l->multiplier = 1;
    if (b->o.breadth) {
        /* a channel multiplier on one in three, if the channels stay few */
        if (rng_below(b->r, 3) == 0 && in.c <= 8)
            l->multiplier = rint_in(b->r, 2, 3);
        rand_window_breadth(b, l, in, in.c * l->multiplier, 1,
                            b->layer_weights / (in.c * l->multiplier));
    } else {
        rand_conv_window(b, l, in, b->layer_weights / in.c);
    }
    int32_t out_c = in.c * l->multiplier;
    l->out_shape.c = out_c;
    int32_t k = l->win.kernel_h * l->win.kernel_w;
    return fill_weights(b, l, k, out_c, k * out_c);
}

/* A dwconv that keeps the shape (stride 1, kernel 1 or 3 with "same" padding). */
static int add_same_dwconv2d(builder *b, int input)
{
    q_layer *l = new_layer(b, Q_OP_DWCONV2D, input);
    q_shape in = shape_of(b, input);
    int32_t k = rng_below(b->r, 2) ? 3 : 1;
    l->win.kernel_h = l->win.kernel_w = k;
    l->win.pad_top = l->win.pad_bottom = l->win.pad_left = l->win.pad_right = k / 2;
    l->win.stride_h = l->win.stride_w = 1;
    l->out_shape = in;
    return fill_weights(b, l, k * k, in.c, k * k * in.c);
}

static int add_linear(builder *b, int input)
{
    q_layer *l = new_layer(b, Q_OP_LINEAR, input);
    int32_t in_n = q_shape_size(shape_of(b, input));
    int32_t max_out = b->layer_weights / in_n;
    int32_t out = rint_in(b->r, 1, imin(16, max_out < 1 ? 1 : max_out));
    l->out_shape = (q_shape){1, 1, out};
    return fill_weights(b, l, in_n, out, in_n * out);
}

static int add_pool(builder *b, int input, variant v)
{
    rng_state *r = b->r;
    q_layer *l = new_layer(b, v == V_MAXPOOL ? Q_OP_MAXPOOL : Q_OP_AVGPOOL, input);
    q_shape in = shape_of(b, input);
    q_quant in_q = quant_of(b, input);
    if (b->o.breadth) {
        /* padded or not; average pools keep their input's quantization (TFLite's
         * division) on two in three, always when padded */
        if (v == V_GLOBAL_AVGPOOL) {
            l->win = (q_window){in.h, in.w, 1, 1, 1, 1, 0, 0, 0, 0};
            l->out_shape = (q_shape){1, 1, in.c};
        } else {
            rand_window_breadth(b, l, in, in.c, 1, INT32_MAX);
            l->out_shape.c = in.c;
        }
        l->out_q = in_q;
        const q_window *w = &l->win;
        int padded = w->pad_top || w->pad_bottom || w->pad_left || w->pad_right;
        if (l->op == Q_OP_MAXPOOL || padded || rng_below(r, 3) != 0)
            return 0;
        return calibrate(b, l);
    }
    if (v == V_GLOBAL_AVGPOOL) {
        l->win.kernel_h = in.h;
        l->win.kernel_w = in.w;
        l->win.stride_h = l->win.stride_w = 1;
    } else {
        l->win.kernel_h = rint_in(r, 1, imin(3, in.h));
        l->win.kernel_w = rint_in(r, 1, imin(3, in.w));
        if (rng_below(r, 2)) {
            l->win.stride_h = l->win.kernel_h;
            l->win.stride_w = l->win.kernel_w;
        } else {
            l->win.stride_h = rint_in(r, 1, 3);
            l->win.stride_w = rint_in(r, 1, 3);
        }
    }
    l->out_shape = (q_shape){out_dim(in.h, l->win.kernel_h, 0, l->win.stride_h),
                             out_dim(in.w, l->win.kernel_w, 0, l->win.stride_w), in.c};
    l->out_q = in_q;
    if (l->op == Q_OP_MAXPOOL)
        return 0;
    if (calibrate(b, l))
        return -1;
    /* Without breadth, average pools are of the rescaling kind (the one the
     * generator prints): an output quantization that calibration left equal
     * to the input's (a pool whose input does not move) would make it
     * TFLite's division. Changes no draw. */
    if (l->out_q.scale == in_q.scale && l->out_q.zero_point == in_q.zero_point)
        l->out_q.scale *= 2;
    return 0;
}

static void add_flatten(builder *b, int input)
{
    q_layer *l = new_layer(b, Q_OP_FLATTEN, input);
    l->out_shape = (q_shape){1, 1, q_shape_size(shape_of(b, input))};
    l->out_q = quant_of(b, input);
}

static int same_shape(q_shape a, q_shape c)
{
    return a.h == c.h && a.w == c.w && a.c == c.c;
}

/* add(input, with): with is an earlier tensor of input's shape; when there is
 * none, a shape-keeping dwconv of input makes one (a residual block). */
static int add_add(builder *b, int input)
{
    rng_state *r = b->r;
    q_shape in = shape_of(b, input);
    int cands[64], n = 0;
    for (int t = 0; t <= b->m->n_layers && n < 64; t++)
        if (t != input && same_shape(shape_of(b, t), in))
            cands[n++] = t;
    int a = input, with;
    if (n == 0 || rng_below(r, 4) == 0) {
        if (add_same_dwconv2d(b, input))
            return -1;
        with = input;
        a = b->m->n_layers; /* the dwconv's tensor */
    } else {
        with = cands[rng_below(r, (uint32_t)n)];
    }
    if (rng_below(r, 2)) {
        int t = a;
        a = with;
        with = t;
    }
    q_layer *l = new_layer(b, Q_OP_ADD, a);
    l->input2 = with;
    l->out_shape = in;
    q_quant q1 = quant_of(b, a), q2 = quant_of(b, with);
    l->out_q.scale = q1.scale > q2.scale ? q1.scale : q2.scale;
    /* relu6 only where the sum can be of the order of 6, else it is a constant */
    l->act = (q_act)rng_below(r, l->out_q.scale * 255 <= 24 ? Q_ACT_COUNT : Q_ACT_RELU6);
    return calibrate(b, l);
}

static int add_variant(builder *b, variant v)
{
    int cur = b->m->n_layers;
    /* Sometimes branch from an earlier tensor, so several tensors stay live. */
    int input = cur > 0 && rng_below(b->r, 6) == 0 ? (int)rng_below(b->r, (uint32_t)cur + 1)
                                                     : cur;
    switch (v) {
    case V_CONV2D: return add_conv2d(b, input);
    case V_DWCONV2D: return add_dwconv2d(b, input);
    case V_LINEAR: return add_linear(b, input);
    case V_MAXPOOL:
    case V_AVGPOOL:
    case V_GLOBAL_AVGPOOL: return add_pool(b, input, v);
    case V_ADD: return add_add(b, input);
    case V_FLATTEN: add_flatten(b, input); return 0;
    default: return -1;
    }
}

int random_model(rng_state *r, const random_model_opts *opts, q_model *out)
{
    builder b = {.r = r, .m = out};
    if (opts)
        b.o = *opts;
    else
        random_model_default_opts(&b.o);
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "random_model");

    /* The plan: every variant once (every_op), random extras, shuffled; then the last layer. */
    int32_t plan[V_COUNT + 64 + 1];
    int n_plan = 0;
    if (b.o.every_op)
        for (int v = 0; v < V_COUNT; v++)
            plan[n_plan++] = v;
    int extra = (int)rng_below(r, (uint32_t)imin(b.o.max_layers, 64) + 1);
    for (int i = 0; i < extra; i++)
        plan[n_plan++] = (int32_t)rng_below(r, V_COUNT);
    rng_shuffle(r, plan, n_plan);
    /* Ops that end the spatial part (linear, flatten, global pool) mostly move
     * behind the others, so that most convs and pools see a real image. */
    int32_t late[V_COUNT + 64];
    int n_early = 0, n_late = 0;
    for (int i = 0; i < n_plan; i++) {
        int reduces = plan[i] == V_LINEAR || plan[i] == V_FLATTEN || plan[i] == V_GLOBAL_AVGPOOL;
        if (reduces && rng_below(r, 4) != 0)
            late[n_late++] = plan[i];
        else
            plan[n_early++] = plan[i];
    }
    for (int i = 0; i < n_late; i++)
        plan[n_early + i] = late[i];
    if (b.o.end_linear || n_plan == 0)
        plan[n_plan++] = b.o.end_linear ? V_LINEAR : (int32_t)rng_below(r, V_COUNT);

    int n_weighted = 1;
    for (int i = 0; i < n_plan; i++)
        n_weighted += plan[i] == V_CONV2D || plan[i] == V_DWCONV2D || plan[i] == V_LINEAR ||
                      plan[i] == V_ADD;
    b.layer_weights = b.o.max_weights / n_weighted;
    if (b.layer_weights < b.o.max_elems)
        b.layer_weights = b.o.max_elems; /* a 1x1 conv or linear to one output always fits */

    b.cap_layers = 2 * n_plan + 1; /* add may insert a dwconv before itself; softmax */
    out->layers = calloc((size_t)b.cap_layers, sizeof *out->layers);
    if (!out->layers)
        return -1;

    int c_choices[4] = {1, 2, 3, rint_in(r, 1, 8)};
    q_shape in = {rint_in(r, 1, 12), rint_in(r, 1, 12), c_choices[rng_below(r, 4)]};
    while (in.h * in.w * in.c > b.o.max_elems)
        in.h = (in.h + 1) / 2, in.w = (in.w + 1) / 2;
    out->in_shape = in;
    out->in_q.scale = rng_below(r, 4) == 0 ? 1.0 / 255.0 : exp2(runif(r, -10, 0));
    out->in_q.zero_point = rand_zp(r);

    for (int i = 0; i < n_plan; i++) {
        b.logits = b.o.end_linear && i == n_plan - 1;
        if (add_variant(&b, (variant)plan[i])) {
            q_model_free(out);
            return -1;
        }
    }
    /* breadth: a softmax over the last tensor's channels on one model in four */
    if (b.o.breadth && rng_below(r, 4) == 0) {
        q_layer *l = new_layer(&b, Q_OP_SOFTMAX, out->n_layers);
        l->out_shape = shape_of(&b, out->n_layers - 1);
        l->out_q = (q_quant){1.0 / 256.0, -128};
    }

    qerr e;
    if (q_model_check(out, "random_model", &e)) {
        fprintf(stderr, "random_model built an invalid model: %s\n", e.msg);
        q_model_free(out);
        return -1;
    }
    return 0;
}
