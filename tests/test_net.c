/* Tests for net and convert: the fused conv+BN of QAT against conv followed
 * by BN, finite-difference gradients of the fused network, and the converted
 * int8 model against the fake-quant forward. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "convert.h"
#include "net.h"
#include "q8_exec.h"
#include "rng.h"

/* A config with input h×w×c and no layers yet (the fields net and convert read). */
static void base_config(cfg_config *c, int h, int w, int ch)
{
    memset(c, 0, sizeof *c);
    snprintf(c->config_path, sizeof c->config_path, "test.yaml");
    snprintf(c->name, sizeof c->name, "t");
    c->input_shape = (q_shape){h, w, ch};
    c->input_q = (q_quant){1.0 / 255.0, -128};
    c->weight_bits = 8;
    c->weight_per_channel = 1;
    c->act_bits = 8;
    c->averaging_constant = 0.01;
    c->fake_quant_weights = 1;
    c->fake_quant_acts = 1;
}

static cfg_layer *add_layer(cfg_config *c, q_op t)
{
    cfg_layer *l = &c->layers[c->n_layers++];
    memset(l, 0, sizeof *l);
    l->geom.op = t;
    l->line = c->n_layers;
    return l;
}

static void add_conv(cfg_config *c, q_op t, int out, int k, int stride, int pad, int bn,
                     q_act act)
{
    cfg_layer *l = add_layer(c, t);
    l->geom.out_c = out;
    l->geom.win = (q_window){.kernel_h = k, .kernel_w = k, .stride_h = stride, .stride_w = stride,
                             .pad_top = pad, .pad_bottom = pad, .pad_left = pad, .pad_right = pad};
    l->bn = bn, l->act = act;
}

/* Random BN parameters and running statistics, so folding is not trivial. */
static void randomize_bn(net *n, rng_state *r)
{
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *L = &n->layers[i];
        if (!L->bn)
            continue;
        for (int c = 0; c < L->out_c; c++) {
            L->gamma[c] = 0.5f + rng_uniform(r);
            L->beta[c] = rng_uniform(r) - 0.5f;
            L->running_mean[c] = 0.2f * (rng_uniform(r) - 0.5f);
            L->running_var[c] = 0.5f + rng_uniform(r);
        }
    }
    for (int i = 0; i < n->n_layers; i++)
        if (n->layers[i].bias)
            for (int c = 0; c < n->layers[i].out_c; c++)
                n->layers[i].bias[c] = 0.1f * (rng_uniform(r) - 0.5f);
}

/* Inputs on the int8 grid: x = (q + 128) / 255. */
static void random_input(net *n, int b, rng_state *r, int8_t *q8)
{
    size_t per = (size_t)q_shape_size(n->in_shape);
    float *x = net_input(n);
    for (size_t i = 0; i < (size_t)b * per; i++) {
        int q = (int)rng_below(r, 256) - 128;
        if (q8)
            q8[i] = (int8_t)q;
        x[i] = (float)((q + 128) / 255.0);
    }
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        m = d > m || isnan(d) ? d : m;
    }
    return m;
}

/* With fake quantization off, QAT's fused conv+BN (fold into the weight,
 * rescale the conv output back, BN) equals conv followed by BN, in training
 * (batch statistics) and in evaluation (running statistics), for conv2d and
 * dwconv2d. */
