/* q8_exec — runs a q_model with the int8 reference kernels (see q8_exec.h).
 *
 * q8_exec_new derives everything the kernels need from the model's scales
 * once: per layer the kernel parameters, the fixed-point multipliers and the
 * clamp range of the fused activation. Every tensor gets its own buffer (no
 * sharing: the arena plan of the generated C is the generator's business),
 * so any intermediate tensor can be read back after a run.
 *
 * Multipliers and tables (docs/integer-semantics.md):
 *   conv2d, dwconv2d, linear  M[c] = s_in * s_w[c] / s_out  (per tensor: s_w[0]
 *                             for every channel, so rq always has out_c entries)
 *   avgpool                   none (division, q8_avgpool_s8) when the output
 *                             quantization is the input's; else (format version
 *                             1) M = s_in / (s_out * kernel_h * kernel_w)
 *   add                       q8_add_params_from_scales(s_in1, s_in2, s_out)
 *   softmax                   the exp table of q8_softmax_table(s_in)
 * Activation clamps come from q_act_range(act, out quantization).
 */
#include "q8_exec.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "q8_kernels.h"

typedef struct {
    q8_conv_params conv; /* conv2d, dwconv2d, maxpool, avgpool; act range for linear too */
    fxp_requant *rq;     /* (out_c) for conv2d/dwconv2d/linear, (1) for a rescaling
                          * avgpool, else NULL */
    q8_add_params add;   /* add only */
    int32_t *exp_table;  /* softmax only: (Q8_SOFTMAX_TABLE) */
} exec_layer;

struct q8_exec {
    const q_model *m;
    exec_layer *layers; /* (n_layers) */
    int8_t **tensor;    /* (n_layers + 1) pointers into arena */
    int8_t *arena;      /* every tensor, one after the other */
};

void q8_exec_free(q8_exec *x)
{
    if (!x)
        return;
    if (x->layers)
        for (int i = 0; i < x->m->n_layers; i++) {
            free(x->layers[i].rq);
            free(x->layers[i].exp_table);
        }
    free(x->layers);
    free(x->tensor);
    free(x->arena);
    free(x);
}

/* Kernel geometry and quantization of layer l. */
static q8_conv_params conv_params(const q_model *m, const q_layer *l)
{
    q_shape in = q_model_tensor_shape(m, l->input);
    q8_conv_params p;
    memset(&p, 0, sizeof p);
    p.in_h = in.h;
    p.in_w = in.w;
    p.in_c = in.c;
    p.out_h = l->out_shape.h;
    p.out_w = l->out_shape.w;
    p.out_c = l->out_shape.c;
    p.kernel_h = l->win.kernel_h;
    p.kernel_w = l->win.kernel_w;
    p.stride_h = l->win.stride_h;
    p.stride_w = l->win.stride_w;
    p.dilation_h = l->win.dilation_h;
    p.dilation_w = l->win.dilation_w;
    p.pad_top = l->win.pad_top;
    p.pad_bottom = l->win.pad_bottom;
    p.pad_left = l->win.pad_left;
    p.pad_right = l->win.pad_right;
    p.depth_multiplier = l->op == Q_OP_DWCONV2D ? l->multiplier : 1;
    p.in_zp = q_model_tensor_quant(m, l->input).zero_point;
    p.out_zp = l->out_q.zero_point;
    q_act_range(l->act, l->out_q, &p.act_min, &p.act_max);
    return p;
}

/* Fills xl for layer i. Returns 0, or -1 with e set. */
static int prepare_layer(const q_model *m, int i, exec_layer *xl, qerr *e)
{
    const q_layer *l = &m->layers[i];
    double s_in = q_model_tensor_quant(m, l->input).scale, s_out = l->out_q.scale;
    xl->conv = conv_params(m, l);
    switch (l->op) {
    case Q_OP_CONV2D:
    case Q_OP_DWCONV2D:
    case Q_OP_LINEAR: {
        int32_t out_c = q_layer_out_channels(l);
        xl->rq = malloc((size_t)out_c * sizeof *xl->rq);
        if (!xl->rq)
            return qerr_set(e, "out of memory preparing layer %d (%s)", i, l->name);
        for (int32_t c = 0; c < out_c; c++) {
            double s_w = l->w_scale[l->per_channel ? c : 0];
            if (fxp_quantize_multiplier(s_in * s_w / s_out, &xl->rq[c]))
                return qerr_set(e,
                                "layers[%d] (%s): multiplier s_in*s_w[%d]/s_out = %g is not "
                                "representable",
                                i, l->name, (int)c, s_in * s_w / s_out);
        }
        return 0;
    }
    case Q_OP_AVGPOOL: {
        if (!q_avgpool_rescales(m, l))
            return 0; /* division, no multiplier */
        double m_avg = s_in / (s_out * (double)l->win.kernel_h * (double)l->win.kernel_w);
        xl->rq = malloc(sizeof *xl->rq);
        if (!xl->rq)
            return qerr_set(e, "out of memory preparing layer %d (%s)", i, l->name);
        if (fxp_quantize_multiplier(m_avg, xl->rq))
            return qerr_set(e,
                            "layers[%d] (%s): multiplier s_in/(s_out*kh*kw) = %g is not "
                            "representable",
                            i, l->name, m_avg);
        return 0;
    }
    case Q_OP_ADD: {
        q_quant q1 = q_model_tensor_quant(m, l->input), q2 = q_model_tensor_quant(m, l->input2);
        if (q8_add_params_from_scales(q1.scale, q2.scale, s_out, &xl->add))
            return qerr_set(e, "layers[%d] (%s): add scales %g, %g -> %g are not representable",
                            i, l->name, q1.scale, q2.scale, s_out);
        xl->add.in1_zp = q1.zero_point;
        xl->add.in2_zp = q2.zero_point;
        xl->add.out_zp = l->out_q.zero_point;
        xl->add.act_min = xl->conv.act_min;
        xl->add.act_max = xl->conv.act_max;
        return 0;
    }
    case Q_OP_SOFTMAX:
        xl->exp_table = malloc(Q8_SOFTMAX_TABLE * sizeof *xl->exp_table);
        if (!xl->exp_table)
            return qerr_set(e, "out of memory preparing layer %d (%s)", i, l->name);
        if (q8_softmax_table(s_in, xl->exp_table))
            return qerr_set(e, "layers[%d] (%s): softmax of input scale %g", i, l->name, s_in);
        return 0;
    case Q_OP_MAXPOOL:
    case Q_OP_FLATTEN:
    case Q_OP_COUNT:
        return 0;
    }
    return 0;
}

