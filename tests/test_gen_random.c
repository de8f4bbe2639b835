/* The generator's property test: random frozen models (tests/support/
 * random_model: every op, random shapes, scales and zero-points), each
 * generated to C with a golden self-test whose expected outputs come from
 * the reference interpreter q8_exec on random int8 inputs, then compiled
 * with gcc and with clang under -std=c99 -Wall -Wextra -Wconversion -Werror
 * with float and double poisoned, and run: every output byte must match.
 * A sanitizer build (address, undefined) of the same files runs too, and
 * the models with every op also run on rv32imc under qemu-system-riscv32 and
 * on Cortex-M0, M3 and M4 under qemu-system-arm. Seven models in eight draw
 * the forms beyond format version 1 (dilation, per-side padding, channel
 * multipliers, padded pools, TFLite's average pool, softmax, 4-bit weights:
 * random_model's breadth and weight4); the test prints how many layers use each
 * (and how many conv2d, depthwise and linear layers have 4-bit weights) and
 * fails when one is drawn fewer than 5 times in 200 models.
 * The builds use the C versions of the generated inner products, each Arm
 * core's included (tests/support/gen_build.sh). The models with every op are
 * also generated for each `--target`: such a file holds one version only, and
 * the target's compiler preprocesses it to the same C as the file with every
 * version (tests/support/gen_targets.sh).
 *
 * To stay fast on a busy machine, all models go into one compiler
 * invocation per compiler (the NAME prefix keeps their symbols apart).
 * QATC_GEN_RANDOM_MODELS sets the number of models (default 200, 20 when
 * the test itself runs under AddressSanitizer),
 * QATC_GEN_RANDOM_KEEP=1 keeps the scratch folder; QATC_GEN_RANDOM_WRITE_ONLY=1
 * also keeps it but stops after writing the files (scripts/gen_identical.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cgen.h"
#include "frozen_io.h"
#include "gen_harness.h"
#include "q8_exec.h"
#include "qfile.h"
#include "random_model.h"
#include "rng.h"

#define N_INPUTS 3 /* golden inputs per model */

/* Under `make check-sanitize` this binary is itself sanitized: what that run
 * checks is the generator's host code, for which 20 models are plenty; the
 * 200-model property test runs in the plain build. */
#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_MODELS 20
#else
#define DEFAULT_MODELS 200
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int n_models(void)
{
    const char *s = getenv("QATC_GEN_RANDOM_MODELS");
    int n = s ? atoi(s) : DEFAULT_MODELS;
    return n > 0 ? n : DEFAULT_MODELS;
}

/* Does model i draw the forms beyond format version 1 (random_model's breadth)? Seven in
 * eight do, unless QATC_GEN_RANDOM_BREADTH=0 (scripts/gen_identical.sh: the models the
 * generator printed before those forms); every eighth, from 4 on, never does. */
static int breadth(int i)
{
    const char *s = getenv("QATC_GEN_RANDOM_BREADTH");
    if (s && *s == '0')
        return 0;
    return i % 8 != 4;
}

/* How many layers of the models use each form (q_feature_names), to show they are drawn;
 * and how many conv2d, dwconv2d and linear layers have 4-bit weights. */
static int feature_layers[Q_FEAT_COUNT];
static int weight4_layers[Q_OP_COUNT];
static const q_op weight4_ops[3] = {Q_OP_CONV2D, Q_OP_DWCONV2D, Q_OP_LINEAR};

/* The depthwise layers that take QATC_DWCONV2D's one-channel-at-a-time path, and how many
 * of them have each geometry it must handle. */
enum { DW_FAST, DW_STRIDE2, DW_NOT3X3, DW_ASYMMETRIC, DW_ZP, DW_BANDS, DW_RQ_OWN, DW_RQ_GENERAL,
       DW_FORMS };
static const char *const dw_form_names[DW_FORMS] = {
    "fast path", "stride > 1", "kernel not 3x3", "pads differing per side",
    "input zero-point not -128", "in bands of rows", "each channel's own t (RQ_T -1)",
    "requantize() (RQ_T 0)"};
static int dw_layers[DW_FORMS];

/* Model i's depthwise layers get a 16-byte plane (cgen_opts.dw_plane_max) on one model in
 * three, so that most of theirs run in bands of rows. */
static int small_plane(int i)
{
    return i % 3 == 1;
}

/* Counts the depthwise layers of model m that take the fast path, by form; text: its
 * generated NAME.c (the RQ_T of each such layer: 0 when it calls requantize()). */