static void test_net_fused_conv_bn_equals_conv_then_bn(void **state)
{
    (void)state;
    cfg_config c;
    base_config(&c, 7, 7, 3);
    add_conv(&c, Q_OP_CONV2D, 5, 3, 1, 1, 1, Q_ACT_RELU);
    add_conv(&c, Q_OP_DWCONV2D, 0, 3, 2, 1, 1, Q_ACT_RELU6);
    add_layer(&c, Q_OP_AVGPOOL)->geom.global = 1;
    add_layer(&c, Q_OP_FLATTEN);
    add_conv(&c, Q_OP_LINEAR, 4, 0, 0, 0, 0, Q_ACT_NONE);
    net n;
    qerr e = {{0}};
    assert_int_equal(net_build(&n, &c, 8, &e), 0);
    rng_state r;
    rng_seed(&r, 1);
    net_init(&n, &r);
    randomize_bn(&n, &r);
    random_input(&n, 8, &r, NULL);
    float *saved = malloc(n.n_state * sizeof(float));
    memcpy(saved, n.state, n.n_state * sizeof(float));

    for (int training = 1; training >= 0; training--) {
        size_t cnt1 = 8 * (size_t)q_shape_size(n.tshape[1]);
        size_t cnt2 = 8 * (size_t)q_shape_size(n.tshape[2]);
        float *a1 = malloc(cnt1 * sizeof(float)), *a2 = malloc(cnt2 * sizeof(float));
        memcpy(n.state, saved, n.n_state * sizeof(float));
        net_set_qat(&n, 0);
        net_forward(&n, 8, training);
        memcpy(a1, n.t[1], cnt1 * sizeof(float));
        memcpy(a2, n.t[2], cnt2 * sizeof(float));
        float rv_float = n.layers[0].running_var[0];

        memcpy(n.state, saved, n.n_state * sizeof(float));
        net_set_qat(&n, 1);
        net_set_fake_quant(&n, 0, 0);
        net_forward(&n, 8, training);
        double d1 = max_abs_diff(a1, n.t[1], cnt1), d2 = max_abs_diff(a2, n.t[2], cnt2);
        print_message("fused vs conv+BN (%s): conv2d max diff %.3g, dwconv2d max diff %.3g\n",
                      training ? "batch statistics" : "running statistics", d1, d2);
        assert_true(d1 < 1e-5 && d2 < 1e-5);
        /* the running statistics moved the same way (training) or not at all */
        assert_true(fabsf(n.layers[0].running_var[0] - rv_float) < 1e-6f);
        free(a1);
        free(a2);
    }
    free(saved);
    net_free(&n);
}

/* The loss of the last forward: cross-entropy against labels, or (labels
 * NULL) the mean squared error against the input, as loss: mse with target:
 * input. */
static float loss_of(net *n, const int32_t *labels, int backward)
{
    return labels ? net_loss_backward(n, labels, backward)
                  : net_mse_backward(n, net_input(n), backward);
}

/* Loss of a training forward from the saved state (running statistics are
 * restored so every evaluation sees the same fold factors). */
static double loss_at(net *n, const float *saved_state, const float *input, size_t in_n,
                      const int32_t *labels, int b)
{
    memcpy(n->state, saved_state, n->n_state * sizeof(float));
    memcpy(net_input(n), input, in_n * sizeof(float));
    net_forward(n, b, 1);
    return loss_of(n, labels, 0);
}

/* Central differences against the analytic gradient of every parameter;
 * mse: the autoencoder's loss (see loss_of), else cross-entropy. */
static void gradcheck_loss(net *n, int b, rng_state *r, int mse, const char *what)
{
    size_t in_n = (size_t)b * (size_t)q_shape_size(n->in_shape);
    float *input = malloc(in_n * sizeof(float));
    float *saved = malloc(n->n_state * sizeof(float));
    float *analytic = malloc(n->n_params * sizeof(float));
    int32_t labels[16];
    random_input(n, b, r, NULL);
    memcpy(input, net_input(n), in_n * sizeof(float));
    for (int i = 0; i < b; i++)
        labels[i] = (int32_t)rng_below(r, (uint32_t)n->n_classes);
    memcpy(saved, n->state, n->n_state * sizeof(float));

    const int32_t *lb = mse ? NULL : labels;
    memcpy(net_input(n), input, in_n * sizeof(float));
    net_forward(n, b, 1);
    net_zero_grad(n);
    loss_of(n, lb, 1);
    memcpy(analytic, n->grads, n->n_params * sizeof(float));

    double worst = 0.0;
    size_t worst_at = 0;
    for (size_t p = 0; p < n->n_params; p++) {
        float keep = n->params[p];
        const float h = 1e-2f;
        n->params[p] = keep + h;
        double lp = loss_at(n, saved, input, in_n, lb, b);
        n->params[p] = keep - h;
        double lm = loss_at(n, saved, input, in_n, lb, b);
        n->params[p] = keep;
        double fd = (lp - lm) / (2.0 * (double)h);
        double err = fabs(fd - (double)analytic[p]) / (fabs(fd) + fabs((double)analytic[p]) + 1e-2);
        if (err > worst)
            worst = err, worst_at = p;
    }
    print_message("gradcheck %s: %zu parameters, worst relative error %.3g at %zu\n", what,
                  n->n_params, worst, worst_at);
    assert_true(worst < 2e-2);
    free(input);
    free(saved);
    free(analytic);
}

static void gradcheck(net *n, int b, rng_state *r, const char *what)
{
    gradcheck_loss(n, b, r, 0, what);
}

