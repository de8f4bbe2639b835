/* Tests of q8_exec: whole models against a composition of the naive kernels
 * (tests/support/naive_kernels.c) whose parameters this file derives on its
 * own from the scales; every intermediate tensor compared bit-exactly. Models:
 * one hand-built model per op and per window form (dilation, each padding
 * form, channel multiplier, padded pools, both average pools, softmax), a
 * hand-computed tiny linear, the reference CNN and random models of every op
 * and form (tests/support/random_model, with and without `breadth`). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "naive_kernels.h"
#include "q8_exec.h"
#include "random_model.h"
#include "rng.h"

/* ---- the reference: naive kernels composed layer by layer ---- */

static fxp_requant must_quantize(double m)
{
    fxp_requant rq;
    assert_int_equal(fxp_quantize_multiplier(m, &rq), 0);
    return rq;
}

/* Tensor i+1 of layer i from the earlier tensors t[]. */
static void ref_layer(const q_model *m, int i, int8_t **t)
{
    const q_layer *l = &m->layers[i];
    q_shape in = q_model_tensor_shape(m, l->input);
    q_quant iq = q_model_tensor_quant(m, l->input), oq = l->out_q;
    q8_conv_params p = {
        .in_h = in.h, .in_w = in.w, .in_c = in.c,
        .out_h = l->out_shape.h, .out_w = l->out_shape.w, .out_c = l->out_shape.c,
        .kernel_h = l->win.kernel_h, .kernel_w = l->win.kernel_w,
        .stride_h = l->win.stride_h, .stride_w = l->win.stride_w,
        .dilation_h = l->win.dilation_h, .dilation_w = l->win.dilation_w,
        .pad_top = l->win.pad_top, .pad_bottom = l->win.pad_bottom,
        .pad_left = l->win.pad_left, .pad_right = l->win.pad_right,
        .depth_multiplier = l->op == Q_OP_DWCONV2D ? l->multiplier : 1,
        .in_zp = iq.zero_point, .out_zp = oq.zero_point,
    };
    q_act_range(l->act, oq, &p.act_min, &p.act_max);
    int32_t out_c = l->out_shape.c;
    fxp_requant rq[4096];
    if (l->op == Q_OP_CONV2D || l->op == Q_OP_DWCONV2D || l->op == Q_OP_LINEAR) {
        assert_true(out_c <= 4096);
        for (int32_t c = 0; c < out_c; c++)
            rq[c] = must_quantize(iq.scale * l->w_scale[l->per_channel ? c : 0] / oq.scale);
    }
    const int8_t *src = t[l->input];
    int8_t *dst = t[i + 1];
    switch (l->op) {
    case Q_OP_CONV2D:
        naive_conv2d(&p, src, l->weights, l->bias, rq, dst);
        break;
    case Q_OP_DWCONV2D:
        naive_dwconv2d(&p, src, l->weights, l->bias, rq, dst);
        break;
    case Q_OP_LINEAR:
        naive_linear(in.h * in.w * in.c, out_c, src, p.in_zp, l->weights, l->bias, rq,
                     p.out_zp, p.act_min, p.act_max, dst);
        break;
    case Q_OP_MAXPOOL:
        naive_maxpool(&p, src, dst);
        break;
    case Q_OP_AVGPOOL:
        if (iq.scale == oq.scale && iq.zero_point == oq.zero_point)
            naive_avgpool(&p, src, dst); /* TFLite's division */
        else
            naive_avgpool_rescale(
                &p, src, must_quantize(iq.scale / (oq.scale * l->win.kernel_h * l->win.kernel_w)),
                dst);
        break;
    case Q_OP_SOFTMAX: {
        /* softmax output: scale 1/256, zero-point -128; exp table from the input scale */
        assert_true(oq.scale == 1.0 / 256 && oq.zero_point == -128);
        int32_t table[256];
        for (int d = 0; d < 256; d++)
            table[d] = (int32_t)llround(exp(-iq.scale * d) * (1 << 20));
        naive_softmax(in.h * in.w, in.c, src, table, dst);
        break;
    }
    case Q_OP_ADD: {
        q_quant iq2 = q_model_tensor_quant(m, l->input2);
        double s = iq.scale > iq2.scale ? 2 * iq.scale : 2 * iq2.scale;
        q8_add_params a = {
            .in1_zp = iq.zero_point, .in2_zp = iq2.zero_point, .out_zp = oq.zero_point,
            .in1_rq = must_quantize(iq.scale / s), .in2_rq = must_quantize(iq2.scale / s),
            .out_rq = must_quantize(s / (oq.scale * (1 << Q8_ADD_LEFT_SHIFT))),
            .act_min = p.act_min, .act_max = p.act_max,
        };
        naive_add(&a, in.h * in.w * in.c, src, t[l->input2], dst);
        break;
    }
    case Q_OP_FLATTEN:
        memcpy(dst, src, (size_t)(in.h * in.w * in.c));
        break;
    default:
        fail_msg("unknown op %d", (int)l->op);
    }
}

