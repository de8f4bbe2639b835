/* Tests for net and convert: the fused conv+BN of QAT against conv followed
 * by BN, finite-difference gradients of the fused network, and the converted
 * int8 model against the fake-quant forward. */
#include <math.h>
#include <omp.h>
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
    l->input = c->n_layers - 1; /* the previous layer's output */
    l->input2 = -1;
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
 * (batch statistics) and in evaluation (running statistics), for conv2d,
 * dwconv2d and linear (BN over the features). */
static void test_net_fused_conv_bn_equals_conv_then_bn(void **state)
{
    (void)state;
    cfg_config c;
    base_config(&c, 7, 7, 3);
    add_conv(&c, Q_OP_CONV2D, 5, 3, 1, 1, 1, Q_ACT_RELU);
    add_conv(&c, Q_OP_DWCONV2D, 0, 3, 2, 1, 1, Q_ACT_RELU6);
    add_layer(&c, Q_OP_AVGPOOL)->geom.global = 1;
    add_layer(&c, Q_OP_FLATTEN);
    add_conv(&c, Q_OP_LINEAR, 4, 0, 0, 0, 1, Q_ACT_RELU);
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
        size_t cnt5 = 8 * (size_t)q_shape_size(n.tshape[5]);
        float *a1 = malloc(cnt1 * sizeof(float)), *a2 = malloc(cnt2 * sizeof(float));
        float *a5 = malloc(cnt5 * sizeof(float));
        memcpy(n.state, saved, n.n_state * sizeof(float));
        net_set_qat(&n, 0);
        net_forward(&n, 8, training);
        memcpy(a1, n.t[1], cnt1 * sizeof(float));
        memcpy(a2, n.t[2], cnt2 * sizeof(float));
        memcpy(a5, n.t[5], cnt5 * sizeof(float));
        float rv_float = n.layers[0].running_var[0], rv5_float = n.layers[4].running_var[1];

        memcpy(n.state, saved, n.n_state * sizeof(float));
        net_set_qat(&n, 1);
        net_set_fake_quant(&n, 0, 0);
        net_forward(&n, 8, training);
        double d1 = max_abs_diff(a1, n.t[1], cnt1), d2 = max_abs_diff(a2, n.t[2], cnt2);
        double d5 = max_abs_diff(a5, n.t[5], cnt5);
        print_message("fused vs conv+BN (%s): conv2d max diff %.3g, dwconv2d max diff %.3g, "
                      "linear max diff %.3g\n",
                      training ? "batch statistics" : "running statistics", d1, d2, d5);
        assert_true(d1 < 1e-5 && d2 < 1e-5 && d5 < 1e-5);
        /* the running statistics moved the same way (training) or not at all */
        assert_true(fabsf(n.layers[0].running_var[0] - rv_float) < 1e-6f);
        assert_true(fabsf(n.layers[4].running_var[1] - rv5_float) < 1e-6f);
        free(a1);
        free(a2);
        free(a5);
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

/* The central difference of the loss in parameter p with step h. */
static double fd_step(net *n, size_t p, float h, const float *saved, const float *input,
                      size_t in_n, const int32_t *labels, int b)
{
    float keep = n->params[p];
    n->params[p] = keep + h;
    double lp = loss_at(n, saved, input, in_n, labels, b);
    n->params[p] = keep - h;
    double lm = loss_at(n, saved, input, in_n, labels, b);
    n->params[p] = keep;
    return (lp - lm) / (2.0 * (double)h);
}

/* The relative difference of two gradients (0.01 absolute below 0.01). */
static double grad_rel(double a, double b)
{
    return fabs(a - b) / (fabs(a) + fabs(b) + 1e-2);
}

/* Central differences against the analytic gradient of every parameter.
 * Richardson's extrapolation of the differences at steps h and h/2,
 * (4·D(h/2) − D(h)) / 3, cancels the h² term, so the check is not blurred by
 * curvature (batch norm over a few rows bends the loss strongly). Where the
 * loss is not smooth within the step (a max pool's choice or an activation
 * flips), there is no derivative to compare: the extrapolations from (h, h/2)
 * and from (h/2, h/4) then disagree, and the parameter is counted as a kink
 * and skipped; at most a tenth of them may be. mse: the autoencoder's loss
 * (see loss_of), else cross-entropy. */
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

    double worst = 0.0, worst_fd = 0.0, worst_an = 0.0;
    size_t worst_at = 0, kinks = 0;
    const float h = 1e-2f;
    int threads = omp_get_max_threads();
    omp_set_num_threads(1); /* thousands of tiny forwards: threads only wait */
    for (size_t p = 0; p < n->n_params; p++) {
        double d1 = fd_step(n, p, h, saved, input, in_n, lb, b);
        double d2 = fd_step(n, p, h / 2, saved, input, in_n, lb, b);
        double d4 = fd_step(n, p, h / 4, saved, input, in_n, lb, b);
        double fd = (4.0 * d2 - d1) / 3.0, fd_fine = (4.0 * d4 - d2) / 3.0;
        if (grad_rel(fd, fd_fine) > 2e-2) {
            kinks++;
            continue;
        }
        double err = grad_rel(fd, (double)analytic[p]);
        if (err > worst)
            worst = err, worst_at = p, worst_fd = fd, worst_an = analytic[p];
    }
    omp_set_num_threads(threads);
    print_message("gradcheck %s: %zu parameters (%zu at a kink), worst relative error %.3g at "
                  "%zu (numeric %.6g, analytic %.6g)\n", what, n->n_params, kinks, worst,
                  worst_at, worst_fd, worst_an);
    assert_true(worst < 2e-2);
    assert_true(kinks * 10 <= n->n_params);
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
    add->input2 = 1; /* layers[0]'s output */
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

/* A window with every field given (kernel, stride, dilation, pads top,
 * bottom, left, right). */
static q_window window(int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pb, int pl,
                       int pr)
{
    return (q_window){kh, kw, sh, sw, dh, dw, pt, pb, pl, pr};
}

/* The new geometry and graph in one network, against finite differences in
 * float, QAT fused with batch statistics and with frozen BN:
 *   0 a   conv2d [3, 2] dilation [2, 1], pads [2, 2, 0, 1], BN       7x6x4
 *   1     dwconv2d 3x3 dilation 2, multiplier 2, same, BN           7x6x8
 *   2 sc  conv2d 1x1 from a (a is read twice)                       7x6x8
 *   3     add with layers[1]                                        7x6x8
 *   4 m   avgpool 3 stride 2 pad 1 (counts 4, 6, 9)                 4x3x8
 *   5 p   avgpool 2 stride 1, same (pads bottom and right)          4x3x8
 *   6     add from m with p (m is read twice)                       4x3x8
 *   7     flatten, 8 linear 6 with BN, 9 linear 3
 * and a 1-D one (H = 1), the first layer's output read by a later layer too:
 *   0 c   conv2d [1, 3] dilation 2, pads [0, 0, 2, 2]               1x16x4
 *   1     conv2d [1, 3] pad [0, 0, 1, 1]                            1x16x4
 *   2 m   avgpool [1, 3] stride 2, pads [0, 0, 0, 1]                1x8x4
 *   3     avgpool [1, 3] stride 2 from c, pads [0, 0, 1, 0]         1x8x4
 *   4     add with m, 5 linear 5 with BN, 6 linear 3
 * (Max pools would put kinks in the loss wherever two values of a window
 * come within a step; test_net_shared_tensor_gradients checks them exactly.) */
static void test_net_gradcheck_geometry(void **state)
{
    (void)state;
    cfg_config c;
    base_config(&c, 7, 6, 2);
    cfg_layer *l = add_layer(&c, Q_OP_CONV2D);
    l->geom.out_c = 4, l->bn = 1;
    l->geom.win = window(3, 2, 1, 1, 2, 1, 2, 2, 0, 1);
    l = add_layer(&c, Q_OP_DWCONV2D);
    l->geom.win = window(3, 3, 1, 1, 2, 2, 0, 0, 0, 0);
    l->geom.pad_rule = Q_PAD_SAME;
    l->geom.multiplier = 2, l->bn = 1;
    l = add_layer(&c, Q_OP_CONV2D);
    l->geom.out_c = 8, l->input = 1;
    l->geom.win = window(1, 1, 1, 1, 1, 1, 0, 0, 0, 0);
    add_layer(&c, Q_OP_ADD)->input2 = 2;
    add_layer(&c, Q_OP_AVGPOOL)->geom.win = window(3, 3, 2, 2, 1, 1, 1, 1, 1, 1);
    l = add_layer(&c, Q_OP_AVGPOOL);
    l->geom.win = window(2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    l->geom.pad_rule = Q_PAD_SAME;
    l = add_layer(&c, Q_OP_ADD);
    l->input = 5, l->input2 = 6;
    add_layer(&c, Q_OP_FLATTEN);
    add_conv(&c, Q_OP_LINEAR, 6, 0, 0, 0, 1, Q_ACT_NONE);
    add_conv(&c, Q_OP_LINEAR, 3, 0, 0, 0, 0, Q_ACT_NONE);
    net n;
    qerr e = {{0}};
    int rc = net_build(&n, &c, 6, &e);
    if (rc)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    const int32_t want[11][3] = {{7, 6, 2}, {7, 6, 4}, {7, 6, 8}, {7, 6, 8},
                                 {7, 6, 8}, {4, 3, 8}, {4, 3, 8}, {4, 3, 8},
                                 {1, 1, 96}, {1, 1, 6}, {1, 1, 3}};
    for (int t = 0; t < 11; t++)
        assert_true(n.tshape[t].h == want[t][0] && n.tshape[t].w == want[t][1] &&
                    n.tshape[t].c == want[t][2]);
    assert_int_equal(n.layers[1].win.pad_top, 2); /* same, dilation 2: 5x5 */
    assert_int_equal(n.layers[5].win.pad_bottom, 1);
    assert_int_equal(n.layers[5].win.pad_top, 0);
    rng_state r;
    rng_seed(&r, 4);
    net_init(&n, &r);
    randomize_bn(&n, &r);
    gradcheck(&n, 6, &r, "geometry float");
    net_set_qat(&n, 1);
    net_set_fake_quant(&n, 0, 0);
    gradcheck(&n, 6, &r, "geometry QAT fused, batch statistics");
    net_set_bn_frozen(&n, 1);
    gradcheck(&n, 6, &r, "geometry QAT fused, frozen BN");
    net_free(&n);

    base_config(&c, 1, 16, 3);
    l = add_layer(&c, Q_OP_CONV2D);
    l->geom.out_c = 4;
    l->geom.win = window(1, 3, 1, 1, 1, 2, 0, 0, 2, 2);
    l = add_layer(&c, Q_OP_CONV2D);
    l->geom.out_c = 4;
    l->geom.win = window(1, 3, 1, 1, 1, 1, 0, 0, 1, 1);
    add_layer(&c, Q_OP_AVGPOOL)->geom.win = window(1, 3, 1, 2, 1, 1, 0, 0, 0, 1);
    l = add_layer(&c, Q_OP_AVGPOOL);
    l->geom.win = window(1, 3, 1, 2, 1, 1, 0, 0, 1, 0);
    l->input = 1;
    add_layer(&c, Q_OP_ADD)->input2 = 3;
    add_conv(&c, Q_OP_LINEAR, 5, 0, 0, 0, 1, Q_ACT_NONE);
    add_conv(&c, Q_OP_LINEAR, 3, 0, 0, 0, 0, Q_ACT_NONE);
    rc = net_build(&n, &c, 6, &e);
    if (rc)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(n.tshape[4].w, 8);
    net_init(&n, &r);
    randomize_bn(&n, &r);
    gradcheck(&n, 6, &r, "1-D float");
    net_set_qat(&n, 1);
    net_set_fake_quant(&n, 0, 0);
    gradcheck(&n, 6, &r, "1-D QAT fused");
    net_free(&n);
}

/* A tensor read by several layers gets the sum of their input gradients,
 * whatever writes first: here c is read by a conv2d and, last, by a max pool
 * whose windows do not overlap (it WRITES its input's gradient, the conv's is
 * added after), and m by an add twice (x + x). The net's gradient of c, m and
 * the input of the add equal the layer functions composed by hand, bit for
 * bit:
 *   0 c  conv2d [1, 3] dilation 2, pads [0, 0, 2, 2]     1x16x4
 *   1    conv2d [1, 3] pad [0, 0, 1, 1]                  1x16x4
 *   2 m  maxpool [1, 2] from c, pads [0, 0, 0, 1]        1x8x4
 *   3    maxpool [1, 2] from layers[1]                   1x8x4
 *   4    add from m with m                               1x8x4
 *   5    add with layers[3]                              1x8x4
 *   6    linear 3 */
static void test_net_shared_tensor_gradients(void **state)
{
    (void)state;
    cfg_config c;
    base_config(&c, 1, 16, 3);
    cfg_layer *l = add_layer(&c, Q_OP_CONV2D);
    l->geom.out_c = 4;
    l->geom.win = window(1, 3, 1, 1, 1, 2, 0, 0, 2, 2);
    l = add_layer(&c, Q_OP_CONV2D);
    l->geom.out_c = 4;
    l->geom.win = window(1, 3, 1, 1, 1, 1, 0, 0, 1, 1);
    l = add_layer(&c, Q_OP_MAXPOOL);
    l->geom.win = window(1, 2, 1, 2, 1, 1, 0, 0, 0, 1);
    l->input = 1;
    l = add_layer(&c, Q_OP_MAXPOOL);
    l->geom.win = window(1, 2, 1, 2, 1, 1, 0, 0, 0, 1);
    l->input = 2;
    l = add_layer(&c, Q_OP_ADD);
    l->input = 3, l->input2 = 3;
    add_layer(&c, Q_OP_ADD)->input2 = 4;
    add_conv(&c, Q_OP_LINEAR, 3, 0, 0, 0, 0, Q_ACT_NONE);
    enum { B = 4 };
    net n;
    qerr e = {{0}};
    int rc = net_build(&n, &c, B, &e);
    if (rc)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    rng_state r;
    rng_seed(&r, 5);
    net_init(&n, &r);
    int32_t labels[B];
    random_input(&n, B, &r, NULL);
    for (int i = 0; i < B; i++)
        labels[i] = (int32_t)rng_below(&r, 3);
    net_forward(&n, B, 1);
    net_zero_grad(&n);
    net_loss_backward(&n, labels, 1);

    size_t n1 = (size_t)B * 16 * 4, n3 = (size_t)B * 8 * 4;
    q_shape s1 = n.tshape[1], s2 = n.tshape[2];
    /* m (tensor 3): the add x + x gives 2·dout; then dout of layer 5 adds nothing */
    float *want3 = calloc(n3, sizeof(float));
    ly_add_backward(want3, want3, n.dt[5], n3);
    assert_memory_equal(want3, n.dt[3], n3 * sizeof(float));
    /* c (tensor 1): the max pool's gradient into zeros, then the conv's added */
    float *want1 = calloc(n1, sizeof(float));
    ly_conv_shape pool = ly_conv_shape_of(B, s1, 4, &n.layers[2].win);
    ly_maxpool_backward(want1, n.dt[3], n.t[1], &pool);
    ly_conv_shape conv = ly_conv_shape_of(B, s1, 4, &n.layers[1].win);
    float *scratch = calloc(ly_conv2d_scratch_floats(&conv) + 1, sizeof(float));
    ly_conv2d_backward(want1, NULL, NULL, n.dt[2], n.t[1], n.layers[1].w, scratch, &conv);
    assert_memory_equal(want1, n.dt[1], n1 * sizeof(float));
    /* tensor 2: layers[3]'s max pool alone */
    float *want2 = calloc(n1, sizeof(float));
    ly_conv_shape pool2 = ly_conv_shape_of(B, s2, 4, &n.layers[3].win);
    ly_maxpool_backward(want2, n.dt[4], n.t[2], &pool2);
    assert_memory_equal(want2, n.dt[2], n1 * sizeof(float));
    print_message("shared tensors: the gradients of c, m and layers[1] equal the layers "
                  "composed by hand\n");
    free(want1);
    free(want2);
    free(want3);
    free(scratch);
    net_free(&n);
}

/* Trains the observers and BN statistics of net n (built from c, inputs
 * h x w x ch) on a few random batches, freezes them, runs a fresh batch through
 * the fake-quant net and through the int8 model that convert makes of it, and
 * compares every tensor: the fake-quant value is on the int8 grid (q = f / s +
 * zp), and where float and integer rounding part ways they may differ by one
 * step. A final softmax is compared on the rows whose scores agree exactly (a
 * step of difference in the scores moves the probabilities by more). Returns
 * the largest difference; *off_pct = the share of values that differ, in %. */
static int convert_compare(net *n, const cfg_config *c, int b, uint64_t seed, double *off_pct)
{
    rng_state r;
    rng_seed(&r, seed);
    net_init(n, &r);
    randomize_bn(n, &r);
    net_set_qat(n, 1);
    for (int step = 0; step < 5; step++) { /* observers and BN statistics see data */
        random_input(n, b, &r, NULL);
        net_forward(n, b, 1);
    }
    net_set_observers(n, 0);
    net_set_bn_frozen(n, 1);

    size_t per = (size_t)q_shape_size(n->in_shape);
    int8_t *q8 = malloc((size_t)b * per), *out = malloc((size_t)n->n_classes);
    assert_true(q8 && out);
    random_input(n, b, &r, q8);
    net_forward(n, b, 0);
    q_model m;
    convert_stats st;
    qerr e = {{0}};
    int rc = convert_net(n, c, &m, &st, &e);
    if (rc)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(st.saturated_biases, 0);
    q8_exec *x = q8_exec_new(&m, &e);
    assert_non_null(x);
    int worst_all = 0;
    long off_all = 0, total_all = 0;
    for (int t = 1; t <= n->n_layers; t++) {
        const q_layer *ql = &m.layers[t - 1];
        int32_t sz = q_shape_size(n->tshape[t]), row = n->tshape[t].c;
        q_quant q = q_model_tensor_quant(&m, t), qin = q_model_tensor_quant(&m, ql->input);
        int worst = 0;
        long off = 0, total = 0;
        for (int i = 0; i < b; i++) {
            q8_exec_run(x, q8 + (size_t)i * per, out);
            const int8_t *qi = q8_exec_tensor(x, t), *qs = q8_exec_tensor(x, ql->input);
            const float *f = n->t[t] + (size_t)i * (size_t)sz;
            const float *fs = n->t[ql->input] + (size_t)i * (size_t)sz;
            for (int32_t j = 0; j < sz; j++) {
                if (ql->op == Q_OP_SOFTMAX && j % row == 0) { /* skip rows whose scores differ */
                    int same = 1;
                    for (int32_t k = 0; k < row; k++)
                        same &= lrint((double)fs[j + k] / qin.scale) + qin.zero_point == qs[j + k];
                    if (!same) {
                        j += row - 1;
                        continue;
                    }
                }
                /* the fake-quant value is on the grid: q = f / s + zp */
                long want = lrint((double)f[j] / q.scale) + q.zero_point;
                int d = abs((int)(want - qi[j]));
                off += d != 0;
                total++;
                worst = d > worst ? d : worst;
            }
        }
        print_message("tensor %d (%s): %ld of %ld int8 values differ, by at most %d\n", t,
                      q_op_names[ql->op], off, total, worst);
        worst_all = worst > worst_all ? worst : worst_all;
        off_all += off;
        total_all += total;
    }
    *off_pct = 100.0 * (double)off_all / (double)total_all;
    q8_exec_free(x);
    q_model_free(&m);
    free(q8);
    free(out);
    return worst_all;
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
    add->input2 = 1; /* layers[0]'s output */
    add->act = Q_ACT_RELU;
    add_layer(&c, Q_OP_MAXPOOL)->geom.win = (q_window){.kernel_h = 2, .kernel_w = 2};
    add_conv(&c, Q_OP_CONV2D, 8, 3, 1, 1, 0, Q_ACT_RELU);
    c.layers[4].weight_bits = layer_bits[2];
    cfg_layer *pool = add_layer(&c, Q_OP_AVGPOOL);
    pool->geom.win = (q_window){.kernel_h = 2, .kernel_w = 2};
    add_layer(&c, Q_OP_FLATTEN);
    add_conv(&c, Q_OP_LINEAR, 5, 0, 0, 0, 0, Q_ACT_NONE);
    c.layers[7].weight_bits = layer_bits[3];
    net n;
    qerr e = {{0}};
    assert_int_equal(net_build(&n, &c, 16, &e), 0);
    static const int weighted[4] = {0, 1, 4, 7};
    int any4 = default_bits == 4;
    for (int k = 0; k < 4; k++) {
        int bits = layer_bits[k] ? layer_bits[k] : default_bits;
        assert_int_equal(n.layers[weighted[k]].weight_bits, bits);
        any4 |= bits == 4;
    }
    double off;
    int worst = convert_compare(&n, &c, 16, 3, &off);
    print_message("worst %d step, %.2f%% of the values off\n", worst, off);
    /* At most 1% one step off with 8-bit weights. The fake-quant net adds its
     * bias in float, the int8 model an int32 rounded to s_in·s_w[c], 127/7
     * times coarser at 4 bits, which tips more values across a rounding
     * boundary (3% there), and a layer whose input is one step off adds its
     * own step. */
    assert_true(worst <= (any4 ? 2 : 1));
    assert_true(off <= (any4 ? 3.0 : 1.0));
    net_free(&n);
}

/* The same for the new geometry and graph, the int8 model now holding
 * dilation, uneven pads, a channel multiplier, padded max and average pools
 * (the latter dividing by the count inside, TFLite's rule), a shortcut read
 * with `from`, a linear layer with BN folded in, and a final softmax:
 *   0 a   conv2d [3, 2] stride [2, 1], same (uneven pads), BN, relu   5x8x6
 *   1     dwconv2d 3x3 dilation 2, multiplier 2, same, BN, relu6     5x8x12
 *   2     conv2d 1x1, BN                                             5x8x6
 *   3     add with a, relu                                           5x8x6
 *   4     maxpool 3 stride 2 pad 1                                   3x4x6
 *   5 p   avgpool [2, 3] stride 1, same (pads bottom, left, right)   3x4x6
 *   6     conv2d 3x3 dilation [1, 2], pads [1, 1, 2, 2], from p      3x4x8
 *   7     avgpool global, 8 linear 16 BN relu, 9 linear 5, 10 softmax */
static void test_net_convert_geometry(void **state)
{
    (void)state;
    cfg_config c;
    base_config(&c, 10, 8, 3);
    cfg_layer *l = add_layer(&c, Q_OP_CONV2D);
    l->geom.out_c = 6, l->bn = 1, l->act = Q_ACT_RELU;
    l->geom.win = window(3, 2, 2, 1, 1, 1, 0, 0, 0, 0);
    l->geom.pad_rule = Q_PAD_SAME;
    snprintf(l->name, sizeof l->name, "a");
    l = add_layer(&c, Q_OP_DWCONV2D);
    l->geom.win = window(3, 3, 1, 1, 2, 2, 0, 0, 0, 0);
    l->geom.pad_rule = Q_PAD_SAME;
    l->geom.multiplier = 2, l->bn = 1, l->act = Q_ACT_RELU6;
    add_conv(&c, Q_OP_CONV2D, 6, 1, 1, 0, 1, Q_ACT_NONE);
    l = add_layer(&c, Q_OP_ADD);
    l->input2 = 1, l->act = Q_ACT_RELU;
    add_layer(&c, Q_OP_MAXPOOL)->geom.win = window(3, 3, 2, 2, 1, 1, 1, 1, 1, 1);
    l = add_layer(&c, Q_OP_AVGPOOL);
    l->geom.win = window(2, 3, 1, 1, 1, 1, 0, 0, 0, 0);
    l->geom.pad_rule = Q_PAD_SAME;
    l = add_layer(&c, Q_OP_CONV2D);
    l->geom.out_c = 8, l->act = Q_ACT_RELU;
    l->geom.win = window(3, 3, 1, 1, 1, 2, 1, 1, 2, 2);
    add_layer(&c, Q_OP_AVGPOOL)->geom.global = 1;
    add_conv(&c, Q_OP_LINEAR, 16, 0, 0, 0, 1, Q_ACT_RELU);
    add_conv(&c, Q_OP_LINEAR, 5, 0, 0, 0, 0, Q_ACT_NONE);
    add_layer(&c, Q_OP_SOFTMAX);
    net n;
    qerr e = {{0}};
    int rc = net_build(&n, &c, 16, &e);
    if (rc)
        print_error("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(n.tshape[2].c, 12);
    assert_int_equal(n.tshape[6].h, 3);
    assert_int_equal(n.logits, 10); /* the scores before the softmax */
    double off;
    int worst = convert_compare(&n, &c, 16, 6, &off);
    print_message("worst %d steps, %.2f%% of the values off\n", worst, off);
    /* a step of difference upstream can become two where an add rescales it
     * to a finer output scale; a wrong window would be off everywhere */
    assert_true(worst <= 2);
    assert_true(off <= 1.0);
    net_free(&n);
}

/* A final softmax: training is the model without it (the gradients of every
 * parameter equal those of the same net ending in the scores, bit for bit,
 * in float and QAT); the output is the softmax of the scores, in QAT on the
 * grid of 1/256 (zero-point −128), and its top-1 is the scores' except where
 * two probabilities share a step, where the lowest index wins. */
static void test_net_softmax_last(void **state)
{
    (void)state;
    enum { B = 32, K = 6 };
    cfg_config c;
    base_config(&c, 4, 4, 2);
    add_conv(&c, Q_OP_CONV2D, 4, 3, 1, 1, 1, Q_ACT_RELU);
    add_conv(&c, Q_OP_LINEAR, K, 0, 0, 0, 0, Q_ACT_NONE);
    cfg_config cs = c;
    add_layer(&cs, Q_OP_SOFTMAX);
    net a, s;
    qerr e = {{0}};
    assert_int_equal(net_build(&a, &c, B, &e), 0);
    assert_int_equal(net_build(&s, &cs, B, &e), 0);
    assert_int_equal(s.n_classes, K);
    assert_int_equal(s.n_params, a.n_params);
    for (int qat = 0; qat < 2; qat++) {
        rng_state r;
        rng_seed(&r, 7);
        net_init(&a, &r);
        randomize_bn(&a, &r);
        memcpy(s.params, a.params, a.n_params * sizeof(float));
        memcpy(s.state, a.state, a.n_state * sizeof(float));
        net_set_qat(&a, qat);
        net_set_qat(&s, qat);
        random_input(&a, B, &r, NULL);
        memcpy(net_input(&s), net_input(&a), (size_t)B * 32 * sizeof(float));
        int32_t labels[B];
        for (int i = 0; i < B; i++)
            labels[i] = (int32_t)rng_below(&r, K);
        const float *scores = net_forward(&a, B, 1);
        const float *p = net_forward(&s, B, 1);
        net_zero_grad(&a);
        net_zero_grad(&s);
        float la = net_loss_backward(&a, labels, 1), ls = net_loss_backward(&s, labels, 1);
        assert_true(la == ls);
        assert_memory_equal(a.grads, s.grads, a.n_params * sizeof(float));
        double worst = 0.0;
        int ties = 0, differ = 0;
        for (int i = 0; i < B; i++) {
            double mx = -INFINITY, sum = 0.0;
            for (int k = 0; k < K; k++)
                mx = fmax(mx, scores[i * K + k]);
            for (int k = 0; k < K; k++)
                sum += exp(scores[i * K + k] - mx);
            for (int k = 0; k < K; k++) {
                double want = exp(scores[i * K + k] - mx) / sum;
                if (qat) /* on the int8 output's grid */
                    want = (fmin(fmax(nearbyint(want * 256) - 128, -128), 127) + 128) / 256;
                worst = fmax(worst, fabs(want - p[i * K + k]));
            }
            int ts = ly_argmax(scores + i * K, K), tp = ly_argmax(p + i * K, K);
            differ += ts != tp;
            for (int k = 0; k < K; k++)
                ties += k != tp && p[i * K + k] == p[i * K + tp];
            if (ts != tp) /* only where the scores' winner shares the step */
                assert_true(p[i * K + ts] == p[i * K + tp] && tp < ts);
        }
        print_message("softmax (%s): loss and gradients as without it; probabilities within "
                      "%.3g of the %s; top-1 differs from the scores' in %d of %d (ties on a "
                      "step: %d)\n", qat ? "QAT" : "float", worst,
                      qat ? "fake-quantized softmax" : "softmax", differ, B, ties);
        assert_true(worst <= (qat ? 1e-6 : 1e-6));
    }
    net_free(&a);
    net_free(&s);
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
        cmocka_unit_test(test_net_gradcheck_geometry),
        cmocka_unit_test(test_net_shared_tensor_gradients),
        cmocka_unit_test(test_net_mse_loss),
        cmocka_unit_test(test_net_convert_matches_fake_quant),
        cmocka_unit_test(test_net_convert_geometry),
        cmocka_unit_test(test_net_softmax_last),
        cmocka_unit_test(test_net_convert_4bit),
        cmocka_unit_test(test_net_weight_bits_and_layer_switches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
