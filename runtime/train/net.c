/* net — the training network: float and QAT forward/backward (see net.h). */
#include "net.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "fakequant.h"
#include "simd.h"

/* ---- memory plan ----------------------------------------------------------
 * One arena per kind; take() hands out 64-byte aligned views. The same walk
 * runs twice: once with base NULL to count, once to assign. */
typedef struct {
    char *base;
    size_t used; /* bytes */
} arena;

static void *take(arena *a, size_t bytes)
{
    void *p = a->base ? a->base + a->used : NULL;
    a->used += (bytes + 63) & ~(size_t)63;
    return p;
}

static float *takef(arena *a, size_t n)
{
    return take(a, n * sizeof(float));
}

static int is_weighted(q_op t)
{
    return t == Q_OP_CONV2D || t == Q_OP_DWCONV2D || t == Q_OP_LINEAR;
}

/* An average pool over the whole input, without padding. */
static int is_global_pool(const net_layer *L)
{
    const q_window *w = &L->win;
    return w->kernel_h == L->in_shape.h && w->kernel_w == L->in_shape.w && !w->pad_top &&
           !w->pad_bottom && !w->pad_left && !w->pad_right;
}

int net_layer_has_fq(const net_layer *L)
{
    return is_weighted(L->op) || L->op == Q_OP_ADD;
}

static size_t tensor_size(q_shape s)
{
    return (size_t)s.h * (size_t)s.w * (size_t)s.c;
}

/* Parameters and, with the same walk, their gradients. */
static void params_point(net *n, arena *a, int grads)
{
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *L = &n->layers[i];
        float *w = NULL, *b = NULL, *g = NULL, *be = NULL;
        if (is_weighted(L->op)) {
            w = takef(a, (size_t)L->n_w);
            if (L->bn) {
                g = takef(a, (size_t)L->out_c);
                be = takef(a, (size_t)L->out_c);
            } else {
                b = takef(a, (size_t)L->out_c);
            }
        }
        if (grads) {
            L->dw = w, L->dbias = b, L->dgamma = g, L->dbeta = be;
        } else {
            L->w = w, L->bias = b, L->gamma = g, L->beta = be;
        }
    }
}

static void state_point(net *n, arena *a)
{
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *L = &n->layers[i];
        L->running_mean = L->running_var = L->w_scale = NULL;
        if (L->bn) {
            L->running_mean = takef(a, (size_t)L->out_c);
            L->running_var = takef(a, (size_t)L->out_c);
        }
        if (is_weighted(L->op))
            L->w_scale = takef(a, (size_t)L->n_wscale);
    }
}

/* Activations, their gradients, BN and QAT per-layer buffers. A flatten's
 * output is its input (NHWC is already flat), so it shares the memory. */
static void acts_point(net *n, arena *a)
{
    size_t bc = (size_t)n->batch_cap;
    n->t[0] = takef(a, bc * tensor_size(n->tshape[0]));
    n->dt[0] = NULL;
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *L = &n->layers[i];
        size_t out = bc * tensor_size(L->out_shape);
        if (L->op == Q_OP_FLATTEN) {
            n->t[i + 1] = n->t[L->input];
            n->dt[i + 1] = n->dt[L->input];
        } else {
            n->t[i + 1] = takef(a, out);
            n->dt[i + 1] = takef(a, out);
        }
        L->z = L->bn_mean = L->bn_rstd = L->sf = L->rstd_run = L->inv_sf = L->wq = NULL;
        if (L->bn) {
            L->z = takef(a, out);
            L->bn_mean = takef(a, (size_t)L->out_c);
            L->bn_rstd = takef(a, (size_t)L->out_c);
            L->sf = takef(a, (size_t)L->out_c);
            L->rstd_run = takef(a, (size_t)L->out_c);
            L->inv_sf = takef(a, (size_t)L->out_c);
        }
        if (is_weighted(L->op))
            L->wq = takef(a, (size_t)L->n_w);
    }
}

static void masks_point(net *n, arena *a)
{
    size_t bc = (size_t)n->batch_cap;
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *L = &n->layers[i];
        L->mask = net_layer_has_fq(L) ? take(a, bc * tensor_size(L->out_shape)) : NULL;
        L->wmask = is_weighted(L->op) ? take(a, (size_t)L->n_w) : NULL;
    }
}

/* Scratch shared by all layers: im2col columns, the BN input gradient, and
 * the gradient of the fake-quantized weights. */
static void scratch_point(net *n, arena *a)
{
    size_t col = 0, dz = 0, dwq = 0, oc = 1;
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *L = &n->layers[i];
        if (L->op == Q_OP_CONV2D) {
            ly_conv_shape cs = ly_conv_shape_of(n->batch_cap, L->in_shape, L->out_c, &L->win);
            size_t s = ly_conv2d_scratch_floats(&cs);
            col = s > col ? s : col;
        }
        if (L->bn) {
            size_t s = (size_t)n->batch_cap * tensor_size(L->out_shape);
            dz = s > dz ? s : dz;
        }
        if ((size_t)L->n_w > dwq)
            dwq = (size_t)L->n_w;
        if ((size_t)L->out_c > oc)
            oc = (size_t)L->out_c;
    }
    n->dsf = take(a, oc * sizeof(double));
    n->col = takef(a, col);
    n->dz = takef(a, dz);
    n->dwq = takef(a, dwq);
}