/* Runs m through the executor and the reference on in; compares every tensor.
 * Returns the number of int8 values compared. */
static long compare_run(const q_model *m, q8_exec *x, const int8_t *in, const char *what)
{
    int n_t = m->n_layers + 1;
    int8_t **t = calloc((size_t)n_t, sizeof *t);
    assert_non_null(t);
    for (int k = 0; k < n_t; k++) {
        t[k] = malloc((size_t)q_shape_size(q_model_tensor_shape(m, k)));
        assert_non_null(t[k]);
    }
    int32_t n_in = q_shape_size(m->in_shape);
    memcpy(t[0], in, (size_t)n_in);
    for (int i = 0; i < m->n_layers; i++)
        ref_layer(m, i, t);
    int32_t n_out = q_shape_size(m->layers[m->n_layers - 1].out_shape);
    int8_t *out = malloc((size_t)n_out);
    assert_non_null(out);
    q8_exec_run(x, in, out);
    long compared = 0;
    for (int k = 0; k < n_t; k++) {
        const int8_t *got = q8_exec_tensor(x, k);
        int32_t n = q_shape_size(q_model_tensor_shape(m, k));
        for (int32_t j = 0; j < n; j++)
            if (got[j] != t[k][j])
                fail_msg("%s: tensor %d (%s %s) first differs at index %ld: exec %d, naive %d",
                         what, k, k ? q_op_names[m->layers[k - 1].op] : "input",
                         k ? m->layers[k - 1].name : "", (long)j, got[j], t[k][j]);
        compared += n;
    }
    for (int32_t j = 0; j < n_out; j++)
        if (out[j] != t[n_t - 1][j])
            fail_msg("%s: output first differs at index %ld", what, (long)j);
    for (int k = 0; k < n_t; k++)
        free(t[k]);
    free(t);
    free(out);
    return compared;
}

static void random_input(rng_state *r, int8_t *v, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        v[i] = (int8_t)((int32_t)rng_below(r, 256) - 128);
}

/* Checks m, then compares n_inputs random inputs. Returns values compared. */
static long check_model(rng_state *r, q_model *m, int n_inputs, const char *what)
{
    qerr e = {{0}};
    if (q_model_check(m, "test", &e))
        fail_msg("%s: q_model_check: %s", what, e.msg);
    q8_exec *x = q8_exec_new(m, &e);
    if (!x)
        fail_msg("%s: q8_exec_new: %s", what, e.msg);
    int32_t n_in = q_shape_size(m->in_shape);
    int8_t *in = malloc((size_t)n_in);
    assert_non_null(in);
    long compared = 0;
    for (int k = 0; k < n_inputs; k++) {
        random_input(r, in, n_in);
        compared += compare_run(m, x, in, what);
    }
    free(in);
    q8_exec_free(x);
    return compared;
}

/* ---- building models by hand ---- */

static void model_init(q_model *m, const char *name, q_shape in, q_quant q, int n_layers)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->in_shape = in;
    m->in_q = q;
    m->n_layers = n_layers;
    m->layers = calloc((size_t)n_layers, sizeof *m->layers);
    assert_non_null(m->layers);
}

static q_layer *add_layer(q_model *m, int i, q_op op, int input, q_act act, q_quant out_q)
{
    q_layer *l = &m->layers[i];
    l->op = op;
    snprintf(l->name, sizeof l->name, "l%d", i);
    l->input = input;
    l->input2 = -1;
    l->act = act;
    l->out_q = out_q;
    return l;
}

static void set_window(q_layer *l, int32_t k_h, int32_t k_w, int32_t s_h, int32_t s_w,
                       int32_t pad)
{
    l->win.kernel_h = k_h;
    l->win.kernel_w = k_w;
    l->win.stride_h = s_h;
    l->win.stride_w = s_w;
    l->win.pad_top = l->win.pad_bottom = l->win.pad_left = l->win.pad_right = pad;
}

