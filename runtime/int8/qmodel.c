/* qmodel — the frozen int8 model in memory: accessors and the validity check.
 *
 * q_model_check is the one place that decides whether a model is valid; the
 * frozen reader, the trainer's converter and the generator all rely on it, so
 * everything downstream (kernels, generated C) may assume what it checks.
 */
#include "qmodel.h"

#include "fixedpoint.h"
#include "q8_kernels.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const q_op_names[Q_OP_COUNT + 1] = {
    "conv2d", "dwconv2d", "linear", "maxpool", "avgpool", "add", "flatten", "softmax", NULL,
};

const char *const q_act_names[Q_ACT_COUNT + 1] = {"none", "relu", "relu6", NULL};

/* Limits that stop absurd files; with Q_MAX_ELEMS and Q_MAX_LAYERS (qmodel.h)
 * every size and index of the int8 path stays in int32 with room to spare. */

void q_model_free(q_model *m)
{
    if (!m)
        return;
    if (m->layers) {
        for (int i = 0; i < m->n_layers; i++) {
            free(m->layers[i].w_scale);
            free(m->layers[i].weights);
            free(m->layers[i].bias);
        }
        free(m->layers);
    }
    memset(m, 0, sizeof *m);
}

q_shape q_model_tensor_shape(const q_model *m, int t)
{
    return t == 0 ? m->in_shape : m->layers[t - 1].out_shape;
}

q_quant q_model_tensor_quant(const q_model *m, int t)
{
    return t == 0 ? m->in_q : m->layers[t - 1].out_q;
}

/* ---- the shape rule ----------------------------------------------------- */