/* ---- build ---------------------------------------------------------------- */

/* Derives the shapes of layer i from its input (q_geom_derive, as the config
 * did); returns 0 or -1 with e set. */
static int layer_shapes(net *n, const cfg_config *c, int i, qerr *e)
{
    const cfg_layer *cl = &c->layers[i];
    net_layer *L = &n->layers[i];
    memset(L, 0, sizeof *L);
    q_geom g = cl->geom;
    L->op = g.op;
    L->act = cl->act;
    L->input = cl->input;
    L->input2 = g.op == Q_OP_ADD ? cl->input2 : -1;
    if (L->input < 0 || L->input > i)
        return qerr_at(e, c->config_path, cl->line,
                       "model.layers[%d].%s.from: tensor %d is not an earlier tensor (0..%d)", i,
                       q_op_names[g.op], L->input, i);
    if (g.op == Q_OP_ADD && (L->input2 < 0 || L->input2 > i))
        return qerr_at(e, c->config_path, cl->line,
                       "model.layers[%d].add.with: tensor %d is not an earlier tensor (0..%d)",
                       i, L->input2, i);
    L->in_shape = n->tshape[L->input];
    q_shape in = L->in_shape, out;
    q_geom_sizes sz;
    const char *key;
    char why[256];
    if (q_geom_derive(&g, in, g.op == Q_OP_ADD ? n->tshape[L->input2] : in, &out, &sz, &key,
                      why, sizeof why))
        return qerr_at(e, c->config_path, cl->line, "model.layers[%d].%s: %s: %s", i,
                       q_op_names[g.op], key, why);
    int windowed = g.op == Q_OP_CONV2D || g.op == Q_OP_DWCONV2D || g.op == Q_OP_MAXPOOL ||
                   g.op == Q_OP_AVGPOOL;
    if (windowed)
        L->win = g.win;
    L->bn = is_weighted(g.op) && cl->bn;
    L->out_c = is_weighted(g.op) ? out.c : 0;
    L->n_w = sz.weights;
    if (g.op == Q_OP_CONV2D || g.op == Q_OP_LINEAR) {
        /* OHWI / (out, in): one contiguous row of weights per output */
        L->w_per_ch = sz.depth;
        L->w_ch_stride = L->w_per_ch, L->w_el_stride = 1;
    } else if (g.op == Q_OP_DWCONV2D) {
        /* (KH, KW, C·M): output channel o's weights are every (C·M)-th element */
        L->w_per_ch = sz.depth;
        L->w_ch_stride = 1, L->w_el_stride = out.c;
    }
    L->out_shape = out;
    n->tshape[i + 1] = out;
    if (is_weighted(L->op)) {
        L->n_wscale = n->per_channel ? L->out_c : 1;
        if (!n->per_channel) {
            L->w_per_ch = L->n_w, L->w_ch_stride = 0, L->w_el_stride = 1;
        }
    }
    return 0;
}

int net_build(net *n, const cfg_config *c, int batch_cap, qerr *e)
{
    memset(n, 0, sizeof *n);
    if (c->n_layers < 1 || c->n_layers > CFG_MAX_LAYERS)
        return qerr_at(e, c->config_path, 0, "model.layers: %d layers (1..%d)", c->n_layers,
                       CFG_MAX_LAYERS);
    if (batch_cap < 2)
        return qerr_set(e, "net: batch of %d (at least 2 for batch norm)", batch_cap);
    n->n_layers = c->n_layers;
    n->batch_cap = batch_cap;
    n->in_shape = c->input_shape;
    n->in_q = c->input_q;
    n->per_channel = c->weight_per_channel;
    n->init = c->init;
    n->tshape[0] = c->input_shape;
    for (int i = 0; i < n->n_layers; i++)
        if (layer_shapes(n, c, i, e))
            goto fail;
    for (int i = 0; i < n->n_layers; i++) { /* widths and per-layer switches */
        net_layer *L = &n->layers[i];
        L->weight_bits = is_weighted(L->op) ? (c->layers[i].weight_bits ? c->layers[i].weight_bits
                                                                        : c->weight_bits)
                                            : 0;
        L->w_qmax = q_weight_max(L->weight_bits);
        L->fq_w = L->fq_a = 1;
    }
    n->n_classes = (int)tensor_size(n->tshape[n->n_layers]);
    n->logits = n->layers[n->n_layers - 1].op == Q_OP_SOFTMAX ? n->layers[n->n_layers - 1].input
                                                               : n->n_layers;

    arena pa = {0}, sa = {0}, aa = {0}, ma = {0}, xa = {0};
    params_point(n, &pa, 0);
    state_point(n, &sa);
    acts_point(n, &aa);
    masks_point(n, &ma);
    scratch_point(n, &xa);
    n->n_params = pa.used / sizeof(float);
    n->n_state = sa.used / sizeof(float);
    n->n_acts = aa.used / sizeof(float);
    n->n_masks = ma.used;
    n->n_scratch = xa.used / sizeof(float);
    n->params = aligned_alloc(64, pa.used + 64);
    n->grads = aligned_alloc(64, pa.used + 64);
    n->state = aligned_alloc(64, sa.used + 64);
    n->acts = aligned_alloc(64, aa.used + 64);
    n->masks = aligned_alloc(64, ma.used + 64);
    n->scratch = aligned_alloc(64, xa.used + 64);
    if (!n->params || !n->grads || !n->state || !n->acts || !n->masks || !n->scratch) {
        qerr_set(e, "net: out of memory (%zu MB)",
                 (2 * pa.used + sa.used + aa.used + ma.used + xa.used) >> 20);
        goto fail;
    }
    memset(n->params, 0, pa.used);
    memset(n->grads, 0, pa.used);
    memset(n->state, 0, sa.used);
    memset(n->acts, 0, aa.used);
    memset(n->masks, 0, ma.used);
    memset(n->scratch, 0, xa.used);
    pa = (arena){(char *)n->params, 0};
    params_point(n, &pa, 0);
    pa = (arena){(char *)n->grads, 0};
    params_point(n, &pa, 1);
    sa = (arena){(char *)n->state, 0};
    state_point(n, &sa);
    aa = (arena){(char *)n->acts, 0};
    acts_point(n, &aa);
    ma = (arena){(char *)n->masks, 0};
    masks_point(n, &ma);
    xa = (arena){(char *)n->scratch, 0};
    scratch_point(n, &xa);
    for (int i = 0; i < n->n_layers; i++)
        obs_act_init(&n->layers[i].obs, (float)c->averaging_constant, -128, 127);
    n->fq_weights = c->fake_quant_weights;
    n->fq_acts = c->fake_quant_acts;
    n->observers = 1;
    return 0;
fail:
    net_free(n);
    return -1;
}