/* Any window: kernel, stride, dilation, pads [top, bottom, left, right]. */
static void set_window4(q_layer *l, int32_t k_h, int32_t k_w, int32_t s_h, int32_t s_w,
                        int32_t d_h, int32_t d_w, int32_t pt, int32_t pb, int32_t pl, int32_t pr)
{
    l->win = (q_window){k_h, k_w, s_h, s_w, d_h, d_w, pt, pb, pl, pr};
}

/* Random weights, biases and weight scales for layer i, whose earlier layers
 * are complete and whose out_shape.c is set (dwconv: the input channels).
 * Weight scales keep the output mostly unsaturated: s_in s_w sqrt(K) 73^2 ~ 50 s_out. */
static void set_weights(rng_state *r, q_model *m, int i, int per_channel)
{
    if (i > 0) { /* derive the shapes and pass-through scales of layers 0..i-1 */
        int n = m->n_layers;
        qerr e = {{0}};
        m->n_layers = i;
        if (q_model_check(m, "prefix", &e))
            fail_msg("layers before %d: %s", i, e.msg);
        m->n_layers = n;
    }
    q_layer *l = &m->layers[i];
    q_shape in = q_model_tensor_shape(m, l->input);
    if (l->op == Q_OP_DWCONV2D)
        l->out_shape.c = in.c * (l->multiplier > 1 ? l->multiplier : 1);
    int32_t out_c = l->out_shape.c;
    int32_t n_w = q_layer_weight_count(m, l);
    int32_t k = n_w / out_c;
    int n_s = per_channel ? out_c : 1;
    l->per_channel = per_channel;
    l->weights = malloc((size_t)n_w);
    l->bias = malloc((size_t)out_c * sizeof *l->bias);
    l->w_scale = malloc((size_t)n_s * sizeof *l->w_scale);
    assert_non_null(l->weights && l->bias && l->w_scale);
    for (int32_t j = 0; j < n_w; j++)
        l->weights[j] = (int8_t)((int32_t)rng_below(r, 255) - 127);
    for (int32_t c = 0; c < out_c; c++)
        l->bias[c] = (int32_t)rng_below(r, 20001) - 10000;
    double s_in = q_model_tensor_quant(m, l->input).scale;
    for (int c = 0; c < n_s; c++)
        l->w_scale[c] = 50.0 * l->out_q.scale / (s_in * sqrt((double)k) * 5300.0) *
                        exp2(2.0 * rng_uniform(r) - 1.0);
}

/* ---- tests ---- */

#define N_INPUTS 20

