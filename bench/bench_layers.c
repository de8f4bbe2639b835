/* bench_layers — float training speed of the reference Fashion-MNIST CNN
 * (conv3x3 16/32/64 with BN+ReLU, two 2x2 max pools, global average pool,
 * linear 10; input 28x28x1) built from runtime/train/layers.h: forward, backward
 * and an SGD step per batch, on random data, with a time per layer kind.
 *
 *   make && cc -O2 -fopenmp -Iruntime/train -Iruntime/common -DQATC_HAVE_CBLAS \
 *       bench/bench_layers.c runtime/train/layers.c runtime/train/batchnorm.c \
 *       runtime/train/convdirect.c runtime/train/gemm.c \
 *       runtime/train/optim.c runtime/common/rng.c runtime/common/qerr.c \
 *       -lopenblas -lm -o build/bench_layers
 *   build/bench_layers [THREADS [BATCH [BATCHES]]]
 * Leave out -DQATC_HAVE_CBLAS and -lopenblas to time the portable GEMM.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batchnorm.h"
#include "gemm.h"
#include "layers.h"
#include "optim.h"
#include "rng.h"

enum { T_CONV, T_BN, T_RELU, T_POOL, T_HEAD, T_OPT, T_COUNT };
static const char *const t_names[T_COUNT] = {"conv", "bn", "relu", "pool", "gap+linear+loss",
                                             "sgd"};
static double t_acc[T_COUNT];

#define TIMED(k, stmt)                      \
    do {                                    \
        double t0_ = omp_get_wtime();       \
        stmt;                               \
        t_acc[k] += omp_get_wtime() - t0_;  \
    } while (0)

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

typedef struct {
    ly_conv_shape cs, ps;     /* conv, then pool (ps.b == 0: no pool) */
    float *w, *g, *bt, *dw, *dg, *dbt;
    float *conv, *bn, *pool; /* activations */
    float *dconv, *dbn, *dact, *dpool; /* dact: grad of the ReLU output */
    float mean[64], rstd[64], rm[64], rv[64];
} block;