void net_free(net *n)
{
    free(n->params);
    free(n->grads);
    free(n->state);
    free(n->acts);
    free(n->masks);
    free(n->scratch);
    memset(n, 0, sizeof *n);
}

float *net_input(net *n)
{
    return n->t[0];
}

/* ---- modes ---------------------------------------------------------------- */

void net_reset_observers(net *n)
{
    for (int i = 0; i < n->n_layers; i++) {
        obs_act *o = &n->layers[i].obs;
        int on = o->enabled;
        obs_act_init(o, o->averaging_constant, o->qmin, o->qmax);
        o->enabled = on;
    }
}

void net_set_observers(net *n, int on)
{
    n->observers = on;
    for (int i = 0; i < n->n_layers; i++)
        n->layers[i].obs.enabled = on;
}

void net_set_qat(net *n, int qat)
{
    n->qat = qat;
    n->bn_frozen = 0;
    net_set_observers(n, 1);
    net_reset_observers(n);
}

void net_set_fake_quant(net *n, int weights, int acts)
{
    n->fq_weights = weights;
    n->fq_acts = acts;
}

void net_set_bn_frozen(net *n, int frozen)
{
    n->bn_frozen = frozen;
}

void net_set_layer_fake_quant(net *n, int l, int weights, int acts)
{
    n->layers[l].fq_w = weights;
    n->layers[l].fq_a = acts;
}

void net_set_weight_bits(net *n, int l, int bits)
{
    net_layer *L = &n->layers[l];
    int32_t qmax = q_weight_max(bits);
    assert(is_weighted(L->op) && qmax > 0);
    if (qmax == L->w_qmax)
        return;
    /* frozen scales keep covering the same max|w|: s = max|w| / qmax */
    if (!n->observers)
        for (int32_t c = 0; c < L->n_wscale; c++)
            L->w_scale[c] = (float)((double)L->w_scale[c] * L->w_qmax / qmax);
    L->weight_bits = bits;
    L->w_qmax = qmax;
}

void net_init(net *n, rng_state *r)
{
    memset(n->params, 0, n->n_params * sizeof(float));
    memset(n->state, 0, n->n_state * sizeof(float));
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *L = &n->layers[i];
        if (!is_weighted(L->op))
            continue;
        int fan_in = (int)(L->op == Q_OP_DWCONV2D ? L->w_per_ch
                                                   : L->n_w / L->out_c);
        if (n->init == CFG_INIT_HE) {
            ly_he_init(L->w, (size_t)L->n_w, fan_in, r);
        } else {
            ly_uniform_init(L->w, (size_t)L->n_w, fan_in, r);
            if (!L->bn)
                ly_uniform_init(L->bias, (size_t)L->out_c, fan_in, r);
        }
        if (L->bn) {
            for (int32_t c = 0; c < L->out_c; c++) {
                L->gamma[c] = 1.0f;
                L->running_var[c] = 1.0f;
            }
        }
        for (int32_t c = 0; c < L->n_wscale; c++)
            L->w_scale[c] = 1.0f;
    }
    net_set_qat(n, 0);
}

/* ---- QAT weights ---------------------------------------------------------- */