/* One model per op (with a small neighbourhood where the op needs one). */
static void test_q8_exec_each_op(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 50);
    long compared = 0;
    int models = 0;
    q_model m;

    /* conv2d 3x3 stride 2 pad 1, per channel, relu; then 1x1 per tensor, relu6 */
    model_init(&m, "conv", (q_shape){5, 6, 3}, (q_quant){1.0 / 255, -128}, 2);
    q_layer *l = add_layer(&m, 0, Q_OP_CONV2D, 0, Q_ACT_RELU, (q_quant){0.05, -100});
    set_window(l, 3, 3, 2, 2, 1);
    l->out_shape.c = 4;
    set_weights(&r, &m, 0, 1);
    l = add_layer(&m, 1, Q_OP_CONV2D, 1, Q_ACT_RELU6, (q_quant){0.03, -128});
    set_window(l, 1, 1, 1, 1, 0);
    l->out_shape.c = 5;
    set_weights(&r, &m, 1, 0);
    compared += check_model(&r, &m, N_INPUTS, "conv2d");
    q_model_free(&m);
    models++;

    /* dwconv2d 3x3 s1 p1 per tensor relu6; 2x3 s2 p1 per channel, no act */
    model_init(&m, "dw", (q_shape){6, 5, 3}, (q_quant){0.02, 127}, 2);
    l = add_layer(&m, 0, Q_OP_DWCONV2D, 0, Q_ACT_RELU6, (q_quant){0.04, -20});
    set_window(l, 3, 3, 1, 1, 1);
    set_weights(&r, &m, 0, 0);
    l = add_layer(&m, 1, Q_OP_DWCONV2D, 1, Q_ACT_NONE, (q_quant){0.1, 5});
    set_window(l, 2, 3, 2, 2, 1);
    set_weights(&r, &m, 1, 1);
    compared += check_model(&r, &m, N_INPUTS, "dwconv2d");
    q_model_free(&m);
    models++;

    /* linear straight from a (2, 3, 2) tensor (NHWC order), per channel */
    model_init(&m, "fc", (q_shape){2, 3, 2}, (q_quant){0.1, 3}, 1);
    l = add_layer(&m, 0, Q_OP_LINEAR, 0, Q_ACT_NONE, (q_quant){0.2, -7});
    l->out_shape.c = 5;
    set_weights(&r, &m, 0, 1);
    compared += check_model(&r, &m, N_INPUTS, "linear");
    q_model_free(&m);
    models++;

    /* maxpool 2x2 s2 on 7 columns (stride does not divide), then 3x2 s1 */
    model_init(&m, "mp", (q_shape){6, 7, 2}, (q_quant){0.1, -128}, 2);
    l = add_layer(&m, 0, Q_OP_MAXPOOL, 0, Q_ACT_NONE, (q_quant){0, 0});
    set_window(l, 2, 2, 2, 2, 0);
    l = add_layer(&m, 1, Q_OP_MAXPOOL, 1, Q_ACT_NONE, (q_quant){0, 0});
    set_window(l, 3, 2, 1, 1, 0);
    compared += check_model(&r, &m, N_INPUTS, "maxpool");
    q_model_free(&m);
    models++;

    /* avgpool 2x2 s1 (rescaling), then global */
    model_init(&m, "ap", (q_shape){4, 5, 3}, (q_quant){0.1, 10}, 2);
    l = add_layer(&m, 0, Q_OP_AVGPOOL, 0, Q_ACT_NONE, (q_quant){0.07, -3});
    set_window(l, 2, 2, 1, 1, 0);
    l = add_layer(&m, 1, Q_OP_AVGPOOL, 1, Q_ACT_NONE, (q_quant){0.05, 0});
    set_window(l, 3, 4, 1, 1, 0);
    compared += check_model(&r, &m, N_INPUTS, "avgpool");
    q_model_free(&m);
    models++;

    /* add: conv output + the model input (different scales and zero-points), relu */
    model_init(&m, "res", (q_shape){4, 4, 3}, (q_quant){0.02, -128}, 2);
    l = add_layer(&m, 0, Q_OP_CONV2D, 0, Q_ACT_NONE, (q_quant){0.05, 12});
    set_window(l, 3, 3, 1, 1, 1);
    l->out_shape.c = 3;
    set_weights(&r, &m, 0, 1);
    l = add_layer(&m, 1, Q_OP_ADD, 1, Q_ACT_RELU, (q_quant){0.06, -30});
    l->input2 = 0;
    compared += check_model(&r, &m, N_INPUTS, "add");
    q_model_free(&m);
    models++;

    /* flatten then linear */
    model_init(&m, "flat", (q_shape){2, 2, 3}, (q_quant){0.1, 0}, 2);
    add_layer(&m, 0, Q_OP_FLATTEN, 0, Q_ACT_NONE, (q_quant){0, 0});
    l = add_layer(&m, 1, Q_OP_LINEAR, 1, Q_ACT_RELU, (q_quant){0.1, -128});
    l->out_shape.c = 4;
    set_weights(&r, &m, 1, 0);
    compared += check_model(&r, &m, N_INPUTS, "flatten");
    q_model_free(&m);
    models++;

    print_message("q8_exec: %d one-op models x %d inputs, %ld int8 values bit-exact\n", models,
                  N_INPUTS, compared);
}

/* One model per window form and new op: dilation, one-sided and `same`
 * padding, rectangular kernels and strides, a channel multiplier, padded
 * pools, the division average pool next to the rescaling one, softmax last. */