static int geom_fail(const char **key, const char *k, char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int geom_fail(const char **key, const char *k, char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    *key = k;
    return -1;
}

/* Both values of a pair in [1, Q_MAX_ELEMS]. */
static int pair_ok(int32_t a, int32_t b)
{
    return a >= 1 && b >= 1 && a <= Q_MAX_ELEMS && b <= Q_MAX_ELEMS;
}

/* TensorFlow's `same` along one axis: the padding before and after. */
static void same_pad(int64_t in, int64_t stride, int64_t eff_kernel, int32_t *before,
                     int32_t *after)
{
    int64_t out = (in + stride - 1) / stride;
    int64_t total = (out - 1) * stride + eff_kernel - in;
    if (total < 0)
        total = 0;
    *before = (int32_t)(total / 2);
    *after = (int32_t)(total - total / 2);
}

/* The window of a conv or pool: defaults, pad rule, checks, output height and width. */
static int geom_window(q_geom *g, q_shape in, q_shape *out, const char **key, char *why,
                       size_t cap)
{
    q_window *w = &g->win;
    int pool = g->op == Q_OP_MAXPOOL || g->op == Q_OP_AVGPOOL;
    if (g->global) {
        *w = (q_window){in.h, in.w, in.h, in.w, 1, 1, 0, 0, 0, 0};
        g->pad_rule = Q_PAD_SIDES;
    }
    if (w->stride_h == 0 && w->stride_w == 0) {
        w->stride_h = pool ? w->kernel_h : 1;
        w->stride_w = pool ? w->kernel_w : 1;
    }
    if (w->dilation_h == 0 && w->dilation_w == 0)
        w->dilation_h = w->dilation_w = 1;
    if (!pair_ok(w->kernel_h, w->kernel_w))
        return geom_fail(key, "kernel", why, cap, "[%d, %d] must be in [1, %d]",
                         (int)w->kernel_h, (int)w->kernel_w, Q_MAX_ELEMS);
    if (!pair_ok(w->stride_h, w->stride_w))
        return geom_fail(key, "stride", why, cap, "[%d, %d] must be in [1, %d]",
                         (int)w->stride_h, (int)w->stride_w, Q_MAX_ELEMS);
    if (!pair_ok(w->dilation_h, w->dilation_w))
        return geom_fail(key, "dilation", why, cap, "[%d, %d] must be in [1, %d]",
                         (int)w->dilation_h, (int)w->dilation_w, Q_MAX_ELEMS);
    /* TFLite's pools have no dilation; without it every pool window holds at
     * least one input element (each pad is below the kernel). */
    if (pool && (w->dilation_h != 1 || w->dilation_w != 1))
        return geom_fail(key, "dilation", why, cap, "[%d, %d]: pools take no dilation",
                         (int)w->dilation_h, (int)w->dilation_w);
    int64_t eff_h = (int64_t)(w->kernel_h - 1) * w->dilation_h + 1;
    int64_t eff_w = (int64_t)(w->kernel_w - 1) * w->dilation_w + 1;
    if (eff_h > Q_MAX_ELEMS || eff_w > Q_MAX_ELEMS) /* so that every size below fits int32 */
        return geom_fail(key, "dilation", why, cap, "the dilated kernel %lldx%lld exceeds %d",
                         (long long)eff_h, (long long)eff_w, Q_MAX_ELEMS);
    if (g->pad_rule == Q_PAD_SAME) {
        same_pad(in.h, w->stride_h, eff_h, &w->pad_top, &w->pad_bottom);
        same_pad(in.w, w->stride_w, eff_w, &w->pad_left, &w->pad_right);
    } else if (g->pad_rule == Q_PAD_VALID) {
        w->pad_top = w->pad_bottom = w->pad_left = w->pad_right = 0;
    }
    g->pad_rule = Q_PAD_SIDES;
    int32_t pt = w->pad_top, pb = w->pad_bottom, pl = w->pad_left, pr = w->pad_right;
    int even = pt == pb && pt == pl && pt == pr;
    if (pt < 0 || pb < 0 || pl < 0 || pr < 0 || pt >= eff_h || pb >= eff_h || pl >= eff_w ||
        pr >= eff_w) {
        if (even && eff_h == eff_w)
            return geom_fail(key, "pad", why, cap, "%d must be less than the kernel (%lld)",
                             (int)pt, (long long)eff_h);
        return geom_fail(key, "pad", why, cap,
                         "[%d, %d, %d, %d] must each be >= 0 and less than the kernel %lldx%lld",
                         (int)pt, (int)pb, (int)pl, (int)pr, (long long)eff_h, (long long)eff_w);
    }
    int64_t ph = (int64_t)in.h + pt + pb, pw = (int64_t)in.w + pl + pr;
    if (eff_h > ph || eff_w > pw) {
        char k[64] = "";
        if (w->dilation_h != 1 || w->dilation_w != 1)
            snprintf(k, sizeof k, " (dilated: %lldx%lld)", (long long)eff_h, (long long)eff_w);
        if (!pt && !pb && !pl && !pr)
            return geom_fail(key, "kernel", why, cap, "%dx%d%s is larger than the input %dx%d",
                             (int)w->kernel_h, (int)w->kernel_w, k, (int)in.h, (int)in.w);
        if (even)
            return geom_fail(key, "kernel", why, cap,
                             "%dx%d%s is larger than the padded input %lldx%lld (pad %d)",
                             (int)w->kernel_h, (int)w->kernel_w, k, (long long)ph,
                             (long long)pw, (int)pt);
        return geom_fail(key, "kernel", why, cap,
                         "%dx%d%s is larger than the padded input %lldx%lld (pad %d, %d, %d, %d)",
                         (int)w->kernel_h, (int)w->kernel_w, k, (long long)ph, (long long)pw,
                         (int)pt, (int)pb, (int)pl, (int)pr);
    }
    out->h = (int32_t)((ph - eff_h) / w->stride_h + 1);
    out->w = (int32_t)((pw - eff_w) / w->stride_w + 1);
    return 0;
}

int q_geom_derive(q_geom *g, q_shape in, q_shape in2, q_shape *out, q_geom_sizes *sizes,
                  const char **key, char *why, size_t cap)
{
    int64_t depth = 0, weights = 0;
    int64_t in_n = q_shape_elems(in);
    if (in_n < 0)
        return geom_fail(key, "input", why, cap, "the input %dx%dx%d exceeds %d elements",
                         (int)in.h, (int)in.w, (int)in.c, Q_MAX_ELEMS);
    q_shape o = in;
    if (g->op == Q_OP_DWCONV2D && g->multiplier == 0)
        g->multiplier = 1;
    if (g->op != Q_OP_DWCONV2D && g->multiplier != 0 && g->multiplier != 1)
        return geom_fail(key, "multiplier", why, cap,
                         "%d: only dwconv2d has a channel multiplier", (int)g->multiplier);
    switch (g->op) {
    case Q_OP_CONV2D:
    case Q_OP_DWCONV2D:
    case Q_OP_MAXPOOL:
    case Q_OP_AVGPOOL:
        if (geom_window(g, in, &o, key, why, cap))
            return -1;
        depth = (int64_t)g->win.kernel_h * g->win.kernel_w; /* < 2^48 */
        if (g->op == Q_OP_CONV2D && depth <= Q_MAX_DEPTH)
            depth *= in.c; /* < 2^41: formed only once its factors are bounded */
        if ((g->op == Q_OP_CONV2D || g->op == Q_OP_DWCONV2D) && depth > Q_MAX_DEPTH)
            return geom_fail(key, "depth", why, cap,
                             "each output sums more than %d products (kernel %dx%d, %d input "
                             "channels); that could overflow the int32 accumulator",
                             Q_MAX_DEPTH, (int)g->win.kernel_h, (int)g->win.kernel_w,
                             g->op == Q_OP_CONV2D ? (int)in.c : 1);
        if (g->op == Q_OP_CONV2D) {
            if (g->out_c < 1 || g->out_c > Q_MAX_ELEMS)
                return geom_fail(key, "out", why, cap, "%d must be in [1, %d]", (int)g->out_c,
                                 Q_MAX_ELEMS);
            o.c = g->out_c;
            weights = depth * g->out_c;
        } else if (g->op == Q_OP_DWCONV2D) {
            /* output channel ic * M + m reads input channel ic */
            if (g->multiplier < 1 || g->multiplier > Q_MAX_ELEMS ||
                (int64_t)in.c * g->multiplier > Q_MAX_ELEMS)
                return geom_fail(key, "multiplier", why, cap,
                                 "%d must be >= 1 and make at most %d channels (input %d)",
                                 (int)g->multiplier, Q_MAX_ELEMS, (int)in.c);
            o.c = in.c * g->multiplier;
            weights = depth * o.c;
        }
        break;
    case Q_OP_LINEAR:
        /* reads its input as one vector in NHWC order, as if a flatten came first */
        if (g->out_c < 1 || g->out_c > Q_MAX_ELEMS)
            return geom_fail(key, "out", why, cap, "%d must be in [1, %d]", (int)g->out_c,
                             Q_MAX_ELEMS);
        o = (q_shape){1, 1, g->out_c};
        depth = in_n;
        weights = depth * g->out_c;
        break;
    case Q_OP_ADD:
        if (in2.h != in.h || in2.w != in.w || in2.c != in.c)
            return geom_fail(key, "with", why, cap,
                             "its shape %dx%dx%d differs from this layer's input %dx%dx%d",
                             (int)in2.h, (int)in2.w, (int)in2.c, (int)in.h, (int)in.w,
                             (int)in.c);
        break;
    case Q_OP_FLATTEN:
        o = (q_shape){1, 1, (int32_t)in_n};
        break;
    case Q_OP_SOFTMAX:
        /* one row per pixel, along the channels */
        depth = in.c;
        if (depth > Q_SOFTMAX_MAX_ROW)
            return geom_fail(key, "depth", why, cap,
                             "a softmax row of %lld values exceeds %d (its input's channels)",
                             (long long)depth, Q_SOFTMAX_MAX_ROW);
        break;
    default:
        return geom_fail(key, "op", why, cap, "unknown op %d", (int)g->op);
    }
    if (q_shape_elems(o) < 0)
        return geom_fail(key, "output", why, cap, "the output %dx%dx%d exceeds %d elements",
                         (int)o.h, (int)o.w, (int)o.c, Q_MAX_ELEMS);
    if (weights > 0 && depth > Q_MAX_DEPTH)
        return geom_fail(key, "depth", why, cap,
                         "each output sums %lld products; more than %d could overflow the int32 "
                         "accumulator", (long long)depth, Q_MAX_DEPTH);
    if (weights > Q_MAX_ELEMS)
        return geom_fail(key, "weights", why, cap, "%lld weights exceed %d", (long long)weights,
                         Q_MAX_ELEMS);
    *out = o;
    if (sizes)
        *sizes = (q_geom_sizes){depth, weights};
    return 0;
}

const char *q_geom_field(q_op op, const char *key)
{
    int windowed = op == Q_OP_CONV2D || op == Q_OP_DWCONV2D || op == Q_OP_MAXPOOL ||
                   op == Q_OP_AVGPOOL;
    if (!strcmp(key, "out") || !strcmp(key, "output"))
        return "output.shape";
    if (!strcmp(key, "depth"))
        return windowed ? "kernel" : "input";
    return key;
}

int32_t q_shape_size(q_shape s)
{
    return s.h * s.w * s.c;
}

int64_t q_size_mul(int64_t a, int64_t b)
{
    if (a < 0 || b < 0 || a > Q_MAX_ELEMS || b > Q_MAX_ELEMS || a * b > Q_MAX_ELEMS)
        return -1;
    return a * b;
}

int64_t q_shape_elems(q_shape s)
{
    if (s.h < 1 || s.w < 1 || s.c < 1)
        return -1;
    return q_size_mul(q_size_mul(s.h, s.w), s.c);
}

int32_t q_layer_weight_count(const q_model *m, const q_layer *l)
{
    q_shape in = q_model_tensor_shape(m, l->input);
    switch (l->op) {
    case Q_OP_CONV2D:
        return l->out_shape.c * l->win.kernel_h * l->win.kernel_w * in.c;
    case Q_OP_DWCONV2D:
        return l->win.kernel_h * l->win.kernel_w * in.c * (l->multiplier > 1 ? l->multiplier : 1);
    case Q_OP_LINEAR:
        return l->out_shape.c * q_shape_size(in);
    default:
        return 0;
    }
}

int32_t q_weight_max(int bits)
{
    return bits == 8 ? 127 : bits == 4 ? 7 : 0;
}

int64_t q_weight_bytes(int64_t count, int bits)
{
    return bits == 4 ? (count + 1) / 2 : count;
}

int32_t q_layer_out_channels(const q_layer *l)
{
    switch (l->op) {
    case Q_OP_CONV2D:
    case Q_OP_DWCONV2D:
    case Q_OP_LINEAR:
        return l->out_shape.c;
    default:
        return 0;
    }
}

void q_act_range(q_act act, q_quant q, int32_t *act_min, int32_t *act_max)
{
    *act_min = -128;
    *act_max = 127;
    if (act == Q_ACT_NONE)
        return;
    /* relu: real >= 0  <=>  q >= zp */
    if (q.zero_point > *act_min)
        *act_min = q.zero_point;
    if (act == Q_ACT_RELU6) {
        /* relu6: real <= 6  <=>  q <= zp + 6/scale, rounded to the nearest step */
        double top = (double)q.zero_point + round(6.0 / q.scale);
        if (top < 127.0)
            *act_max = (int32_t)top;
    }
}

/* ---- checking ---------------------------------------------------------- */

int q_is_identifier(const char *s)
{
    size_t n = strnlen(s, Q_NAME_MAX);
    if (n == 0 || n == Q_NAME_MAX)
        return 0;
    if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < n; i++) {
        char ch = s[i];
        if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9')))
            return 0;
    }
    return 1;
}