void net_weight_quant(net *n, net_layer *L)
{
    int64_t nw = L->n_w;
    float *wf = L->wq;
    if (L->bn) {
        /* sf[c] = gamma[c] / sqrt(running_var[c] + eps);  wf = w · sf (per out channel) */
        for (int32_t c = 0; c < L->out_c; c++) {
            L->rstd_run[c] = 1.0f / sqrtf(L->running_var[c] + NET_BN_EPS);
            L->sf[c] = L->gamma[c] * L->rstd_run[c];
            L->inv_sf[c] = 1.0f / L->sf[c];
        }
        if (L->op == Q_OP_DWCONV2D) {
            for (int64_t j = 0; j < nw; j++)
                wf[j] = L->w[j] * L->sf[j % L->out_c];
        } else {
            int64_t per = nw / L->out_c;
            for (int32_t c = 0; c < L->out_c; c++)
                for (int64_t j = 0; j < per; j++)
                    wf[c * per + j] = L->w[c * per + j] * L->sf[c];
        }
    } else {
        memcpy(wf, L->w, (size_t)nw * sizeof(float));
    }
    if (n->observers) {
        if (n->per_channel)
            obs_weight_scales(wf, L->out_c, L->w_per_ch, L->w_ch_stride, L->w_el_stride,
                              L->w_qmax, L->w_scale);
        else
            L->w_scale[0] = obs_weight_scale_tensor(wf, nw, L->w_qmax);
    }
    if (n->fq_weights && L->fq_w) {
        fq_forward_channels_f32(wf, L->n_wscale, L->w_per_ch, L->w_ch_stride, L->w_el_stride,
                                L->w_scale, L->w_qmax, wf, L->wmask);
    } else {
        memset(L->wmask, 1, (size_t)nw);
    }
}

/* ---- forward -------------------------------------------------------------- */

/* Elementwise work is cut into chunks of SIMD_CHUNK elements spread over the
 * OpenMP threads; each chunk runs a cloned SIMD kernel (simd.h). Every element is computed on its
 * own, so results do not depend on the thread count. */

/* One chunk of the fused activation: in place, writing the gradient mask
 * (relu: x > 0; relu6: 0 < x < 6; none: 1) and the range of the result. */