static void test_q8_exec_each_form(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 54);
    long compared = 0;
    int models = 0;
    q_model m;
    qerr e = {{0}};

    /* conv2d 3x2 dilation [2, 3], stride [2, 1], pads [2, 0, 1, 3] (9x10 ->
     * 4x11); then 1x2 dilation [1, 3] stride 2 with TensorFlow's same padding
     * (4x11 -> 2x6, padding [0, 0, 1, 2]) */
    model_init(&m, "dil", (q_shape){9, 10, 2}, (q_quant){0.03, 17}, 2);
    q_layer *l = add_layer(&m, 0, Q_OP_CONV2D, 0, Q_ACT_RELU, (q_quant){0.05, -100});
    set_window4(l, 3, 2, 2, 1, 2, 3, 2, 0, 1, 3);
    l->out_shape.c = 3;
    set_weights(&r, &m, 0, 1);
    l = add_layer(&m, 1, Q_OP_CONV2D, 1, Q_ACT_NONE, (q_quant){0.07, 4});
    q_geom g = {.op = Q_OP_CONV2D, .win = {1, 2, 2, 2, 1, 3, 0, 0, 0, 0}, .pad_rule = Q_PAD_SAME,
                .out_c = 2};
    q_shape out;
    const char *key;
    char why[128];
    m.n_layers = 1;
    assert_int_equal(q_model_check(&m, "dil", &e), 0);
    m.n_layers = 2;
    assert_int_equal(q_geom_derive(&g, m.layers[0].out_shape, m.layers[0].out_shape, &out, NULL,
                                   &key, why, sizeof why), 0);
    l->win = g.win;
    assert_true(l->win.pad_left == 1 && l->win.pad_right == 2); /* same: the odd one goes right */
    l->out_shape.c = 2;
    set_weights(&r, &m, 1, 0);
    compared += check_model(&r, &m, N_INPUTS, "dilated conv2d");
    q_model_free(&m);
    models++;

    /* dwconv2d multiplier 3, 3x3 dilation 2 pads [2, 1, 0, 2]; then multiplier 2, 1x1 */
    model_init(&m, "mult", (q_shape){6, 7, 2}, (q_quant){0.02, -128}, 2);
    l = add_layer(&m, 0, Q_OP_DWCONV2D, 0, Q_ACT_RELU6, (q_quant){0.04, -20});
    set_window4(l, 3, 3, 1, 2, 2, 2, 2, 1, 0, 2);
    l->multiplier = 3;
    set_weights(&r, &m, 0, 1);
    l = add_layer(&m, 1, Q_OP_DWCONV2D, 1, Q_ACT_NONE, (q_quant){0.1, 5});
    set_window4(l, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0);
    l->multiplier = 2;
    set_weights(&r, &m, 1, 0);
    compared += check_model(&r, &m, N_INPUTS, "dwconv2d multiplier");
    assert_int_equal(m.layers[1].out_shape.c, 12);
    q_model_free(&m);
    models++;

    /* padded max pool 3x2 stride [2, 1] pads [1, 2, 0, 1] on a zero-point far
     * from -128 (padding must never win); padded average pool by division
     * 2x3 pads [1, 0, 2, 1]; a rescaling average pool; a global division one */
    model_init(&m, "pools", (q_shape){5, 6, 3}, (q_quant){0.1, 100}, 4);
    l = add_layer(&m, 0, Q_OP_MAXPOOL, 0, Q_ACT_NONE, (q_quant){0, 0});
    set_window4(l, 3, 2, 2, 1, 1, 1, 1, 2, 0, 1);
    l = add_layer(&m, 1, Q_OP_AVGPOOL, 1, Q_ACT_NONE, (q_quant){0.1, 100});
    set_window4(l, 2, 3, 1, 1, 1, 1, 1, 0, 2, 1);
    l = add_layer(&m, 2, Q_OP_AVGPOOL, 2, Q_ACT_NONE, (q_quant){0.07, -3});
    set_window4(l, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    l = add_layer(&m, 3, Q_OP_AVGPOOL, 3, Q_ACT_NONE, (q_quant){0.07, -3});
    set_window4(l, 2, 5, 1, 1, 1, 1, 0, 0, 0, 0);
    compared += check_model(&r, &m, N_INPUTS, "padded pools");
    assert_false(q_avgpool_rescales(&m, &m.layers[1]));
    assert_true(q_avgpool_rescales(&m, &m.layers[2]));
    assert_false(q_avgpool_rescales(&m, &m.layers[3]));
    q_model_free(&m);
    models++;

    /* linear then softmax over 10 classes; and a softmax over the channels of
     * every pixel of a conv output */
    model_init(&m, "smax", (q_shape){3, 3, 2}, (q_quant){0.05, 0}, 3);
    add_layer(&m, 0, Q_OP_FLATTEN, 0, Q_ACT_NONE, (q_quant){0, 0});
    l = add_layer(&m, 1, Q_OP_LINEAR, 1, Q_ACT_NONE, (q_quant){0.08, 3});
    l->out_shape.c = 10;
    set_weights(&r, &m, 1, 1);
    add_layer(&m, 2, Q_OP_SOFTMAX, 2, Q_ACT_NONE, (q_quant){0, 0});
    compared += check_model(&r, &m, N_INPUTS, "softmax");
    assert_true(m.layers[2].out_q.scale == 1.0 / 256 && m.layers[2].out_q.zero_point == -128);
    q_model_free(&m);
    model_init(&m, "smax2", (q_shape){4, 3, 2}, (q_quant){0.05, 0}, 2);
    l = add_layer(&m, 0, Q_OP_CONV2D, 0, Q_ACT_NONE, (q_quant){0.3, -7});
    set_window4(l, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0);
    l->out_shape.c = 5;
    set_weights(&r, &m, 0, 1);
    add_layer(&m, 1, Q_OP_SOFTMAX, 1, Q_ACT_NONE, (q_quant){0, 0});
    compared += check_model(&r, &m, N_INPUTS, "softmax per pixel");
    q_model_free(&m);
    models += 2;

    print_message("q8_exec: %d models of the new window forms and ops x %d inputs, %ld int8 "
                  "values bit-exact\n", models, N_INPUTS, compared);
}