int q_is_std_header_name(const char *s)
{
    static const char *const headers[] = {
        "assert",  "complex",   "ctype",  "errno",       "fenv",   "float",    "inttypes",
        "iso646",  "limits",    "locale", "math",        "setjmp", "signal",   "stdalign",
        "stdarg",  "stdatomic", "stdbit", "stdbool",     "stdckdint", "stddef", "stdint",
        "stdio",   "stdlib",    "stdnoreturn", "string", "tgmath", "threads",  "time",
        "uchar",   "wchar",     "wctype",
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
        if (!strcmp(s, headers[i]))
            return 1;
    return 0;
}

static int scale_ok(double s)
{
    return isfinite(s) && s >= Q_SCALE_MIN && s <= Q_SCALE_MAX;
}

/* A real multiplier m can be requantized when fxp_quantize_multiplier takes it:
 * finite, > 0 and below 2^30 after rounding its Q0.31 mantissa. Ratios far
 * below 1 are representable (they underflow to a zero multiplier). */
static int multiplier_ok(double m)
{
    fxp_requant rq;
    return fxp_quantize_multiplier(m, &rq) == 0;
}

/* Derived value v for a stored field: 0 means "derive", anything else must match. */
static int derive_i32(int32_t *stored, int32_t derived)
{
    if (*stored != 0 && *stored != derived)
        return -1;
    *stored = derived;
    return 0;
}

static int check_quant(q_quant q, const char *file, int line, const char *field, qerr *e)
{
    if (!scale_ok(q.scale))
        return qerr_at(e, file, line, "%s.scale: %g is not a finite scale in [%g, %g]", field,
                       q.scale, Q_SCALE_MIN, Q_SCALE_MAX);
    if (q.zero_point < -128 || q.zero_point > 127)
        return qerr_at(e, file, line, "%s.zero_point: %d is outside [-128, 127]", field,
                       (int)q.zero_point);
    return 0;
}

/* Shape dimensions in [1, Q_MAX_ELEMS] and a product within Q_MAX_ELEMS. */
static int check_shape(q_shape s, const char *file, int line, const char *field, qerr *e)
{
    if (s.h < 1 || s.w < 1 || s.c < 1)
        return qerr_at(e, file, line, "%s: [%d, %d, %d] has a dimension < 1", field,
                       (int)s.h, (int)s.w, (int)s.c);
    if (q_shape_elems(s) < 0)
        return qerr_at(e, file, line, "%s: [%d, %d, %d] exceeds %d elements", field, (int)s.h,
                       (int)s.w, (int)s.c, Q_MAX_ELEMS);
    return 0;
}

/* Weights, w_scale, bias, accumulator bound and requantization multipliers of a
 * conv2d, dwconv2d or linear layer whose out_shape is already derived. */
static int check_weights(const q_model *m, const q_layer *l, int i, q_geom_sizes sz,
                         const char *file, qerr *e)
{
    int line = l->line;
    q_quant in_q = q_model_tensor_quant(m, l->input);
    int32_t out_c = q_layer_out_channels(l);
    int64_t k = sz.depth, count = sz.weights;
    if (!l->weights)
        return qerr_at(e, file, line, "layers[%d].weights: missing", i);
    if (!l->bias)
        return qerr_at(e, file, line, "layers[%d].bias: missing", i);
    if (!l->w_scale)
        return qerr_at(e, file, line, "layers[%d].weight_scale: missing", i);

    int32_t wmax = q_weight_max(l->weight_bits);
    for (int64_t j = 0; j < count; j++)
        if (l->weights[j] < -wmax || l->weights[j] > wmax)
            return qerr_at(e, file, line,
                           "layers[%d].weights[%lld]: %d is outside [%d, %d] (symmetric int%d)",
                           i, (long long)j, (int)l->weights[j], (int)-wmax, (int)wmax,
                           l->weight_bits);

    /* |acc| <= |bias| + K * wmax * 255: |w| <= wmax (127, or 7 for 4-bit
     * weights) and |x - zp_in| <= 255 (padding contributes x - zp_in = 0).
     * It must fit int32. */
    int64_t bound = k * wmax * 255;
    for (int32_t c = 0; c < out_c; c++) {
        int64_t b = l->bias[c];
        if ((b < 0 ? -b : b) + bound > INT32_MAX)
            return qerr_at(e, file, line,
                           "layers[%d].bias[%d]: |%lld| + %lld (K=%lld * %d * 255) "
                           "overflows the int32 accumulator",
                           i, (int)c, (long long)b, (long long)bound, (long long)k, (int)wmax);
    }

    int n_scales = l->per_channel ? out_c : 1;
    for (int c = 0; c < n_scales; c++) {
        double ws = l->w_scale[c];
        if (!scale_ok(ws))
            return qerr_at(e, file, line,
                           "layers[%d].weight_scale[%d]: %g is not a finite scale in [%g, %g]", i,
                           c, ws, Q_SCALE_MIN, Q_SCALE_MAX);
        double mult = in_q.scale * ws / l->out_q.scale;
        if (!multiplier_ok(mult))
            return qerr_at(e, file, line,
                           "layers[%d].weight_scale[%d]: multiplier s_in*s_w/s_out = %g is not "
                           "representable (must be < 2^30)",
                           i, c, mult);
    }
    return 0;
}

static int same_quant(q_quant a, q_quant b)
{
    return a.scale == b.scale && a.zero_point == b.zero_point;
}

int q_avgpool_rescales(const q_model *m, const q_layer *l)
{
    return !same_quant(l->out_q, q_model_tensor_quant(m, l->input));
}

/* The output quantization of an op that fixes it: {0, 0} is derived, anything
 * else must equal `want`. */
static int fixed_quant(q_layer *l, q_quant want, int i, const char *what, const char *file,
                       qerr *e)
{
    if (l->out_q.scale == 0.0 && l->out_q.zero_point == 0)
        l->out_q = want;
    else if (!same_quant(l->out_q, want))
        return qerr_at(e, file, l->line,
                       "layers[%d].output: %s must have scale %.17g and zero_point %d", i, what,
                       want.scale, (int)want.zero_point);
    return 0;
}

static int check_layer(q_model *m, int i, const char *file, qerr *e)
{
    q_layer *l = &m->layers[i];
    int line = l->line;

    if ((unsigned)l->op >= Q_OP_COUNT)
        return qerr_at(e, file, line, "layers[%d].op: unknown op %d", i, (int)l->op);
    if (!q_is_identifier(l->name))
        return qerr_at(e, file, line, "layers[%d].name: '%.*s' is not a C identifier (< %d chars)",
                       i, Q_NAME_MAX - 1, l->name, Q_NAME_MAX);
    if (strcmp(l->name, "input") == 0)
        return qerr_at(e, file, line, "layers[%d].name: 'input' is reserved for the model input",
                       i);
    for (int j = 0; j < i; j++)
        if (strcmp(m->layers[j].name, l->name) == 0)
            return qerr_at(e, file, line, "layers[%d].name: '%s' is already the name of layers[%d]",
                           i, l->name, j);
    if (l->input < 0 || l->input > i)
        return qerr_at(e, file, line,
                       "layers[%d].input: tensor %d is not an earlier tensor (0..%d)", i,
                       l->input, i);
    if ((unsigned)l->act >= Q_ACT_COUNT)
        return qerr_at(e, file, line, "layers[%d].act: unknown activation %d", i, (int)l->act);
    if (l->op == Q_OP_SOFTMAX && i != m->n_layers - 1)
        return qerr_at(e, file, line,
                       "layers[%d].op: softmax is only allowed as the last layer (%d layers)", i,
                       m->n_layers);

    q_shape in = q_model_tensor_shape(m, l->input);
    q_quant in_q = q_model_tensor_quant(m, l->input);
    q_shape out = l->out_shape;
    int weighted = l->op == Q_OP_CONV2D || l->op == Q_OP_DWCONV2D || l->op == Q_OP_LINEAR;
    int fused = weighted || l->op == Q_OP_ADD;
    if (!fused && l->act != Q_ACT_NONE)
        return qerr_at(e, file, line, "layers[%d].act: %s cannot fuse an activation", i,
                       q_op_names[l->op]);

    if (l->op == Q_OP_ADD && (l->input2 < 0 || l->input2 > i))
        return qerr_at(e, file, line, "layers[%d].with: tensor %d is not an earlier tensor (0..%d)",
                       i, l->input2, i);
    int pool = l->op == Q_OP_MAXPOOL || l->op == Q_OP_AVGPOOL;
    int windowed = l->op == Q_OP_CONV2D || l->op == Q_OP_DWCONV2D || pool;
    if (!windowed)
        l->win = (q_window){0};
    if (l->op != Q_OP_DWCONV2D)
        l->multiplier = 1;
    else if (l->multiplier == 0)
        l->multiplier = 1;
    if (!weighted)
        l->weight_bits = 0;
    else if (l->weight_bits == 0)
        l->weight_bits = 8;
    else if (l->weight_bits != 8 && l->weight_bits != 4)
        return qerr_at(e, file, line, "layers[%d].weight_bits: %d is not supported (8 or 4)",
                       i, l->weight_bits);
    if ((l->op == Q_OP_CONV2D || l->op == Q_OP_LINEAR) && out.c < 1)
        return qerr_at(e, file, line, "layers[%d].output.shape: channels %d must be >= 1", i,
                       (int)out.c);
    q_geom g = {.op = l->op, .win = l->win, .pad_rule = Q_PAD_SIDES, .out_c = out.c,
                .multiplier = l->multiplier};
    q_shape in2 = l->op == Q_OP_ADD ? q_model_tensor_shape(m, l->input2) : in;
    q_shape derived;
    q_geom_sizes sz;
    const char *key;
    char why[200];
    if (q_geom_derive(&g, in, in2, &derived, &sz, &key, why, sizeof why))
        return qerr_at(e, file, line, "layers[%d].%s: %s", i, q_geom_field(l->op, key), why);
    l->win = g.win; /* with its defaults filled in */
    if (derive_i32(&l->out_shape.h, derived.h) || derive_i32(&l->out_shape.w, derived.w) ||
        derive_i32(&l->out_shape.c, derived.c))
        return qerr_at(e, file, line,
                       "layers[%d].output.shape: [%d, %d, %d] does not match the derived [%d, %d, %d]",
                       i, (int)out.h, (int)out.w, (int)out.c, (int)derived.h, (int)derived.w,
                       (int)derived.c);
    char field[48];
    snprintf(field, sizeof field, "layers[%d].output.shape", i);
    if (check_shape(l->out_shape, file, line, field, e))
        return -1;

    if (l->op == Q_OP_MAXPOOL || l->op == Q_OP_FLATTEN) {
        /* These move int8 values unchanged: the output quantization is the input's. */
        if (l->out_q.scale == 0.0 && l->out_q.zero_point == 0)
            l->out_q = in_q;
        else if (!same_quant(l->out_q, in_q))
            return qerr_at(e, file, line,
                           "layers[%d].output: %s must keep its input's scale %.17g and "
                           "zero_point %d",
                           i, q_op_names[l->op], in_q.scale, (int)in_q.zero_point);
    }
    /* softmax: probabilities in [0, 1) on 256 steps (TFLite's convention) */
    if (l->op == Q_OP_SOFTMAX &&
        fixed_quant(l, (q_quant){1.0 / 256.0, -128}, i, "softmax", file, e))
        return -1;
    snprintf(field, sizeof field, "layers[%d].output", i);
    if (check_quant(l->out_q, file, line, field, e))
        return -1;

    switch (l->op) {
    case Q_OP_CONV2D:
    case Q_OP_DWCONV2D:
    case Q_OP_LINEAR:
        return check_weights(m, l, i, sz, file, e);
    case Q_OP_AVGPOOL: {
        /* division rule: acc = sum of at most kh*kw raw int8 values (|x| <= 128);
         * rescaling: sum of kh*kw terms (x - zp) with |x - zp| <= 255 */
        int64_t window = (int64_t)l->win.kernel_h * l->win.kernel_w;
        if (window * 255 > INT32_MAX)
            return qerr_at(e, file, line, "layers[%d].kernel: window of %lld overflows int32", i,
                           (long long)window);
        if (!q_avgpool_rescales(m, l))
            return 0;
        if (l->win.pad_top || l->win.pad_bottom || l->win.pad_left || l->win.pad_right)
            return qerr_at(e, file, line,
                           "layers[%d].pad: [%d, %d, %d, %d]: an average pool with padding must "
                           "keep its input's scale %.17g and zero_point %d (the count of each "
                           "window then divides exactly)",
                           i, (int)l->win.pad_top, (int)l->win.pad_bottom, (int)l->win.pad_left,
                           (int)l->win.pad_right, in_q.scale, (int)in_q.zero_point);
        double mult = in_q.scale / (l->out_q.scale * (double)window);
        if (!multiplier_ok(mult))
            return qerr_at(e, file, line,
                           "layers[%d].output.scale: multiplier s_in/(s_out*kh*kw) = %g is not "
                           "representable (must be < 2^30)",
                           i, mult);
        return 0;
    }
    case Q_OP_ADD: {
        /* q8_add_s8: s = 2*max(s1, s2); inputs scaled by s_i/s (<= 1/2),
         * output by s / (2^Q8_ADD_LEFT_SHIFT * s_out). */
        double s1 = in_q.scale, s2 = q_model_tensor_quant(m, l->input2).scale;
        double s = 2.0 * (s1 > s2 ? s1 : s2);
        double mult = s / (ldexp(1.0, Q8_ADD_LEFT_SHIFT) * l->out_q.scale);
        if (!multiplier_ok(s1 / s) || !multiplier_ok(s2 / s) || !multiplier_ok(mult))
            return qerr_at(e, file, line,
                           "layers[%d].output.scale: add multiplier 2*max(s1,s2)/(2^%d*s_out) = %g "
                           "is not representable (must be < 2^30)",
                           i, Q8_ADD_LEFT_SHIFT, mult);
        return 0;
    }
    default:
        return 0;
    }
}

int q_model_check(q_model *m, const char *file, qerr *e)
{
    if (!q_is_identifier(m->name))
        return qerr_at(e, file, m->name_line, "name: '%.*s' is not a C identifier (< %d chars)",
                       Q_NAME_MAX - 1, m->name, Q_NAME_MAX);
    if (q_is_std_header_name(m->name))
        return qerr_at(e, file, m->name_line,
                       "name: '%s' would make %s.h, which shadows the C library's <%s.h>; "
                       "choose another name", m->name, m->name, m->name);
    if (check_shape(m->in_shape, file, m->input_line, "input.shape", e))
        return -1;
    if (check_quant(m->in_q, file, m->input_line, "input", e))
        return -1;
    if (m->n_layers < 1 || m->n_layers > Q_MAX_LAYERS || !m->layers)
        return qerr_at(e, file, 0, "layers: %d layers, expected 1..%d", m->n_layers,
                       Q_MAX_LAYERS);
    for (int i = 0; i < m->n_layers; i++)
        if (check_layer(m, i, file, e))
            return -1;
    return 0;
}

/* ---- features beyond format version 1 ------------------------------------ */

const char *const q_feature_names[Q_FEAT_COUNT + 1] = {
    "dilation", "asymmetric padding", "pool padding", "channel multiplier",
    "average pool by division", "softmax", "4-bit weights", NULL,
};

unsigned q_layer_features(const q_model *m, const q_layer *l)
{
    const q_window *w = &l->win;
    unsigned f = 0;
    if (w->dilation_h > 1 || w->dilation_w > 1)
        f |= Q_FEAT_DILATION;
    if (w->pad_top != w->pad_bottom || w->pad_left != w->pad_right)
        f |= Q_FEAT_ASYMMETRIC_PAD;
    if ((l->op == Q_OP_MAXPOOL || l->op == Q_OP_AVGPOOL) &&
        (w->pad_top || w->pad_bottom || w->pad_left || w->pad_right))
        f |= Q_FEAT_POOL_PAD;
    if (l->op == Q_OP_DWCONV2D && l->multiplier > 1)
        f |= Q_FEAT_MULTIPLIER;
    if (l->op == Q_OP_AVGPOOL && !q_avgpool_rescales(m, l))
        f |= Q_FEAT_AVGPOOL_DIV;
    if (l->op == Q_OP_SOFTMAX)
        f |= Q_FEAT_SOFTMAX;
    if (l->weight_bits == 4)
        f |= Q_FEAT_WEIGHT4;
    return f;
}