q8_exec *q8_exec_new(const q_model *m, qerr *e)
{
    q8_exec *x = calloc(1, sizeof *x);
    if (!x) {
        qerr_set(e, "out of memory preparing model %s", m->name);
        return NULL;
    }
    x->m = m;
    int n_tensors = m->n_layers + 1;
    x->layers = calloc((size_t)m->n_layers, sizeof *x->layers);
    x->tensor = calloc((size_t)n_tensors, sizeof *x->tensor);
    size_t total = 0;
    for (int t = 0; t < n_tensors; t++)
        total += (size_t)q_shape_size(q_model_tensor_shape(m, t));
    x->arena = malloc(total);
    if (!x->layers || !x->tensor || !x->arena) {
        qerr_set(e, "out of memory preparing model %s (%zu bytes of tensors)", m->name, total);
        q8_exec_free(x);
        return NULL;
    }
    size_t off = 0;
    for (int t = 0; t < n_tensors; t++) {
        x->tensor[t] = x->arena + off;
        off += (size_t)q_shape_size(q_model_tensor_shape(m, t));
    }
    for (int i = 0; i < m->n_layers; i++) {
        if (prepare_layer(m, i, &x->layers[i], e)) {
            q8_exec_free(x);
            return NULL;
        }
    }
    return x;
}

void q8_exec_run(q8_exec *x, const int8_t *in, int8_t *out)
{
    const q_model *m = x->m;
    memcpy(x->tensor[0], in, (size_t)q_shape_size(m->in_shape));
    for (int i = 0; i < m->n_layers; i++) {
        const q_layer *l = &m->layers[i];
        const exec_layer *xl = &x->layers[i];
        const int8_t *src = x->tensor[l->input];
        int8_t *dst = x->tensor[i + 1];
        switch (l->op) {
        case Q_OP_CONV2D:
            q8_conv2d_s8(&xl->conv, src, l->weights, l->bias, xl->rq, dst);
            break;
        case Q_OP_DWCONV2D:
            q8_dwconv2d_s8(&xl->conv, src, l->weights, l->bias, xl->rq, dst);
            break;
        case Q_OP_LINEAR:
            q8_linear_s8(q_shape_size(q_model_tensor_shape(m, l->input)), l->out_shape.c, src,
                         xl->conv.in_zp, l->weights, l->bias, xl->rq, xl->conv.out_zp,
                         xl->conv.act_min, xl->conv.act_max, dst);
            break;
        case Q_OP_MAXPOOL:
            q8_maxpool_s8(&xl->conv, src, dst);
            break;
        case Q_OP_AVGPOOL:
            if (xl->rq)
                q8_avgpool_rescale_s8(&xl->conv, src, xl->rq[0], dst);
            else
                q8_avgpool_s8(&xl->conv, src, dst);
            break;
        case Q_OP_ADD:
            q8_add_s8(&xl->add, q_shape_size(l->out_shape), src, x->tensor[l->input2], dst);
            break;
        case Q_OP_FLATTEN: /* NHWC order is already the flat order */
            memcpy(dst, src, (size_t)q_shape_size(l->out_shape));
            break;
        case Q_OP_SOFTMAX: /* one row per pixel */
            q8_softmax_s8(l->out_shape.h * l->out_shape.w, l->out_shape.c, src, xl->exp_table,
                          dst);
            break;
        case Q_OP_COUNT:
            assert(!"invalid op");
            break;
        }
    }
    q_shape out_shape = m->layers[m->n_layers - 1].out_shape;
    memcpy(out, x->tensor[m->n_layers], (size_t)q_shape_size(out_shape));
}

const int8_t *q8_exec_tensor(const q8_exec *x, int t)
{
    assert(t >= 0 && t <= x->m->n_layers);
    return x->tensor[t];
}

const fxp_requant *q8_exec_layer_requant(const q8_exec *x, int l)
{
    assert(l >= 0 && l < x->m->n_layers);
    return x->layers[l].rq;
}

const q8_add_params *q8_exec_layer_add(const q8_exec *x, int l)
{
    assert(l >= 0 && l < x->m->n_layers);
    return x->m->layers[l].op == Q_OP_ADD ? &x->layers[l].add : NULL;
}

const int32_t *q8_exec_layer_softmax_table(const q8_exec *x, int l)
{
    assert(l >= 0 && l < x->m->n_layers);
    return x->layers[l].exp_table;
}