/* A linear layer worked by hand. in: scale 0.5, zp 1; w_scale 0.25; out:
 * scale 1, zp -5, relu (clamp at -5). M = 0.5 * 0.25 / 1 = 1/8.
 *   row 0: w = [2, -3], bias 4     row 1: w = [-2, 3], bias -4 (= -row 0)
 *   x = [5, -1]: x - zp = [4, -2], acc0 = 4 + 8 + 6 = 18 -> 2.25 -> 2 -> -3;
 *                acc1 = -18 -> -2.25 -> -2 -> -7 -> relu -5
 *   x = [9, 1]:  [8, 0], acc0 = 20 -> 2.5 -> 3 (tie up) -> -2; acc1 -2.5 -> -2 -> -5
 *   x = [1, 9]:  [0, 8], acc0 = -20 -> -2.5 -> -2 -> -7 -> -5; acc1 2.5 -> 3 -> -2 */
static void test_q8_exec_hand_computed_linear(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, "hand", (q_shape){1, 1, 2}, (q_quant){0.5, 1}, 1);
    q_layer *l = add_layer(&m, 0, Q_OP_LINEAR, 0, Q_ACT_RELU, (q_quant){1.0, -5});
    l->out_shape.c = 2;
    l->weights = malloc(4);
    l->bias = malloc(2 * sizeof *l->bias);
    l->w_scale = malloc(sizeof *l->w_scale);
    assert_non_null(l->weights && l->bias && l->w_scale);
    memcpy(l->weights, (int8_t[]){2, -3, -2, 3}, 4);
    l->bias[0] = 4;
    l->bias[1] = -4;
    l->w_scale[0] = 0.25;
    qerr e = {{0}};
    assert_int_equal(q_model_check(&m, "hand", &e), 0);
    q8_exec *x = q8_exec_new(&m, &e);
    assert_non_null(x);
    const int8_t inputs[3][2] = {{5, -1}, {9, 1}, {1, 9}};
    const int8_t want[3][2] = {{-3, -5}, {-2, -5}, {-5, -2}};
    for (int k = 0; k < 3; k++) {
        int8_t out[2];
        q8_exec_run(x, inputs[k], out);
        assert_int_equal(out[0], want[k][0]);
        assert_int_equal(out[1], want[k][1]);
    }
    q8_exec_free(x);
    q_model_free(&m);
}

/* The reference CNN (examples/fmnist/fmnist_cnn.yaml) on a 28x28x1 input. */
static void test_q8_exec_reference_cnn(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 51);
    q_model m;
    model_init(&m, "fmnist_cnn", (q_shape){28, 28, 1}, (q_quant){1.0 / 255, -128}, 9);
    q_layer *l = add_layer(&m, 0, Q_OP_CONV2D, 0, Q_ACT_RELU, (q_quant){0.02, -128});
    set_window(l, 3, 3, 1, 1, 1);
    l->out_shape.c = 16;
    set_weights(&r, &m, 0, 1);
    l = add_layer(&m, 1, Q_OP_MAXPOOL, 1, Q_ACT_NONE, (q_quant){0, 0});
    set_window(l, 2, 2, 2, 2, 0);
    l = add_layer(&m, 2, Q_OP_DWCONV2D, 2, Q_ACT_RELU6, (q_quant){6.0 / 255, -128});
    set_window(l, 3, 3, 2, 2, 1);
    set_weights(&r, &m, 2, 1);
    l = add_layer(&m, 3, Q_OP_CONV2D, 3, Q_ACT_RELU, (q_quant){0.03, -128});
    set_window(l, 1, 1, 1, 1, 0);
    l->out_shape.c = 32;
    set_weights(&r, &m, 3, 1);
    snprintf(l->name, sizeof l->name, "b1");
    l = add_layer(&m, 4, Q_OP_CONV2D, 4, Q_ACT_NONE, (q_quant){0.04, 3});
    set_window(l, 3, 3, 1, 1, 1);
    l->out_shape.c = 32;
    set_weights(&r, &m, 4, 1);
    l = add_layer(&m, 5, Q_OP_ADD, 5, Q_ACT_RELU, (q_quant){0.05, -128});
    l->input2 = 4; /* tensor of b1 */
    l = add_layer(&m, 6, Q_OP_AVGPOOL, 6, Q_ACT_NONE, (q_quant){0.02, -128});
    set_window(l, 7, 7, 1, 1, 0); /* global: 28 -> 14 -> 7 */
    add_layer(&m, 7, Q_OP_FLATTEN, 7, Q_ACT_NONE, (q_quant){0, 0});
    l = add_layer(&m, 8, Q_OP_LINEAR, 8, Q_ACT_NONE, (q_quant){0.1, 0});
    l->out_shape.c = 10;
    set_weights(&r, &m, 8, 1);
    long compared = check_model(&r, &m, 10, "reference cnn");
    assert_int_equal(m.layers[6].out_shape.h, 1);
    print_message("q8_exec: reference CNN x 10 inputs, %ld int8 values bit-exact\n", compared);
    q_model_free(&m);
}