static void count_dw_forms(const q_model *m, int i, const char *text)
{
    for (int l = 0; l < m->n_layers; l++) {
        const q_layer *ly = &m->layers[l];
        const q_window *w = &ly->win;
        if (ly->op != Q_OP_DWCONV2D || ly->multiplier != 1 || w->dilation_h != 1 ||
            w->dilation_w != 1 || ly->weight_bits != 8)
            continue;
        dw_layers[DW_FAST]++;
        dw_layers[DW_STRIDE2] += w->stride_h > 1 || w->stride_w > 1;
        dw_layers[DW_NOT3X3] += w->kernel_h != 3 || w->kernel_w != 3;
        dw_layers[DW_ASYMMETRIC] += w->pad_top != w->pad_bottom || w->pad_left != w->pad_right;
        dw_layers[DW_ZP] += q_model_tensor_quant(m, ly->input).zero_point != -128;
        dw_layers[DW_BANDS] += small_plane(i) && ly->out_shape.h > 1;
    }
    for (const char *t = text; (t = strstr(t, "RQ_T = 0")) != NULL; t++)
        dw_layers[DW_RQ_GENERAL]++;
    for (const char *t = text; (t = strstr(t, "RQ_T = -1")) != NULL; t++)
        dw_layers[DW_RQ_OWN]++;
}

/* Model i: a seeded random model; every fourth one has every op, every
 * third may end with any op (not only a linear), some are per tensor. */
static void make_model(int i, q_model *m)
{
    rng_state r;
    rng_seed(&r, 5000 + (uint64_t)i);
    random_model_opts o;
    random_model_default_opts(&o);
    o.every_op = i % 4 == 0;
    o.end_linear = i % 3 != 0;
    if (i % 7 == 0)
        o.per_channel = 0;
    o.breadth = breadth(i);
    o.weight4 = o.breadth; /* without breadth, the models of earlier versions */
    if (random_model(&r, &o, m))
        fail_msg("random_model failed for model %d", i);
    snprintf(m->name, sizeof m->name, "r%03d", i);
}

/* Writes the model as a frozen YAML, reads it back (so the C is generated
 * from what the file says, as `qatc gen` would), generates NAME.c, NAME.h
 * and NAME_golden.c; for the models with every op (every fourth), also
 * the three files for each target but "all" into DIR/targets/TARGET. Returns
 * the layer count. */
static int generate(const char *dir, int i)
{
    q_model m;
    make_model(i, &m);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.frozen.yaml", dir, m.name);
    qerr e = {{0}};
    if (frozen_write(path, &m, &e))
        fail_msg("model %d: frozen_write: %s", i, e.msg);
    q_model back;
    if (frozen_read(path, &back, &e))
        fail_msg("model %d: frozen_read: %s", i, e.msg);
    q_model_free(&m);
    for (int l = 0; l < back.n_layers; l++) {
        for (int k = 0; k < Q_FEAT_COUNT; k++)
            feature_layers[k] += (q_layer_features(&back, &back.layers[l]) >> k) & 1;
        weight4_layers[back.layers[l].op] += back.layers[l].weight_bits == 4;
    }

    rng_state r;
    rng_seed(&r, 9000 + (uint64_t)i);
    int32_t n = q_shape_size(back.in_shape);
    int8_t *in = malloc((size_t)(n * N_INPUTS));
    assert_non_null(in);
    for (int32_t k = 0; k < n * N_INPUTS; k++)
        in[k] = (int8_t)((int32_t)rng_below(&r, 256) - 128);
    cgen_opts o = {0};
    o.source = path;
    o.templates = gh_templates();
    o.n_golden = N_INPUTS;
    o.golden_in = in;
    o.golden_origin = "random int8 inputs";
    if (small_plane(i))
        o.dw_plane_max = 16;
    if (cgen_write(&back, dir, &o, &e))
        fail_msg("model %d: gen: %s", i, e.msg);
    snprintf(path, sizeof path, "%s/%s.c", dir, back.name);
    char *text = tmpdir_read(path, NULL);
    assert_non_null(text);
    count_dw_forms(&back, i, text);
    free(text);
    for (const cgen_target *t = cgen_targets + 1; i % 4 == 0 && t->name; t++) {
        char sub[4300];
        snprintf(sub, sizeof sub, "%s/targets/%s", dir, t->name);
        cgen_opts ot = o;
        ot.target = t->name;
        if (qfile_mkdirs(sub, &e) || cgen_write(&back, sub, &ot, &e))
            fail_msg("model %d: gen --target %s: %s", i, t->name, e.msg);
    }
    int layers = back.n_layers;
    free(in);
    q_model_free(&back);
    return layers;
}

