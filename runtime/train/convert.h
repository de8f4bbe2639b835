/* convert — the trained QAT network as the int8 model (qmodel.h).
 *
 * For each layer of the net (in QAT mode, observers with data):
 *   weights  int8 = clamp(nearbyint(wf / s_w[c]), −qmax, qmax), qmax 127, or 7
 *            for a layer with 4-bit weights (its weight_bits is recorded), wf the
 *            BN-folded weight w · gamma / sqrt(running_var + eps) — exactly the
 *            values the fake-quant forward used (net_weight_quant);
 *   s_w      the layer's weight scales (frozen once observers are disabled);
 *   bias     int32 = nearbyint(b / (s_in · s_w[c])), b = beta − running_mean · sf
 *            with BN (the eval-mode BN folded into the conv), else the conv
 *            bias; saturated to ±(2^31 − 1 − K·qmax·255) so the accumulator
 *            cannot overflow (q_model_check's bound), and counted;
 *   output   scale and zero-point from the layer's observer; max pool and
 *            flatten keep their input's (q_model_check derives them), and so
 *            does average pooling (set here: the int8 pool then divides by the
 *            count, TFLite's rule, as the fake-quant forward does); softmax
 *            has the fixed scale 1/256 and zero-point −128;
 *   input    the config's input scale and zero-point.
 * The model passes q_model_check before it is returned.
 */
#ifndef QATC_CONVERT_H
#define QATC_CONVERT_H

#include "config.h"
#include "net.h"
#include "qerr.h"
#include "qmodel.h"

typedef struct {
    int saturated_biases;    /* int32 biases clamped to the accumulator bound */
    int clamped_weights;     /* weights outside [−qmax, qmax] before clamping */
} convert_stats;

/* Builds m from n (QAT mode) with the model name and layer names of c.
 * n's weight scales are refreshed first when its observers are on. st may be
 * NULL. Returns 0, or -1 with e set (an observer without data, memory, or a
 * model q_model_check rejects, e.g. an unrepresentable multiplier); on
 * failure m is zeroed. */
int convert_net(net *n, const cfg_config *c, q_model *m, convert_stats *st, qerr *e);

#endif