/* Random models of every op (every_op on half of them): 200 of the kinds the
 * generator prints, then 200 with `breadth` (every window form, softmax). */
static void test_q8_exec_random_models(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 52);
    for (int breadth = 0; breadth <= 1; breadth++) {
        long compared = 0, layers = 0, op_count[Q_OP_COUNT] = {0}, feat[Q_FEAT_COUNT] = {0};
        const int n_models = 200;
        for (int k = 0; k < n_models; k++) {
            random_model_opts o;
            random_model_default_opts(&o);
            o.every_op = k & 1;
            o.breadth = breadth;
            o.weight4 = breadth;
            q_model m;
            assert_int_equal(random_model(&r, &o, &m), 0);
            char what[64];
            snprintf(what, sizeof what, "random model %d%s", k, breadth ? " (breadth)" : "");
            compared += check_model(&r, &m, 3, what);
            layers += m.n_layers;
            for (int i = 0; i < m.n_layers; i++) {
                op_count[m.layers[i].op]++;
                unsigned f = q_layer_features(&m, &m.layers[i]);
                for (int j = 0; j < Q_FEAT_COUNT; j++)
                    feat[j] += (f >> j) & 1;
            }
            q_model_free(&m);
        }
        print_message("q8_exec: %d random models%s (%ld layers: conv2d %ld, dwconv2d %ld, "
                      "linear %ld, maxpool %ld, avgpool %ld, add %ld, flatten %ld, softmax %ld; "
                      "dilated %ld, asymmetric pad %ld, padded pools %ld, multiplier %ld, "
                      "division avgpool %ld, 4-bit weights %ld) x 3 inputs, %ld int8 values "
                      "bit-exact\n",
                      n_models, breadth ? " with breadth" : "", layers,
                      op_count[Q_OP_CONV2D], op_count[Q_OP_DWCONV2D], op_count[Q_OP_LINEAR],
                      op_count[Q_OP_MAXPOOL], op_count[Q_OP_AVGPOOL], op_count[Q_OP_ADD],
                      op_count[Q_OP_FLATTEN], op_count[Q_OP_SOFTMAX], feat[0], feat[1], feat[2],
                      feat[3], feat[4], feat[6], compared);
        for (int op = 0; op < Q_OP_COUNT; op++)
            assert_true(op == Q_OP_SOFTMAX && !breadth ? op_count[op] == 0 : op_count[op] > 0);
        for (int j = 0; j < Q_FEAT_COUNT; j++)
            assert_true(breadth ? feat[j] > 0 : feat[j] == 0);
    }
}

/* The requantization parameters the generator prints: per tensor expanded
 * to every channel, avgpool one entry, add its own accessor, NULL elsewhere. */
