/* stats — MACs and constant bytes per layer (see stats.h). */
#include "stats.h"

#include <string.h>

/* The smallest and largest number of window positions inside the input along one axis,
 * over the outputs 0 .. out - 1 (window o covers o * stride - pad .. + kernel - 1). */
static void inside_range(int32_t in, int32_t out, int32_t kernel, int32_t stride, int32_t pad,
                         int32_t *lo, int32_t *hi)
{
    *lo = kernel, *hi = 0;
    for (int32_t o = 0; o < out; o++) {
        int32_t a = o * stride - pad, b = a + kernel;
        int32_t n = (b < in ? b : in) - (a < 0 ? 0 : a);
        *lo = n < *lo ? n : *lo;
        *hi = n > *hi ? n : *hi;
    }
}

void stats_pool_counts(const q_model *m, const q_layer *ly, int32_t *first, int32_t *n)
{
    const q_window *w = &ly->win;
    q_shape in = q_model_tensor_shape(m, ly->input);
    int32_t hlo, hhi, wlo, whi;
    inside_range(in.h, ly->out_shape.h, w->kernel_h, w->stride_h, w->pad_top, &hlo, &hhi);
    inside_range(in.w, ly->out_shape.w, w->kernel_w, w->stride_w, w->pad_left, &wlo, &whi);
    *first = hlo * wlo;
    *n = hhi * whi - *first + 1;
}

void stats_of_layer(const q_model *m, int l, stats_layer *s)
{
    const q_layer *ly = &m->layers[l];
    q_shape in = q_model_tensor_shape(m, ly->input);
    q_shape out = ly->out_shape;
    memset(s, 0, sizeof *s);
    int64_t out_elems = (int64_t)out.h * out.w * out.c;
    switch (ly->op) {
    case Q_OP_CONV2D:
        s->macs = out_elems * ly->win.kernel_h * ly->win.kernel_w * in.c;
        break;
    case Q_OP_DWCONV2D:
        s->macs = out_elems * ly->win.kernel_h * ly->win.kernel_w;
        break;
    case Q_OP_LINEAR:
        s->macs = out_elems * q_shape_size(in);
        break;
    case Q_OP_SOFTMAX:
        s->table_bytes = 256 * 4;
        return;
    case Q_OP_AVGPOOL:
        if (!q_avgpool_rescales(m, ly)) {
            int32_t first, n;
            stats_pool_counts(m, ly, &first, &n);
            s->table_bytes = 5 * (int64_t)n;
        }
        return;
    default:
        return;
    }
    int32_t oc = q_layer_out_channels(ly);
    s->weight_bytes = q_layer_weight_count(m, ly);
    int dilated = ly->win.dilation_h > 1 || ly->win.dilation_w > 1;
    if (ly->op == Q_OP_LINEAR || (ly->op == Q_OP_CONV2D && !dilated)) /* rows padded with zeros
                                                         to a multiple of four channels */
        s->weight_bytes = s->weight_bytes / oc * ((oc + 3) / 4 * 4);
    s->weight_bytes = q_weight_bytes(s->weight_bytes, ly->weight_bits); /* 4-bit: packed */
    s->bias_bytes = 4 * (int64_t)oc;
    s->requant_bytes = 5 * (int64_t)oc;
}

void stats_of_model(const q_model *m, stats_layer *total)
{
    memset(total, 0, sizeof *total);
    for (int l = 0; l < m->n_layers; l++) {
        stats_layer s;
        stats_of_layer(m, l, &s);
        total->macs += s.macs;
        total->weight_bytes += s.weight_bytes;
        total->bias_bytes += s.bias_bytes;
        total->requant_bytes += s.requant_bytes;
        total->table_bytes += s.table_bytes;
    }
}