/* driver.c: runs every self-test, prints the failing ones, exits with their count. */
static void write_driver(const char *dir, int n)
{
    size_t cap = 512 + (size_t)n * 160;
    char *src = malloc(cap);
    assert_non_null(src);
    size_t len = 0;
    len += (size_t)snprintf(src + len, cap - len, "#include <stdio.h>\n");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(src + len, cap - len, "int r%03d_selftest(void);\n", i);
    len += (size_t)snprintf(src + len, cap - len,
                            "int main(void)\n{\n    int failed = 0, bad;\n");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(src + len, cap - len,
                                "    if ((bad = r%03d_selftest()) != 0) {\n"
                                "        printf(\"r%03d: %%d output bytes differ\\n\", bad);\n"
                                "        failed++;\n    }\n",
                                i, i);
    snprintf(src + len, cap - len,
             "    printf(\"%%d of %d models differ\\n\", failed);\n"
             "    return failed > 0;\n}\n",
             n);
    char path[4200];
    snprintf(path, sizeof path, "%s/driver.c", dir);
    assert_int_equal(tmpdir_write_text(path, src), 0);
    free(src);
}

static void test_gen_random_models_bit_exact(void **state)
{
    (void)state;
    char dir[4096];
    assert_int_equal(tmpdir_make("gen-random", dir, sizeof dir), 0);
    int n = n_models();
    double t0 = now();
    int layers = 0;
    for (int i = 0; i < n; i++)
        layers += generate(dir, i);
    write_driver(dir, n);
    assert_int_equal(gh_write_poison(dir), 0);
    double t1 = now();
    printf("gen-random: %d models (%d layers) generated in %.1f s\n", n, layers, t1 - t0);
    printf("gen-random: layers with");
    for (int k = 0; k < Q_FEAT_COUNT; k++)
        printf("%s %s %d", k ? "," : "", q_feature_names[k], feature_layers[k]);
    printf("; 4-bit");
    for (int k = 0; k < 3; k++)
        printf("%s %s %d", k ? "," : "", q_op_names[weight4_ops[k]],
               weight4_layers[weight4_ops[k]]);
    printf("\n");
    /* with 200 models, every form the generator prints is drawn (a change of random_model
     * that stops drawing one must show here), and 4-bit weights on each kind of layer */
    int all = n >= 200 && !getenv("QATC_GEN_RANDOM_BREADTH");
    for (int k = 0; all && k < Q_FEAT_COUNT; k++)
        if (feature_layers[k] < 5)
            fail_msg("only %d layers with %s", feature_layers[k], q_feature_names[k]);
    for (int k = 0; all && k < 3; k++)
        if (weight4_layers[weight4_ops[k]] < 5)
            fail_msg("only %d %s layers with 4-bit weights", weight4_layers[weight4_ops[k]],
                     q_op_names[weight4_ops[k]]);
    printf("gen-random: depthwise layers on the");
    for (int k = 0; k < DW_FORMS; k++)
        printf("%s %s %d", k ? "," : "", dw_form_names[k], dw_layers[k]);
    printf("\n");
    for (int k = 0; all && k < DW_FORMS; k++)
        if (dw_layers[k] < (k >= DW_RQ_OWN ? 1 : 5)) /* the requantizations are rare */
            fail_msg("only %d depthwise layers on the fast path with %s", dw_layers[k],
                     dw_form_names[k]);
    const char *only = getenv("QATC_GEN_RANDOM_WRITE_ONLY");
    if (only && *only == '1') {
        printf("gen-random: kept %s\n", dir);
        return;
    }

    for (int c = 0; c < 2; c++)
        if (!gh_have(c ? "clang" : "gcc"))
            fail_msg("%s is not installed", c ? "clang" : "gcc");
    double ts = now();
    int rc = gh_sh("sh tests/support/gen_build.sh %s", dir);
    printf("gen-random: gcc + clang + sanitizer + rv32imc + Cortex-M builds and runs: %.1f s\n",
           now() - ts);
    if (rc != 0)
        fail_msg("a build failed or outputs differ (status %d); files in %s", rc, dir);

    /* the --target files of the models with every op: one version each, the same C */
    char pairs[512] = "", names[8192] = "";
    size_t lp = 0, ln = 0;
    for (const cgen_target *t = cgen_targets + 1; t->name; t++)
        lp += (size_t)snprintf(pairs + lp, sizeof pairs - lp, "%s%s:%s", lp ? " " : "",
                               t->name, t->version);
    for (int i = 0; i < n; i += 4)
        ln += (size_t)snprintf(names + ln, sizeof names - ln, " r%03d", i);
    ts = now();
    rc = gh_sh("sh tests/support/gen_targets.sh %s '%s'%s", dir, pairs, names);
    printf("gen-random: --target files checked: %.1f s\n", now() - ts);
    if (rc != 0)
        fail_msg("a --target file holds another version or other C (status %d); files in %s",
                 rc, dir);

    const char *keep = getenv("QATC_GEN_RANDOM_KEEP");
    if (keep && *keep == '1')
        printf("gen-random: kept %s\n", dir);
    else
        tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gen_random_models_bit_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
