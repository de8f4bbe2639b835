/* convert — net (QAT) to q_model (see convert.h). */
#include "convert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakequant.h"

/* Weights, scales and int32 bias of weighted layer i into ql. */
static int convert_weights(net *n, int i, q_layer *ql, convert_stats *st, qerr *e)
{
    net_layer *L = &n->layers[i];
    int64_t nw = L->n_w;
    int32_t oc = L->out_c;
    ql->weights = malloc((size_t)nw);
    ql->bias = malloc((size_t)oc * sizeof(int32_t));
    ql->w_scale = malloc((size_t)L->n_wscale * sizeof(double));
    if (!ql->weights || !ql->bias || !ql->w_scale)
        return qerr_set(e, "convert: out of memory");

    /* the scales and fold factors the fake-quant forward uses now */
    net_weight_quant(n, L);
    /* wf = w · sf (BN) or w, in the scratch the backward uses */
    float *wf = n->dwq;
    int64_t per = nw / oc;
    for (int64_t j = 0; j < nw; j++) {
        int32_t c = (int32_t)(L->op == Q_OP_DWCONV2D ? j % oc : j / per);
        wf[j] = L->bn ? L->w[j] * L->sf[c] : L->w[j];
    }
    /* int8 codes in [-127, 127], or int4 in [-7, 7] (weight_bits 4) */
    ql->weight_bits = L->weight_bits;
    fq_quantize_channels_s8(wf, L->n_wscale, L->w_per_ch, L->w_ch_stride, L->w_el_stride,
                            L->w_scale, L->w_qmax, ql->weights);
    for (int64_t j = 0; j < nw; j++) {
        int32_t c = (int32_t)(L->op == Q_OP_DWCONV2D ? j % oc : j / per);
        float s = L->w_scale[L->n_wscale == 1 ? 0 : c];
        if (fabsf(wf[j] / s) > (float)L->w_qmax + 0.5f)
            st->clamped_weights++;
    }
    for (int32_t c = 0; c < L->n_wscale; c++)
        ql->w_scale[c] = (double)L->w_scale[c];

    float s_in;
    int32_t zp_in;
    if (net_tensor_quant(n, L->input, &s_in, &zp_in))
        return qerr_set(e, "convert: layer %d: its input has no observed range", i);
    /* |acc| <= |bias| + K·wmax·255 must fit int32 (wmax 127, or 7 for 4 bits) */
    int64_t k = L->op == Q_OP_DWCONV2D ? (int64_t)L->win.kernel_h * L->win.kernel_w : per;
    double limit = (double)INT32_MAX - (double)k * (double)L->w_qmax * 255.0;
    for (int32_t c = 0; c < oc; c++) {
        double b = L->bn ? (double)L->beta[c] - (double)L->running_mean[c] * (double)L->sf[c]
                         : (double)L->bias[c];
        double sw = ql->w_scale[L->n_wscale == 1 ? 0 : c];
        double q = nearbyint(b / ((double)s_in * sw));
        if (!(fabs(q) <= limit)) {
            st->saturated_biases++;
            q = isnan(q) ? 0.0 : (q > 0 ? floor(limit) : -floor(limit));
        }
        ql->bias[c] = (int32_t)q;
    }
    return 0;
}

int convert_net(net *n, const cfg_config *c, q_model *m, convert_stats *st, qerr *e)
{
    convert_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    memset(m, 0, sizeof *m);
    int u = net_first_unobserved(n);
    if (u >= 0)
        return qerr_at(e, c->config_path, c->layers[u].line,
                       "model.layers[%d]: its activation observer saw no data", u);
    snprintf(m->name, sizeof m->name, "%s", c->name);
    m->in_shape = c->input_shape;
    m->in_q = c->input_q;
    m->n_layers = n->n_layers;
    m->layers = calloc((size_t)n->n_layers, sizeof *m->layers);
    if (!m->layers)
        return qerr_set(e, "convert: out of memory");
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *L = &n->layers[i];
        q_layer *ql = &m->layers[i];
        ql->op = L->op;
        if (c->layers[i].name[0])
            snprintf(ql->name, sizeof ql->name, "%s", c->layers[i].name);
        else
            snprintf(ql->name, sizeof ql->name, "l%d", i);
        ql->input = L->input;
        ql->input2 = L->input2;
        ql->act = L->act;
        ql->win = L->win; /* resolved (four pads, dilation); zero for ops without a window */
        ql->multiplier = L->op == Q_OP_DWCONV2D ? L->out_c / L->in_shape.c : 1;
        ql->out_shape = L->out_shape;
        ql->per_channel = n->per_channel;
        ql->line = 0;
        if (L->op == Q_OP_MAXPOOL || L->op == Q_OP_FLATTEN) {
            ql->out_q = (q_quant){0.0, 0}; /* derived: the input's */
        } else if (L->op == Q_OP_SOFTMAX) {
            ql->out_q = (q_quant){1.0 / 256.0, -128}; /* fixed: probabilities in 256 steps */
        } else if (L->op == Q_OP_AVGPOOL) {
            /* the input's: the int8 pool divides by the count (TFLite's) */
            float s;
            int32_t zp;
            if (net_tensor_quant(n, L->input, &s, &zp)) {
                qerr_set(e, "convert: layer %d: its input has no observed range", i);
                goto fail;
            }
            ql->out_q = (q_quant){(double)s, zp};
        } else {
            float s;
            int32_t zp;
            obs_act_qparams(&L->obs, &s, &zp);
            ql->out_q = (q_quant){(double)s, zp};
        }
        if (ql->op == Q_OP_CONV2D || ql->op == Q_OP_DWCONV2D || ql->op == Q_OP_LINEAR) {
            if (convert_weights(n, i, ql, st, e))
                goto fail;
        } else {
            ql->per_channel = 0;
        }
    }
    if (q_model_check(m, c->config_path, e))
        goto fail;
    return 0;
fail:
    q_model_free(m);
    return -1;
}