int main(int argc, char **argv)
{
    gemm_spin_setup(argv);
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    int B = argc > 2 ? atoi(argv[2]) : 64;
    int batches = argc > 3 ? atoi(argv[3]) : 100;
    threads = gemm_set_threads(threads);

    const int chans[4] = {1, 16, 32, 64};
    const int hw[3] = {28, 14, 7};
    block blk[3];
    size_t nparam = 0, scratch_n = 0;
    for (int i = 0; i < 3; i++) {
        block *k = &blk[i];
        memset(k, 0, sizeof *k);
        k->cs = ly_conv_shape_make(B, hw[i], hw[i], chans[i], chans[i + 1], 3, 3, 1, 1, 1, 1);
        if (i < 2)
            k->ps = ly_conv_shape_make(B, hw[i], hw[i], chans[i + 1], chans[i + 1], 2, 2, 2, 2, 0, 0);
        nparam += (size_t)chans[i + 1] * 9 * chans[i] + 2 * (size_t)chans[i + 1];
        size_t s = ly_conv2d_scratch_floats(&k->cs);
        scratch_n = s > scratch_n ? s : scratch_n;
    }
    nparam += 10 * 64 + 10;
    float *params = falloc(nparam), *grads = falloc(nparam), *scratch = falloc(scratch_n);
    float *pp = params, *gp = grads;
    rng_state rng;
    rng_seed(&rng, 1);
    for (int i = 0; i < 3; i++) {
        block *k = &blk[i];
        size_t nw = (size_t)chans[i + 1] * 9 * chans[i], act = (size_t)B * hw[i] * hw[i] * chans[i + 1];
        k->w = pp; k->dw = gp; pp += nw; gp += nw;
        k->g = pp; k->dg = gp; pp += chans[i + 1]; gp += chans[i + 1];
        k->bt = pp; k->dbt = gp; pp += chans[i + 1]; gp += chans[i + 1];
        ly_he_init(k->w, nw, 9 * chans[i], &rng);
        for (int c = 0; c < chans[i + 1]; c++) {
            k->g[c] = 1.0f;
            k->rv[c] = 1.0f;
        }
        k->conv = falloc(act); k->bn = falloc(act);
        k->dconv = falloc(act); k->dbn = falloc(act); k->dact = falloc(act);
        if (i < 2) {
            k->pool = falloc(act / 4);
            k->dpool = falloc(act / 4);
        }
    }
    float *lw = pp, *lb = pp + 640, *dlw = gp, *dlb = gp + 640;
    ly_he_init(lw, 640, 64, &rng);
    float *x = falloc((size_t)B * 784), *gap = falloc((size_t)B * 64), *logits = falloc((size_t)B * 10);
    float *dgap = falloc((size_t)B * 64), *dlogits = falloc((size_t)B * 10);
    int32_t *labels = malloc(sizeof(int32_t) * B);
    for (int i = 0; i < B * 784; i++)
        x[i] = rng_uniform(&rng);
    for (int i = 0; i < B; i++)
        labels[i] = (int32_t)rng_below(&rng, 10);

    optim opt;
    qerr e;
    optim_config oc = {.type = OPTIM_SGD, .momentum = 0.9f, .weight_decay = 5e-4f};
    if (optim_build(&opt, &oc, nparam, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }

    float loss = 0;
    double t_start = 0, c_start = 0;
    for (int it = -5; it < batches; it++) { /* 5 warm-up batches */
        if (it == 0) {
            memset(t_acc, 0, sizeof t_acc);
            t_start = omp_get_wtime();
            c_start = cpu_seconds();
        }
        /* forward */
        const float *in = x;
        for (int i = 0; i < 3; i++) {
            block *k = &blk[i];
            size_t act = (size_t)B * hw[i] * hw[i] * chans[i + 1];
            TIMED(T_CONV, ly_conv2d_forward(k->conv, in, k->w, NULL, scratch, &k->cs));
            TIMED(T_BN, bn_train_forward(k->bn, k->mean, k->rstd, k->rm, k->rv, k->conv,
                                         k->g, k->bt, (int)(act / chans[i + 1]),
                                         chans[i + 1], 1e-5f, 0.1f));
            TIMED(T_RELU, ly_relu_forward(k->bn, k->bn, act));
            if (i < 2) {
                TIMED(T_POOL, ly_maxpool_forward(k->pool, k->bn, &k->ps));
                in = k->pool;
            } else {
                in = k->bn;
            }
        }
        TIMED(T_HEAD, ly_global_avgpool_forward(gap, in, B, 49, 64);
              ly_linear_forward(logits, gap, lw, lb, B, 64, 10);
              loss = ly_softmax_xent(dlogits, logits, labels, B, 10));
        /* backward */
        memset(grads, 0, sizeof(float) * nparam);
        TIMED(T_HEAD, memset(dgap, 0, sizeof(float) * B * 64);
              ly_linear_backward(dgap, dlw, dlb, dlogits, gap, lw, B, 64, 10));
        for (int i = 2; i >= 0; i--) {
            block *k = &blk[i];
            size_t act = (size_t)B * hw[i] * hw[i] * chans[i + 1];
            memset(k->dact, 0, sizeof(float) * act);
            memset(k->dbn, 0, sizeof(float) * act);
            memset(k->dconv, 0, sizeof(float) * act);
            if (i == 2) {
                TIMED(T_HEAD, ly_global_avgpool_backward(k->dact, dgap, B, 49, 64));
            } else {
                TIMED(T_POOL, ly_maxpool_backward(k->dact, k->dpool, k->bn, &k->ps));
            }
            TIMED(T_RELU, ly_relu_backward(k->dbn, k->dact, k->bn, act));
            TIMED(T_BN, bn_train_backward(k->dconv, k->dg, k->dbt, k->dbn, k->conv,
                                          k->mean, k->rstd, k->g,
                                          (int)(act / chans[i + 1]), chans[i + 1]));
            float *dprev = NULL;
            if (i > 0) {
                block *p = &blk[i - 1];
                memset(p->dpool, 0, sizeof(float) * B * hw[i] * hw[i] * chans[i]);
                dprev = p->dpool;
            }
            TIMED(T_CONV, ly_conv2d_backward(dprev, k->dw, NULL, k->dconv, i ? blk[i - 1].pool : x,
                                            k->w, scratch, &k->cs));
        }
        TIMED(T_OPT, optim_step(&opt, params, grads, 0.01f));
    }
    double secs = omp_get_wtime() - t_start, cpu = cpu_seconds() - c_start;
    const char *spin = getenv("GOMP_SPINCOUNT"), *policy = getenv("OMP_WAIT_POLICY");
    printf("GOMP_SPINCOUNT=%s OMP_WAIT_POLICY=%s\n", spin ? spin : "-", policy ? policy : "-");
    printf("gemm %s, %d threads, batch %d, %d batches: %.0f images/s (%.2f ms/batch; "
           "cpu %.2f ms/batch), loss %.3f\n",
           gemm_backend(), threads, B, batches,
           (double)B * batches / secs, 1e3 * secs / batches, 1e3 * cpu / batches, loss);
    for (int k = 0; k < T_COUNT; k++)
        printf("  %-16s %6.2f ms/batch\n", t_names[k], 1e3 * t_acc[k] / batches);
    return 0;
}