SIMD_CLONES
static void act_chunk(float *y, size_t cnt, q_act act, uint8_t *mask, float *lo, float *hi)
{
    float mn = INFINITY, mx = -INFINITY;
    if (act == Q_ACT_RELU) {
#pragma omp simd reduction(min : mn) reduction(max : mx)
        for (size_t i = 0; i < cnt; i++) {
            float v = y[i];
            mask[i] = v > 0.0f;
            v = v > 0.0f ? v : 0.0f; /* y = max(0, x) */
            y[i] = v;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    } else if (act == Q_ACT_RELU6) {
#pragma omp simd reduction(min : mn) reduction(max : mx)
        for (size_t i = 0; i < cnt; i++) {
            float v = y[i];
            mask[i] = (uint8_t)((v > 0.0f) & (v < 6.0f));
            v = v > 0.0f ? v : 0.0f; /* y = clamp(x, 0, 6) */
            v = v < 6.0f ? v : 6.0f;
            y[i] = v;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    } else {
#pragma omp simd reduction(min : mn) reduction(max : mx)
        for (size_t i = 0; i < cnt; i++) {
            float v = y[i];
            mask[i] = 1;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    }
    *lo = mn;
    *hi = mx;
}

/* Fused activation in place over y[0..cnt), its mask and the result's range
 * (for the observer). */
static void act_forward(float *y, size_t cnt, q_act act, uint8_t *mask, float *lo,
                        float *hi)
{
    float mn = INFINITY, mx = -INFINITY;
    size_t chunks = (cnt + SIMD_CHUNK - 1) / SIMD_CHUNK;
#pragma omp parallel for schedule(static) reduction(min : mn) reduction(max : mx) \
    if (chunks > 1)
    for (size_t k = 0; k < chunks; k++) {
        size_t at = k * SIMD_CHUNK, len = cnt - at < SIMD_CHUNK ? cnt - at : SIMD_CHUNK;
        float l, h;
        act_chunk(y + at, len, act, mask + at, &l, &h);
        mn = l < mn ? l : mn;
        mx = h > mx ? h : mx;
    }
    *lo = mn;
    *hi = mx;
}

/* The quantization stage of a layer with a fake quantizer, after its
 * activation (whose result spans [lo, hi]): observer, fq. */
static void quant_stage(net *n, net_layer *L, float *y, size_t cnt, int training, float lo,
                        float hi)
{
    if (!n->qat)
        return;
    if (training)
        obs_act_update_minmax(&L->obs, lo, hi);
    fq_params p = {0.0f, 0, -128, 127};
    if (n->fq_acts && L->fq_a && obs_act_qparams(&L->obs, &p.scale, &p.zero_point) == 0)
        fq_forward_and_mask_f32(y, (int64_t)cnt, p, y, L->mask);
}

/* The output stage of a layer with a fake quantizer: act, observer, fq. */
static void output_stage(net *n, net_layer *L, float *y, size_t cnt, int training)
{
    float lo, hi;
    act_forward(y, cnt, L->act, L->mask, &lo, &hi);
    quant_stage(n, L, y, cnt, training, lo, hi);
}

/* One chunk of rows of the batch norm's output and the fused activation:
 *   y = act(z·scale + shift)   (scale = gamma·rstd, shift = beta − mean·scale)
 * with the activation's mask and the range of y, as act_chunk. The range is
 * kept per channel (lanes of a vector) over the rows and reduced at the end:
 * rows are short (C floats), too short for a reduction each. */
#define BN_LANES 64
SIMD_CLONES
static void bn_act_chunk(float *y, const float *z, size_t rows, int32_t c, const float *scale,
                         const float *shift, q_act act, uint8_t *mask, float *lo, float *hi)
{
    float mn = INFINITY, mx = -INFINITY;
    for (int32_t k0 = 0; k0 < c; k0 += BN_LANES) {
        int32_t kn = c - k0 < BN_LANES ? c - k0 : BN_LANES;
        float mnv[BN_LANES], mxv[BN_LANES];
        const float *sc = scale + k0, *sh = shift + k0;
        for (int32_t k = 0; k < kn; k++)
            mnv[k] = INFINITY, mxv[k] = -INFINITY;
        for (size_t r = 0; r < rows; r++) {
            size_t at = r * (size_t)c + (size_t)k0;
            const float *zr = z + at;
            float *yr = y + at;
            uint8_t *mr = mask + at;
            if (act == Q_ACT_RELU) {
#pragma omp simd
                for (int32_t k = 0; k < kn; k++) {
                    float v = zr[k] * sc[k] + sh[k];
                    mr[k] = v > 0.0f;
                    v = v > 0.0f ? v : 0.0f; /* y = max(0, u) */
                    yr[k] = v;
                    mnv[k] = v < mnv[k] ? v : mnv[k];
                    mxv[k] = v > mxv[k] ? v : mxv[k];
                }
            } else if (act == Q_ACT_RELU6) {
#pragma omp simd
                for (int32_t k = 0; k < kn; k++) {
                    float v = zr[k] * sc[k] + sh[k];
                    mr[k] = (uint8_t)((v > 0.0f) & (v < 6.0f));
                    v = v > 0.0f ? v : 0.0f; /* y = clamp(u, 0, 6) */
                    v = v < 6.0f ? v : 6.0f;
                    yr[k] = v;
                    mnv[k] = v < mnv[k] ? v : mnv[k];
                    mxv[k] = v > mxv[k] ? v : mxv[k];
                }
            } else {
#pragma omp simd
                for (int32_t k = 0; k < kn; k++) {
                    float v = zr[k] * sc[k] + sh[k];
                    mr[k] = 1;
                    yr[k] = v;
                    mnv[k] = v < mnv[k] ? v : mnv[k];
                    mxv[k] = v > mxv[k] ? v : mxv[k];
                }
            }
        }
        for (int32_t k = 0; k < kn; k++) {
            mn = mnv[k] < mn ? mnv[k] : mn;
            mx = mxv[k] > mx ? mxv[k] : mx;
        }
    }
    *lo = mn;
    *hi = mx;
}

/* u = BN(z), then the fused activation, in one pass over z (the same
 * arithmetic as bn_*_forward followed by act_forward): with batch
 * statistics (computed here, running statistics updated) when
 * L->bn_batch_stats, else the running statistics. out (rows, C); the
 * activation's mask and the range of out as act_forward. */
static void bn_act_forward(net_layer *L, float *out, size_t rows, float *lo, float *hi)
{
    int32_t c = L->out_c;
    float scale[c], shift[c];
    if (L->bn_batch_stats) {
        bn_train_stats(L->bn_mean, L->bn_rstd, L->running_mean, L->running_var, L->z,
                       (int)rows, c, NET_BN_EPS, NET_BN_MOMENTUM);
        for (int32_t k = 0; k < c; k++) {
            scale[k] = L->gamma[k] * L->bn_rstd[k];
            shift[k] = L->beta[k] - L->bn_mean[k] * scale[k];
        }
    } else {
        for (int32_t k = 0; k < c; k++) {
            scale[k] = L->gamma[k] * (1.0f / sqrtf(L->running_var[k] + NET_BN_EPS));
            shift[k] = L->beta[k] - L->running_mean[k] * scale[k];
        }
    }
    float mn = INFINITY, mx = -INFINITY;
    size_t per = SIMD_CHUNK / (size_t)c + 1, chunks = (rows + per - 1) / per;
#pragma omp parallel for schedule(static) reduction(min : mn) reduction(max : mx) \
    if (chunks > 1)
    for (size_t k = 0; k < chunks; k++) {
        size_t r0 = k * per, len = rows - r0 < per ? rows - r0 : per;
        float l, h;
        bn_act_chunk(out + r0 * (size_t)c, L->z + r0 * (size_t)c, len, c, scale, shift, L->act,
                     L->mask + r0 * (size_t)c, &l, &h);
        mn = l < mn ? l : mn;
        mx = h > mx ? h : mx;
    }
    *lo = mn;
    *hi = mx;
}

/* z[r, c] *= inv[c] over rows of C (the rescale by 1 / sf). */
SIMD_CLONES
static void scale_rows(float *z, size_t rows, int32_t c, const float *inv)
{
    for (size_t r = 0; r < rows; r++) {
        float *zr = z + r * (size_t)c;
#pragma omp simd
        for (int32_t k = 0; k < c; k++)
            zr[k] *= inv[k];
    }
}

static void scale_channels(float *z, size_t rows, int32_t c, const float *inv)
{
    size_t per = SIMD_CHUNK / (size_t)c + 1, chunks = (rows + per - 1) / per;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (size_t k = 0; k < chunks; k++) {
        size_t r0 = k * per, len = rows - r0 < per ? rows - r0 : per;
        scale_rows(z + r0 * (size_t)c, len, c, inv);
    }
}

static void forward_layer(net *n, int i, int b, int training)
{
    net_layer *L = &n->layers[i];
    const float *x = n->t[L->input];
    float *out = n->t[i + 1];
    size_t rows = (size_t)b * (size_t)L->out_shape.h * (size_t)L->out_shape.w;
    size_t cnt = rows * (size_t)L->out_shape.c;
    q_shape in = L->in_shape;

    switch (L->op) {
    case Q_OP_CONV2D:
    case Q_OP_DWCONV2D:
    case Q_OP_LINEAR: {
        const float *w = L->w;
        if (n->qat) {
            net_weight_quant(n, L);
            w = L->wq;
        }
        float *y = L->bn ? L->z : out;
        const float *bias = L->bn ? NULL : L->bias;
        int rescaled = 0; /* QAT with BN: z = conv(x, wq) / sf */
        if (L->op == Q_OP_LINEAR) {
            ly_linear_forward(y, x, w, bias, b, (int)tensor_size(in), L->out_c);
        } else {
            ly_conv_shape cs = ly_conv_shape_of(b, in, L->out_c, &L->win);
            if (L->op == Q_OP_CONV2D && L->bn && n->qat) {
                ly_conv2d_forward_scaled(y, x, w, L->inv_sf, n->col, &cs);
                rescaled = 1;
            } else if (L->op == Q_OP_CONV2D) {
                ly_conv2d_forward(y, x, w, bias, n->col, &cs);
            } else {
                ly_dwconv2d_forward(y, x, w, bias, &cs);
            }
        }
        if (L->bn) {
            if (n->qat && !rescaled) /* z = conv(x, wq) / sf */
                scale_channels(L->z, rows, L->out_c, L->inv_sf);
            /* one row (a linear layer's batch of one) has no batch variance */
            L->bn_batch_stats = training && !(n->qat && n->bn_frozen) && rows > 1;
            float lo, hi;
            bn_act_forward(L, out, rows, &lo, &hi);
            quant_stage(n, L, out, cnt, training, lo, hi);
        } else {
            output_stage(n, L, out, cnt, training);
        }
        break;
    }
    case Q_OP_MAXPOOL: {
        ly_conv_shape cs = ly_conv_shape_of(b, in, in.c, &L->win);
        ly_maxpool_forward(out, x, &cs);
        break;
    }
    case Q_OP_AVGPOOL: {
        /* the int8 model divides on its input's grid (TFLite's rule); so
         * does the fake-quant forward, exactly */
        float s;
        int32_t zp;
        ly_conv_shape cs = ly_conv_shape_of(b, in, in.c, &L->win);
        if (n->qat && n->fq_acts && net_tensor_quant(n, L->input, &s, &zp) == 0)
            ly_avgpool_grid_forward(out, x, s, zp, -128, 127, &cs);
        else if (is_global_pool(L))
            ly_global_avgpool_forward(out, x, b, in.h * in.w, in.c);
        else
            ly_avgpool_forward(out, x, &cs);
        break;
    }
    case Q_OP_ADD:
        ly_add_forward(out, x, n->t[L->input2], cnt);
        output_stage(n, L, out, cnt, training);
        break;
    case Q_OP_FLATTEN:
        break; /* the same memory, read as (B, 1, 1, H·W·C) */
    case Q_OP_SOFTMAX: /* p = softmax(x) per pixel; QAT: on the int8 grid of 1/256 */
        ly_softmax_forward(out, x, (int)rows, in.c);
        if (n->qat && n->fq_acts)
            fq_forward_f32(out, (int64_t)cnt, (fq_params){1.0f / 256.0f, -128, -128, 127}, out,
                           NULL);
        break;
    case Q_OP_COUNT:
        break;
    }
}

const float *net_forward(net *n, int b, int training)
{
    n->training = training;
    n->last_b = b;
    for (int i = 0; i < n->n_layers; i++)
        forward_layer(n, i, b, training);
    return n->t[n->n_layers];
}

/* ---- backward ------------------------------------------------------------- */

/* dy · mask in place (the STE of the fake quantizer and the activation's
 * derivative together). */
SIMD_CLONES
static void mask_chunk(float *d, const uint8_t *mask, size_t cnt)
{
#pragma omp simd
    for (size_t i = 0; i < cnt; i++)
        d[i] = mask[i] ? d[i] : 0.0f;
}

static void apply_mask(float *d, const uint8_t *mask, size_t cnt)
{
    size_t chunks = (cnt + SIMD_CHUNK - 1) / SIMD_CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (size_t k = 0; k < chunks; k++) {
        size_t at = k * SIMD_CHUNK, len = cnt - at < SIMD_CHUNK ? cnt - at : SIMD_CHUNK;
        mask_chunk(d + at, mask + at, len);
    }
}

/* The weight gradient of QAT: wq = fq(w · sf) ⇒ dwf = dwq · mask;
 * dw += dwf · sf (per out channel); dsf[c] += Σ dwf · w (BN) */
static void qat_weight_grad(net_layer *L, const float *dwq, double *dsf)
{
    int64_t nw = L->n_w;
    if (!L->bn) {
        for (int64_t j = 0; j < nw; j++)
            L->dw[j] += L->wmask[j] ? dwq[j] : 0.0f;
        return;
    }
    /* the output channel of weight j: j % OC for dwconv (KH, KW, C), else
     * j / (n_w / OC); either way each dsf[c] sums its weights in ascending j */
    int64_t per = nw / L->out_c;
    for (int64_t j0 = 0; j0 < nw; j0 += L->op == Q_OP_DWCONV2D ? L->out_c : per)
        for (int64_t k = 0; k < (L->op == Q_OP_DWCONV2D ? L->out_c : per); k++) {
            int64_t j = j0 + k;
            int32_t c = (int32_t)(L->op == Q_OP_DWCONV2D ? k : j0 / per);
            float g = L->wmask[j] ? dwq[j] : 0.0f;
            L->dw[j] += g * L->sf[c];
            dsf[c] += (double)g * (double)L->w[j];
        }
}

/* A max pool whose windows do not overlap writes its input's gradient
 * whole (ly_maxpool_backward_set), so that gradient needs no zeroing. */
static int maxpool_sets(const net_layer *L)
{
    return L->op == Q_OP_MAXPOOL && L->win.stride_h >= L->win.kernel_h && L->win.stride_w >= L->win.kernel_w;
}

/* The tensor whose gradient memory tensor t's gradient is: t, or behind
 * flattens (which share their input's memory) the tensor they flatten. */
static int grad_memory(const net *n, int t)
{
    while (t > 0 && n->layers[t - 1].op == Q_OP_FLATTEN)
        t = n->layers[t - 1].input;
    return t;
}

/* Layer i's backward; set_dx: the layer writes (=) its input's gradient
 * instead of accumulating (only where maxpool_sets). */
static void backward_layer(net *n, int i, int b, int set_dx)
{
    net_layer *L = &n->layers[i];
    const float *x = n->t[L->input];
    float *dx = L->input > 0 ? n->dt[L->input] : NULL;
    float *dout = n->dt[i + 1];
    size_t rows = (size_t)b * (size_t)L->out_shape.h * (size_t)L->out_shape.w;
    size_t cnt = rows * (size_t)L->out_shape.c;
    q_shape in = L->in_shape;

    if (L->mask && !L->bn) /* with BN, the BN backward applies it */
        apply_mask(dout, L->mask, cnt);

    switch (L->op) {
    case Q_OP_CONV2D:
    case Q_OP_DWCONV2D:
    case Q_OP_LINEAR: {
        const float *dy = dout;
        double *dsf = n->dsf;
        if (L->bn) {
            /* out = act(u) (masked: the activation's derivative and the STE),
             * u = BN(z) ⇒ dz (written), dgamma, dbeta. In QAT, z = y / sf:
             * the same pass gives dy = dz / sf (in place of dz) and Σ dz · z. */
            float *dz = n->dz;
            const float *inv_sf = n->qat ? L->inv_sf : NULL;
            double *dot = n->qat ? dsf : NULL;
            if (L->bn_batch_stats)
                bn_train_backward_set(dz, L->dgamma, L->dbeta, dout, L->mask, L->z,
                                      L->bn_mean, L->bn_rstd, L->gamma, inv_sf, dot,
                                      (int)rows, L->out_c);
            else
                bn_eval_backward_set(dz, L->dgamma, L->dbeta, dout, L->mask, L->z,
                                     L->gamma, L->running_mean, L->running_var,
                                     inv_sf, dot, (int)rows, L->out_c, NET_BN_EPS);
            if (n->qat) /* z = y / sf ⇒ dsf = −Σ dz · y / sf² = −Σ dz · z / sf */
                for (int32_t c = 0; c < L->out_c; c++)
                    dsf[c] = -dsf[c] / (double)L->sf[c];
            dy = dz;
        }
        float *dwt = n->qat ? n->dwq : L->dw;
        if (n->qat)
            memset(dwt, 0, (size_t)L->n_w * sizeof(float));
        const float *w = n->qat ? L->wq : L->w;
        float *dbias = L->bn ? NULL : L->dbias;
        if (L->op == Q_OP_LINEAR) {
            ly_linear_backward(dx, dwt, dbias, dy, x, w, b, (int)tensor_size(in), L->out_c);
        } else {
            ly_conv_shape cs = ly_conv_shape_of(b, in, L->out_c, &L->win);
            if (L->op == Q_OP_CONV2D)
                ly_conv2d_backward(dx, dwt, dbias, dy, x, w, n->col, &cs);
            else
                ly_dwconv2d_backward(dx, dwt, dbias, dy, x, w, &cs);
        }
        if (n->qat) {
            qat_weight_grad(L, dwt, dsf);
            /* sf = gamma · rstd_run ⇒ dgamma += dsf · rstd_run */
            if (L->bn)
                for (int32_t c = 0; c < L->out_c; c++)
                    L->dgamma[c] += (float)(dsf[c] * (double)L->rstd_run[c]);
        }
        break;
    }
    case Q_OP_MAXPOOL: {
        if (!dx)
            break;
        ly_conv_shape cs = ly_conv_shape_of(b, in, in.c, &L->win);
        if (set_dx)
            ly_maxpool_backward_set(dx, dout, x, &cs);
        else
            ly_maxpool_backward(dx, dout, x, &cs);
        break;
    }
    case Q_OP_AVGPOOL:
        if (!dx)
            break;
        if (is_global_pool(L)) {
            ly_global_avgpool_backward(dx, dout, b, in.h * in.w, in.c);
        } else {
            ly_conv_shape cs = ly_conv_shape_of(b, in, in.c, &L->win);
            ly_avgpool_backward(dx, dout, &cs);
        }
        break;
    case Q_OP_ADD: {
        float *dx2 = L->input2 > 0 ? n->dt[L->input2] : NULL;
        ly_add_backward(dx, dx2, dout, cnt);
        break;
    }
    case Q_OP_FLATTEN:
        break; /* its gradient is its input's gradient */
    case Q_OP_SOFTMAX: /* not in the loss: cross-entropy reads its input (net.logits) */
    case Q_OP_COUNT:
        break;
    }
}

void net_zero_grad(net *n)
{
    memset(n->grads, 0, n->n_params * sizeof(float));
}

/* The backward pass from the gradient of tensor top, which the loss wrote:
 * the scores before a final softmax (net.logits) for cross-entropy, the last
 * tensor for mse. */
static void net_backward(net *n, int top)
{
    int b = n->last_b;
    int last = n->n_layers;
    /* Backward runs in reverse, so the first layer to accumulate into a
     * tensor's gradient is its last reader; that gradient is zeroed just
     * before (while it is about to be hot in cache), unless that reader is a
     * max pool that writes it whole. A tensor may have several readers (`from`,
     * add's `with`, both inputs of an add): the later ones add to it. A
     * flatten's gradient is its input's memory. The scores' gradient was
     * written by the loss (a final softmax's own output has none). */
    int zeroed[NET_MAX_TENSORS] = {0};
    zeroed[grad_memory(n, top)] = 1;
    zeroed[grad_memory(n, last)] = 1;
    for (int i = last - 1; i >= 0; i--) {
        const net_layer *L = &n->layers[i];
        int reads[2] = {L->input, L->input2};
        int set_dx = 0;
        int own = grad_memory(n, i + 1);
        if (own > 0 && !zeroed[own]) { /* read by no later layer: no gradient */
            memset(n->dt[own], 0, (size_t)b * tensor_size(n->tshape[own]) * sizeof(float));
            zeroed[own] = 1;
        }
        for (int k = 0; k < 2 && L->op != Q_OP_FLATTEN; k++) {
            if (reads[k] < 0)
                continue;
            int t = grad_memory(n, reads[k]);
            if (t > 0 && !zeroed[t]) {
                set_dx = maxpool_sets(L);
                if (!set_dx)
                    memset(n->dt[t], 0, (size_t)b * tensor_size(n->tshape[t]) * sizeof(float));
                zeroed[t] = 1;
            }
        }
        backward_layer(n, i, b, set_dx);
    }
}

float net_loss_backward(net *n, const int32_t *labels, int backward)
{
    assert(!backward || n->training); /* backward needs a training forward's state */
    int top = n->logits; /* the scores, before a final softmax */
    float loss = ly_softmax_xent(backward ? n->dt[top] : NULL, n->t[top], labels, n->last_b,
                                 n->n_classes);
    if (backward)
        net_backward(n, top);
    return loss;
}

float net_mse_backward(net *n, const float *targets, int backward)
{
    int last = n->n_layers;
    assert(!backward || n->training);
    assert(n->logits == last); /* no softmax: the config refuses it with mse */
    float loss = ly_mse(backward ? n->dt[last] : NULL, n->t[last], targets, n->last_b,
                        n->n_classes);
    if (backward)
        net_backward(n, last);
    return loss;
}

/* ---- quantization parameters ---------------------------------------------- */

int net_first_unobserved(const net *n)
{
    for (int i = 0; i < n->n_layers; i++)
        if (net_layer_has_fq(&n->layers[i]) && !obs_act_has_data(&n->layers[i].obs))
            return i;
    return -1;
}

int net_tensor_quant(const net *n, int t, float *scale, int32_t *zero_point)
{
    while (t > 0) {
        const net_layer *L = &n->layers[t - 1];
        if (net_layer_has_fq(L))
            return obs_act_qparams(&L->obs, scale, zero_point);
        t = L->input; /* maxpool, flatten: their input's grid */
    }
    *scale = (float)n->in_q.scale;
    *zero_point = n->in_q.zero_point;
    return 0;
}