/* ly_mse against hand-computed values (PyTorch's MSELoss(reduction='mean')
 * gives the same: loss 1.25, gradient [0.5, 0, -1, 0]), then a convolutional
 * autoencoder (output shape = input shape) trained against its own input,
 * against finite differences. */
static void test_net_mse_loss(void **state)
{
    (void)state;
    const float y[4] = {1, 2, 3, 4}, t[4] = {0, 2, 5, 4};
    const float want[4] = {0.5f, 0.0f, -1.0f, 0.0f};
    float dy[4];
    float loss = ly_mse(dy, y, t, 2, 2); /* (1 + 0 + 4 + 0) / 4 */
    print_message("ly_mse: loss %g (want 1.25), dy %g %g %g %g\n", (double)loss, (double)dy[0],
                  (double)dy[1], (double)dy[2], (double)dy[3]);
    assert_true(loss == 1.25f);
    for (int i = 0; i < 4; i++)
        assert_true(dy[i] == want[i]);
    assert_true(ly_mse(NULL, y, y, 2, 2) == 0.0f);

    cfg_config c;
    base_config(&c, 4, 4, 2);
    add_conv(&c, Q_OP_CONV2D, 3, 3, 1, 1, 1, Q_ACT_NONE); /* no kinks for the differences */
    add_conv(&c, Q_OP_DWCONV2D, 0, 3, 1, 1, 1, Q_ACT_NONE);
    add_conv(&c, Q_OP_CONV2D, 2, 1, 1, 0, 0, Q_ACT_NONE);
    net n;
    qerr e = {{0}};
    assert_int_equal(net_build(&n, &c, 5, &e), 0);
    assert_int_equal(n.n_classes, 4 * 4 * 2);
    rng_state r;
    rng_seed(&r, 3);
    net_init(&n, &r);
    randomize_bn(&n, &r);
    gradcheck_loss(&n, 5, &r, 1, "mse autoencoder, float");
    net_set_qat(&n, 1);
    net_set_fake_quant(&n, 0, 0);
    gradcheck_loss(&n, 5, &r, 1, "mse autoencoder, QAT fused");
    net_free(&n);
}

/* The fused QAT network in float (fake quantization off) against finite
 * differences, with BN on batch statistics and frozen; and float mode. */
static void test_net_gradcheck_fused(void **state)
{
    (void)state;
    cfg_config c;
    base_config(&c, 5, 5, 2);
    add_conv(&c, Q_OP_CONV2D, 3, 3, 1, 1, 1, Q_ACT_NONE);
    snprintf(c.layers[0].name, sizeof c.layers[0].name, "b0");
    add_conv(&c, Q_OP_DWCONV2D, 0, 3, 1, 1, 1, Q_ACT_NONE);
    cfg_layer *add = add_layer(&c, Q_OP_ADD);
    add->with = 0;
    add_conv(&c, Q_OP_CONV2D, 4, 2, 1, 0, 0, Q_ACT_NONE);
    add_layer(&c, Q_OP_AVGPOOL)->geom.global = 1;
    add_conv(&c, Q_OP_LINEAR, 3, 0, 0, 0, 0, Q_ACT_NONE);
    net n;
    qerr e = {{0}};
    assert_int_equal(net_build(&n, &c, 6, &e), 0);
    rng_state r;
    rng_seed(&r, 2);
    net_init(&n, &r);
    randomize_bn(&n, &r);

    gradcheck(&n, 6, &r, "float");
    net_set_qat(&n, 1);
    net_set_fake_quant(&n, 0, 0);
    gradcheck(&n, 6, &r, "QAT fused, batch statistics");
    net_set_bn_frozen(&n, 1);
    gradcheck(&n, 6, &r, "QAT fused, frozen BN");
    net_free(&n);
}

/* convert: the int8 model of a trained-looking QAT net computes, tensor by
 * tensor, what the fake-quant forward computes (to within one step of the
 * output grid where float and integer rounding part ways). default_bits is
 * quantization.weight.bits; layer_bits[i] the i-th weighted layer's own
 * weight_bits (0: the default). The model's layers carry each width and
 * their weights stay in [-127, 127] or [-7, 7]. */