static void test_q8_exec_layer_params(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 53);
    q_model m;
    model_init(&m, "params", (q_shape){4, 4, 2}, (q_quant){0.1, 0}, 5);
    q_layer *l = add_layer(&m, 0, Q_OP_CONV2D, 0, Q_ACT_NONE, (q_quant){0.2, 0});
    set_window(l, 1, 1, 1, 1, 0);
    l->out_shape.c = 3;
    set_weights(&r, &m, 0, 0); /* per tensor */
    l = add_layer(&m, 1, Q_OP_ADD, 0, Q_ACT_RELU6, (q_quant){0.3, -10});
    l->input2 = 0;
    l = add_layer(&m, 2, Q_OP_MAXPOOL, 2, Q_ACT_NONE, (q_quant){0, 0});
    set_window(l, 2, 2, 2, 2, 0);
    l = add_layer(&m, 3, Q_OP_AVGPOOL, 3, Q_ACT_NONE, (q_quant){0.25, 1});
    set_window(l, 2, 2, 1, 1, 0);
    l = add_layer(&m, 4, Q_OP_DWCONV2D, 4, Q_ACT_NONE, (q_quant){0.5, 0});
    set_window(l, 1, 1, 1, 1, 0);
    set_weights(&r, &m, 4, 1);
    qerr e = {{0}};
    assert_int_equal(q_model_check(&m, "params", &e), 0);
    q8_exec *x = q8_exec_new(&m, &e);
    assert_non_null(x);

    const fxp_requant *rq = q8_exec_layer_requant(x, 0);
    fxp_requant want = must_quantize(0.1 * m.layers[0].w_scale[0] / 0.2);
    for (int c = 0; c < 3; c++) {
        assert_int_equal(rq[c].multiplier, want.multiplier);
        assert_int_equal(rq[c].shift, want.shift);
    }
    rq = q8_exec_layer_requant(x, 4);
    for (int c = 0; c < 2; c++) {
        want = must_quantize(0.25 * m.layers[4].w_scale[c] / 0.5);
        assert_int_equal(rq[c].multiplier, want.multiplier);
        assert_int_equal(rq[c].shift, want.shift);
    }
    rq = q8_exec_layer_requant(x, 3);
    want = must_quantize(0.3 / (0.25 * 4));
    assert_int_equal(rq[0].multiplier, want.multiplier);
    assert_int_equal(rq[0].shift, want.shift);
    assert_null(q8_exec_layer_requant(x, 1));
    assert_null(q8_exec_layer_requant(x, 2));

    const q8_add_params *a = q8_exec_layer_add(x, 1);
    assert_non_null(a);
    q8_add_params wa;
    assert_int_equal(q8_add_params_from_scales(0.1, 0.1, 0.3, &wa), 0);
    assert_int_equal(a->in1_rq.multiplier, wa.in1_rq.multiplier);
    assert_int_equal(a->out_rq.shift, wa.out_rq.shift);
    assert_int_equal(a->in1_zp, 0);
    assert_int_equal(a->out_zp, -10);
    assert_int_equal(a->act_min, -10);
    assert_int_equal(a->act_max, 10); /* -10 + round(6 / 0.3) */
    for (int i = 0; i < 5; i++)
        if (i != 1)
            assert_null(q8_exec_layer_add(x, i));
    q8_exec_free(x);
    q_model_free(&m);
}

/* q8_exec_new refuses (NULL, message) a multiplier >= 2^30, which
 * q_model_check would have refused first. */
static void test_q8_exec_new_rejects_unrepresentable(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, "bad", (q_shape){2, 2, 1}, (q_quant){1e6, 0}, 1);
    q_layer *l = add_layer(&m, 0, Q_OP_AVGPOOL, 0, Q_ACT_NONE, (q_quant){1e-6, 0});
    set_window(l, 2, 2, 1, 1, 0);
    l->out_shape = (q_shape){1, 1, 1};
    qerr e = {{0}};
    assert_null(q8_exec_new(&m, &e));
    assert_non_null(strstr(e.msg, "not representable"));
    q_model_free(&m);
}

static void test_q8_exec_argmax(void **state)
{
    (void)state;
    assert_int_equal(q8_argmax((int8_t[]){5}, 1), 0);
    assert_int_equal(q8_argmax((int8_t[]){1, 7, 3, 7}, 4), 1);
    assert_int_equal(q8_argmax((int8_t[]){-128, -128, -128}, 3), 0);
    assert_int_equal(q8_argmax((int8_t[]){-5, -6, 127}, 3), 2);
    assert_int_equal(q8_argmax((int8_t[]){127, 127}, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q8_exec_each_op),
        cmocka_unit_test(test_q8_exec_each_form),
        cmocka_unit_test(test_q8_exec_hand_computed_linear),
        cmocka_unit_test(test_q8_exec_reference_cnn),
        cmocka_unit_test(test_q8_exec_random_models),
        cmocka_unit_test(test_q8_exec_layer_params),
        cmocka_unit_test(test_q8_exec_new_rejects_unrepresentable),
        cmocka_unit_test(test_q8_exec_argmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
