/* stats — MACs and constant bytes per layer (see stats.h). */
#include "stats.h"

#include <string.h>

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
    default:
        return;
    }
    int32_t oc = q_layer_out_channels(ly);
    s->weight_bytes = q_layer_weight_count(m, ly);
    if (ly->op != Q_OP_DWCONV2D) /* rows padded with zeros to a multiple of four channels */
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
    }
}