static void convert_case(int default_bits, const int layer_bits[4])
{
    cfg_config c;
    base_config(&c, 8, 8, 2);
    c.weight_bits = default_bits;
    add_conv(&c, Q_OP_CONV2D, 6, 3, 1, 1, 1, Q_ACT_RELU);
    snprintf(c.layers[0].name, sizeof c.layers[0].name, "stem");
    add_conv(&c, Q_OP_DWCONV2D, 0, 3, 1, 1, 1, Q_ACT_RELU6);
    c.layers[0].weight_bits = layer_bits[0];
    c.layers[1].weight_bits = layer_bits[1];
    cfg_layer *add = add_layer(&c, Q_OP_ADD);
    add->with = 0;
    add->act = Q_ACT_RELU;
    add_layer(&c, Q_OP_MAXPOOL)->geom.win = (q_window){.kernel_h = 2, .kernel_w = 2};
    add_conv(&c, Q_OP_CONV2D, 8, 3, 1, 1, 0, Q_ACT_RELU);
    c.layers[4].weight_bits = layer_bits[2];
    cfg_layer *pool = add_layer(&c, Q_OP_AVGPOOL);
    pool->geom.win = (q_window){.kernel_h = 2, .kernel_w = 2};
    add_layer(&c, Q_OP_FLATTEN);
    add_conv(&c, Q_OP_LINEAR, 5, 0, 0, 0, 0, Q_ACT_NONE);
    c.layers[7].weight_bits = layer_bits[3];
    static const int weighted[4] = {0, 1, 4, 7};
    enum { B = 16 };
    net n;
    qerr e = {{0}};
    assert_int_equal(net_build(&n, &c, B, &e), 0);
    rng_state r;
    rng_seed(&r, 3);
    net_init(&n, &r);
    randomize_bn(&n, &r);
    net_set_qat(&n, 1);
    for (int step = 0; step < 5; step++) { /* observers and BN statistics see data */
        random_input(&n, B, &r, NULL);
        net_forward(&n, B, 1);
    }
    net_set_observers(&n, 0);
    net_set_bn_frozen(&n, 1);

    int8_t q8[B * 8 * 8 * 2];
    random_input(&n, B, &r, q8);
    net_forward(&n, B, 0);
    q_model m;
    convert_stats st;
    int rc = convert_net(&n, &c, &m, &st, &e);
    if (rc)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(st.saturated_biases, 0);
    for (int k = 0; k < 4; k++) {
        const q_layer *ql = &m.layers[weighted[k]];
        int bits = layer_bits[k] ? layer_bits[k] : default_bits;
        assert_int_equal(n.layers[weighted[k]].weight_bits, bits);
        assert_int_equal(ql->weight_bits, bits);
        int wmax = bits == 4 ? 7 : 127, seen = 0;
        for (int64_t j = 0; j < n.layers[weighted[k]].n_w; j++) {
            int v = abs(ql->weights[j]);
            assert_true(v <= wmax);
            seen = v > seen ? v : seen;
        }
        assert_int_equal(seen, wmax); /* min-max scales: some weight reaches the bound */
    }
    q8_exec *x = q8_exec_new(&m, &e);
    assert_non_null(x);
    int8_t out[5];
    int worst_all = 0;
    long off_all = 0, total_all = 0;
    for (int t = 1; t <= n.n_layers; t++) {
        int32_t sz = q_shape_size(n.tshape[t]);
        q_quant q = q_model_tensor_quant(&m, t);
        int worst = 0;
        long off = 0;
        for (int i = 0; i < B; i++) {
            q8_exec_run(x, q8 + i * 8 * 8 * 2, out);
            const int8_t *qi = q8_exec_tensor(x, t);
            const float *f = n.t[t] + (size_t)i * (size_t)sz;
            for (int32_t j = 0; j < sz; j++) {
                /* the fake-quant value is on the grid: q = f / s + zp */
                long want = lrint((double)f[j] / q.scale) + q.zero_point;
                int d = abs((int)(want - qi[j]));
                off += d != 0;
                worst = d > worst ? d : worst;
            }
        }
        print_message("tensor %d (%s): %ld of %ld int8 values differ, by at most %d\n", t,
                      q_op_names[m.layers[t - 1].op], off, (long)B * sz, worst);
        worst_all = worst > worst_all ? worst : worst_all;
        off_all += off;
        total_all += (long)B * sz;
    }
    /* At most 1% one step off with 8-bit weights. The fake-quant net adds its
     * bias in float, the int8 model an int32 rounded to s_in·s_w[c], 127/7
     * times coarser at 4 bits (up to 0.5·M of an output step, M = s_in·s_w /
     * s_out), which tips more values across a rounding boundary: 3% there. */
    int any4 = default_bits == 4;
    for (int k = 0; k < 4; k++)
        any4 |= layer_bits[k] == 4;
    assert_true(off_all * 100 <= total_all * (any4 ? 3 : 1));
    /* and a layer whose input is one step off adds its own step (an average
     * pool over a 4-bit conv's output has been seen two off) */
    assert_true(worst_all <= (any4 ? 2 : 1));
    q8_exec_free(x);
    q_model_free(&m);
    net_free(&n);
}

static void test_net_convert_matches_fake_quant(void **state)
{
    (void)state;
    convert_case(8, (const int[4]){0, 0, 0, 0});
}

/* All weights at 4 bits, and a mix (per-layer weight_bits over either default). */
static void test_net_convert_4bit(void **state)
{
    (void)state;
    convert_case(4, (const int[4]){0, 0, 0, 0});
    convert_case(8, (const int[4]){4, 0, 4, 0});
    convert_case(4, (const int[4]){8, 0, 0, 8});
}

/* net_set_weight_bits with frozen scales rescales them by old / new qmax
 * (the same max|w| stays covered) and the fake-quantized weights land on the
 * 4-bit grid; a layer's own switch turns its weight rounding off alone. */
static void test_net_weight_bits_and_layer_switches(void **state)
{
    (void)state;
    cfg_config c;
    base_config(&c, 6, 6, 2);
    add_conv(&c, Q_OP_CONV2D, 4, 3, 1, 1, 1, Q_ACT_RELU);
    add_layer(&c, Q_OP_FLATTEN);
    add_conv(&c, Q_OP_LINEAR, 3, 0, 0, 0, 0, Q_ACT_NONE);
    enum { B = 8 };
    net n;
    qerr e = {{0}};
    assert_int_equal(net_build(&n, &c, B, &e), 0);
    rng_state r;
    rng_seed(&r, 5);
    net_init(&n, &r);
    randomize_bn(&n, &r);
    net_set_qat(&n, 1);
    random_input(&n, B, &r, NULL);
    net_forward(&n, B, 1);
    net_set_observers(&n, 0);
    net_set_bn_frozen(&n, 1);
    net_layer *L = &n.layers[0];
    float s8[4];
    memcpy(s8, L->w_scale, sizeof s8);
    net_set_weight_bits(&n, 0, 4);
    assert_int_equal(L->weight_bits, 4);
    assert_int_equal(L->w_qmax, 7);
    for (int ch = 0; ch < 4; ch++)
        assert_float_equal(L->w_scale[ch], s8[ch] * 127.0 / 7.0, 1e-6 * s8[ch] * 127.0 / 7.0);
    net_forward(&n, B, 0);
    int top = 0;
    for (int64_t j = 0; j < L->n_w; j++) { /* wq on the grid s·q, |q| <= 7 */
        double q = (double)L->wq[j] / (double)L->w_scale[j / L->w_per_ch];
        assert_true(fabs(q - nearbyint(q)) < 1e-4);
        assert_true(fabs(q) <= 7.0 + 1e-4);
        top = fabs(q) > 6.5 ? 1 : top;
    }
    assert_true(top);
    net_set_weight_bits(&n, 0, 8);
    for (int ch = 0; ch < 4; ch++)
        assert_float_equal(L->w_scale[ch], s8[ch], 1e-6 * s8[ch]);
    /* layer 0's weights unrounded, the linear's still rounded */
    net_set_layer_fake_quant(&n, 0, 0, 1);
    net_forward(&n, B, 0);
    int off_grid = 0;
    for (int64_t j = 0; j < L->n_w; j++) {
        double q = (double)L->wq[j] / (double)L->w_scale[j / L->w_per_ch];
        off_grid += fabs(q - nearbyint(q)) > 1e-3;
    }
    assert_true(off_grid > 0);
    net_layer *F = &n.layers[2];
    for (int64_t j = 0; j < F->n_w; j++) {
        double q = (double)F->wq[j] / (double)F->w_scale[j / F->w_per_ch];
        assert_true(fabs(q - nearbyint(q)) < 1e-4);
    }
    net_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_fused_conv_bn_equals_conv_then_bn),
        cmocka_unit_test(test_net_gradcheck_fused),
        cmocka_unit_test(test_net_mse_loss),
        cmocka_unit_test(test_net_convert_matches_fake_quant),
        cmocka_unit_test(test_net_convert_4bit),
        cmocka_unit_test(test_net_weight_bits_and_layer_switches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
