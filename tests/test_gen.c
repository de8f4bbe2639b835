/* Tests of the C generator (gen/cgen, gen/m4run, the m4 templates) on single
 * models: the generated files compile under the strict flags with float and
 * double poisoned, their golden self-test passes, they contain nothing but
 * integer C99, regeneration is byte-identical, failures leave no file, and
 * `--target` files hold one version of the inner loops, compiling to what the
 * file with every version compiles to on that target.
 * The 200-model property test is tests/test_gen_random.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cgen.h"
#include "gen_harness.h"
#include "m4run.h"
#include "plan.h"
#include "q8_exec.h"
#include "random_model.h"
#include "rng.h"

typedef struct {
    char dir[4096];
    q_model m;
    int8_t *inputs; /* (n_inputs, input size) */
    int32_t n_inputs;
} fixture;

/* A random model with every op (seeded), named `every`, and random inputs. */
static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(tmpdir_make("gen", fx->dir, sizeof fx->dir), 0);
    rng_state r;
    rng_seed(&r, 11);
    random_model_opts o;
    random_model_default_opts(&o);
    o.every_op = 1;
    assert_int_equal(random_model(&r, &o, &fx->m), 0);
    strcpy(fx->m.name, "every");
    int32_t n = q_shape_size(fx->m.in_shape);
    fx->n_inputs = 5;
    fx->inputs = malloc((size_t)(n * fx->n_inputs));
    assert_non_null(fx->inputs);
    for (int32_t i = 0; i < n * fx->n_inputs; i++)
        fx->inputs[i] = (int8_t)(rng_below(&r, 256) - 128);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    tmpdir_remove(fx->dir);
    q_model_free(&fx->m);
    free(fx->inputs);
    free(fx);
    return 0;
}

static cgen_opts opts_for(fixture *fx)
{
    cgen_opts o = {0};
    o.source = "/some/where/every.frozen.yaml";
    o.templates = gh_templates();
    o.n_golden = fx->n_inputs;
    o.golden_in = fx->inputs;
    o.golden_origin = "random int8 inputs";
    return o;
}

/* Generates the fixture's model, with its golden vectors, into fx->dir. */
static void generate(fixture *fx)
{
    cgen_opts o = opts_for(fx);
    qerr e = {{0}};
    if (cgen_write(&fx->m, fx->dir, &o, &e))
        fail_msg("%s", e.msg);
}

/* Writes src to fx->dir/name (a program that drives the generated code). */
static void write_source(const fixture *fx, const char *name, const char *src)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    assert_int_equal(tmpdir_write_text(path, src), 0);
}

static int file_exists(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* The driver: runs the golden self-test and exits with its count. */
static const char *driver_src =
    "#include <stdio.h>\n"
    "#include \"every.h\"\n"
    "int main(void)\n"
    "{\n"
    "    int bad = every_selftest();\n"
    "    printf(\"every: %d mismatching output bytes\\n\", bad);\n"
    "    return bad != 0;\n"
    "}\n";

/* The generated model compiles with gcc and clang under the strict flags
 * with float/double poisoned, and its self-test matches q8_exec; so does each
 * C version of the inner loops. */
static void test_gen_every_op_compiles_and_matches(void **state)
{
    fixture *fx = *state;
    generate(fx);
    assert_true(file_exists(fx->dir, "every.c"));
    assert_true(file_exists(fx->dir, "every.h"));
    assert_true(file_exists(fx->dir, "every_golden.c"));
    write_source(fx, "driver.c", driver_src);
    assert_int_equal(gh_write_poison(fx->dir), 0);
    const char *ccs[] = {"gcc", "clang"};
    for (int i = 0; i < 2; i++) {
        if (!gh_have(ccs[i]))
            fail_msg("%s is not installed", ccs[i]);
        int rc = gh_sh("cd %s && %s " GH_STRICT " -O2 -include poison.h -c every.c every_golden.c "
                       "&& %s -O2 -o drv_%s driver.c every.o every_golden.o && ./drv_%s",
                       fx->dir, ccs[i], ccs[i], ccs[i], ccs[i]);
        if (rc != 0)
            fail_msg("%s: build or self-test failed (status %d) in %s", ccs[i], rc, fx->dir);
    }
    /* each version forced (its C where it has assembly for another core) */
    const char *versions[] = {"-DQATC_DOT=QATC_DOT_SMLAL", "-DQATC_DOT=QATC_DOT_DSP",
                              "-DQATC_DOT=QATC_DOT_THUMB1", "-DQATC_DOT=QATC_DOT_RV32",
                              "-DQATC_DOT=QATC_DOT_PLAIN"};
    for (int i = 0; i < 5; i++) {
        int rc = gh_sh("cd %s && gcc " GH_STRICT " -O1 %s -include poison.h "
                       "-c every.c every_golden.c && gcc -o drv_v driver.c every.o "
                       "every_golden.o && ./drv_v",
                       fx->dir, versions[i]);
        if (rc != 0)
            fail_msg("%s: build or self-test failed (status %d) in %s", versions[i], rc,
                     fx->dir);
    }
}

/* The generated model (with driver.c written) built with sanitizers passes its self-test:
 * no out-of-bounds access of the arena or the weights, no undefined arithmetic (shifts,
 * overflow) in the generated code. */
static void assert_sanitizers_clean(const fixture *fx)
{
    int rc = gh_sh("cd %s && gcc -std=c99 -g -O1 -fsanitize=address,undefined "
                   "-fno-sanitize-recover=all -o drv_san driver.c every.c every_golden.c && "
                   "./drv_san",
                   fx->dir);
    if (rc != 0)
        fail_msg("sanitized build failed or reported (status %d) in %s", rc, fx->dir);
}

/* Builds the model with sanitizers (assert_sanitizers_clean). */
static void test_gen_every_op_sanitizers_clean(void **state)
{
    fixture *fx = *state;
    generate(fx);
    write_source(fx, "driver.c", driver_src);
    assert_sanitizers_clean(fx);
}


/* The same model built for Cortex-M0 and M3 (tests/target: arm-none-eabi-gcc
 * -mthumb -mfloat-abi=soft -Os, strict warnings, float/double poisoned; no
 * floating-point helper may be linked) passes its self-test under qemu. */
static void test_gen_every_op_runs_on_cortex_m(void **state)
{
    fixture *fx = *state;
    if (!gh_have("arm-none-eabi-gcc") || !gh_have("qemu-system-arm"))
        fail_msg("arm-none-eabi-gcc and qemu-system-arm are needed (make deps)");
    generate(fx);
    assert_int_equal(gh_write_poison(fx->dir), 0);
    const char *cores[] = {"m0", "m3"};
    for (int i = 0; i < 2; i++) {
        int rc = gh_sh("QT_CFLAGS='-include %s/poison.h' sh tests/target/run.sh %s %s every",
                       fx->dir, cores[i], fx->dir);
        if (rc != 0)
            fail_msg("Cortex-%s: build, float check or self-test failed (status %d) in %s",
                     cores[i], rc, fx->dir);
    }
}

/* The generated requantize() (static in every.c, so the harness includes the
 * file) against the runtime's fxp_requantize plus zero-point and clamp, on a
 * million random cases over every shift, both signs, the int32 extremes and
 * multipliers of 0, so that both of its paths (M < 1/2 with 32-bit tail
 * arithmetic, and larger M) are exercised; once as built for the host and
 * once as for Cortex-M0 (QATC_DOT_THUMB1: the product from 16-bit halves). */
static const char *requant_src =
    "#include <stdio.h>\n"
    "#include \"every.c\"\n"
    "#include \"fixedpoint.h\"\n"
    "static uint64_t s = 88172645463325252u;\n"
    "static uint32_t next(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (uint32_t)s; }\n"
    "int main(void)\n"
    "{\n"
    "    long bad = 0, big = 0;\n"
    "    for (long k = 0; k < 1000000; k++) {\n"
    "        uint32_t r = next();\n"
    "        int32_t acc = r % 8 == 0 ? (r % 16 ? INT32_MAX : INT32_MIN) : (int32_t)next() >> (next() % 32);\n"
    "        fxp_requant rq = {next() % 64 ? (int32_t)(0x40000000u | (next() >> 2)) : 0,\n"
    "                        (int32_t)(next() % 62) - 31};\n"
    "        int32_t zp = (int32_t)(next() % 256) - 128, a = (int32_t)(next() % 256) - 128,\n"
    "                b = (int32_t)(next() % 256) - 128, lo = a < b ? a : b, hi = a < b ? b : a;\n"
    "        int64_t want = (int64_t)fxp_requantize(acc, rq) + zp;\n"
    "        want = want < lo ? lo : want > hi ? hi : want;\n"
    "        int8_t got = requantize(acc, rq.multiplier, rq.shift, zp, lo, hi);\n"
    "        big += rq.shift >= 0;\n"
    "        if (got != want && bad++ < 5)\n"
    "            printf(\"acc %ld m0 %ld shift %ld zp %ld [%ld, %ld]: %d, want %ld\\n\", (long)acc,\n"
    "                   (long)rq.multiplier, (long)rq.shift, (long)zp, (long)lo, (long)hi, got, (long)want);\n"
    "    }\n"
    "    printf(\"requantize: %ld of 1000000 differ (%ld with M >= 1/2)\\n\", bad, big);\n"
    "    return bad != 0 || big < 100000;\n"
    "}\n";

static void test_gen_requantize_matches_reference(void **state)
{
    fixture *fx = *state;
    generate(fx);
    write_source(fx, "requant.c", requant_src);
    const char *versions[] = {"", "-DQATC_DOT=QATC_DOT_THUMB1"};
    for (int i = 0; i < 2; i++) {
        int rc = gh_sh("cc -std=c99 -O2 %s -Iruntime/int8 -Iruntime/common -I%s -o %s/requant "
                       "%s/requant.c build/libqatc_int8.a -lm && %s/requant",
                       versions[i], fx->dir, fx->dir, fx->dir, fx->dir);
        if (rc != 0)
            fail_msg("the generated requantize %s differs from fxp_requantize (status %d) in %s",
                     versions[i], rc, fx->dir);
    }
}

/* Generating the same model twice gives the same bytes, whatever the folder
 * of the source file (only its base name is printed). */
static void test_gen_regeneration_is_byte_identical(void **state)
{
    fixture *fx = *state;
    cgen_opts o = opts_for(fx);
    char dir2[4200];
    snprintf(dir2, sizeof dir2, "%s/again", fx->dir);
    assert_int_equal(gh_sh("mkdir -p %s", dir2), 0);
    qerr e = {{0}};
    assert_int_equal(cgen_write(&fx->m, fx->dir, &o, &e), 0);
    o.source = "every.frozen.yaml";
    assert_int_equal(cgen_write(&fx->m, dir2, &o, &e), 0);
    const char *names[] = {"every.c", "every.h", "every_golden.c"};
    for (int i = 0; i < 3; i++) {
        char p1[4300], p2[4300];
        snprintf(p1, sizeof p1, "%s/%s", fx->dir, names[i]);
        snprintf(p2, sizeof p2, "%s/%s", dir2, names[i]);
        size_t n1, n2;
        char *a = tmpdir_read(p1, &n1), *b = tmpdir_read(p2, &n2);
        assert_non_null(a);
        assert_non_null(b);
        if (n1 != n2 || memcmp(a, b, n1) != 0) {
            size_t k = 0;
            while (k < n1 && k < n2 && a[k] == b[k])
                k++;
            fail_msg("%s differs between two generations at byte %zu", names[i], k);
        }
        free(a), free(b);
    }
}

/* The generated files use only <stdint.h> and <stddef.h> (and the model's
 * own header), name no floating-point type even in comments, and call no
 * library function. */
static void test_gen_output_is_integer_only_c99(void **state)
{
    fixture *fx = *state;
    generate(fx);
    const char *names[] = {"every.c", "every.h", "every_golden.c"};
    const char *banned[] = {"float", "double", "malloc", "free(", "memcpy", "memset",
                            "printf", "abort", "assert", "static inline", "long long"};
    for (int i = 0; i < 3; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/%s", fx->dir, names[i]);
        char *text = tmpdir_read(path, NULL);
        assert_non_null(text);
        if (strncmp(text, "/* generated by qatc from every.frozen.yaml -- do not edit */\n",
                    62) != 0)
            fail_msg("%s: no banner naming the source file", names[i]);
        for (size_t b = 0; b < sizeof banned / sizeof *banned; b++)
            if (strstr(text, banned[b]))
                fail_msg("%s mentions '%s'", names[i], banned[b]);
        for (char *line = text; line; line = strchr(line, '\n')) {
            line += *line == '\n';
            if (strncmp(line, "#include", 8) == 0 && strncmp(line, "#include <stdint.h>", 19) &&
                strncmp(line, "#include <stddef.h>", 19) &&
                strncmp(line, "#include \"every.h\"", 18))
                fail_msg("%s includes something else: %.40s", names[i], line);
        }
        free(text);
    }
}

/* The header states the plan's arena size and the input/output quantization;
 * without --golden it declares no NAME_selftest (there is none to link). */
static void test_gen_header_matches_plan(void **state)
{
    fixture *fx = *state;
    cgen_opts o = opts_for(fx);
    o.n_golden = 0;
    qerr e = {{0}};
    assert_int_equal(cgen_write(&fx->m, fx->dir, &o, &e), 0);
    assert_false(file_exists(fx->dir, "every_golden.c"));
    plan p;
    assert_int_equal(plan_build(&fx->m, &p, &e), 0);
    char path[4300], want[128];
    snprintf(path, sizeof path, "%s/every.h", fx->dir);
    char *h = tmpdir_read(path, NULL);
    assert_non_null(h);
    snprintf(want, sizeof want, "#define EVERY_ARENA_SIZE %d\n", (int)p.arena_size);
    if (!strstr(h, want))
        fail_msg("every.h lacks '%s'", want);
    snprintf(want, sizeof want, "#define EVERY_INPUT_ZERO_POINT (%d)\n",
             (int)fx->m.in_q.zero_point);
    if (!strstr(h, want))
        fail_msg("every.h lacks '%s'", want);
    snprintf(want, sizeof want, "#define EVERY_OUTPUT_SIZE %d\n",
             (int)q_shape_size(fx->m.layers[fx->m.n_layers - 1].out_shape));
    if (!strstr(h, want))
        fail_msg("every.h lacks '%s'", want);
    if (strstr(h, "selftest"))
        fail_msg("every.h declares every_selftest without --golden");
    free(h);
    plan_free(&p);
}

/* A template that fails (here: a macro called with an argument missing)
 * stops m4 with its message, and no output file appears, not even a
 * temporary one. */
static void test_gen_template_error_leaves_no_file(void **state)
{
    fixture *fx = *state;
    char tdir[4300], out[4300];
    snprintf(tdir, sizeof tdir, "%s/templates", fx->dir);
    snprintf(out, sizeof out, "%s/out", fx->dir);
    assert_int_equal(gh_sh("mkdir -p %s %s && cp %s/*.m4 %s/ && "
                           "sed -i 's/QATC_CHECK(\\[$0\\], \\[4\\]/QATC_CHECK([$0], [5]/' "
                           "%s/layers.m4",
                           tdir, out, gh_templates(), tdir, tdir),
                     0);
    cgen_opts o = opts_for(fx);
    o.templates = tdir;
    qerr e = {{0}};
    assert_int_equal(cgen_write(&fx->m, out, &o, &e), -1);
    if (!strstr(e.msg, "expected 5 arguments, got 4")) /* the pools, add, copy */
        fail_msg("unexpected message: %s", e.msg);
    assert_int_equal(gh_sh("test -z \"$(ls -A %s)\"", out), 0);

    /* no templates at all */
    o.templates = out;
    assert_int_equal(cgen_write(&fx->m, out, &o, &e), -1);
    assert_int_equal(gh_sh("test -z \"$(ls -A %s)\"", out), 0);
    /* an output folder that does not exist */
    o.templates = gh_templates();
    snprintf(out, sizeof out, "%s/missing/folder", fx->dir);
    assert_int_equal(cgen_write(&fx->m, out, &o, &e), -1);
    if (!strstr(e.msg, "missing/folder"))
        fail_msg("unexpected message: %s", e.msg);
}

/* Generates the fixture's model for every target but "all" into fx->dir/targets/TARGET and
 * writes their "TARGET:VERSION" pairs (tests/support/gen_targets.sh) into pairs. */
static void generate_targets(fixture *fx, char *pairs, size_t cap)
{
    size_t len = 0;
    pairs[0] = '\0';
    for (const cgen_target *t = cgen_targets + 1; t->name; t++) {
        char dir[4300];
        snprintf(dir, sizeof dir, "%s/targets/%s", fx->dir, t->name);
        assert_int_equal(gh_sh("mkdir -p %s", dir), 0);
        cgen_opts o = opts_for(fx);
        o.target = t->name;
        qerr e = {{0}};
        if (cgen_write(&fx->m, dir, &o, &e))
            fail_msg("--target %s: %s", t->name, e.msg);
        len += (size_t)snprintf(pairs + len, cap - len, "%s%s:%s", len ? " " : "", t->name,
                                t->version);
    }
}

/* `qatc gen --target T` writes only T's version of the inner loops, which the
 * compilers for T preprocess to the same C as the file with every version; the
 * host and portable files build under the strict flags with gcc and clang and
 * pass their self-test, the rv32 one builds with riscv64-unknown-elf-gcc, and a
 * file for another core stops the host compiler with its #error. (The Cortex-M
 * files run under qemu in tests/check_target.sh.) */
static void test_gen_target_holds_one_version(void **state)
{
    fixture *fx = *state;
    generate(fx);
    char pairs[512];
    generate_targets(fx, pairs, sizeof pairs);
    int rc = gh_sh("sh tests/support/gen_targets.sh %s '%s' every", fx->dir, pairs);
    if (rc != 0)
        fail_msg("gen_targets.sh failed (status %d) in %s", rc, fx->dir);

    write_source(fx, "driver.c", driver_src);
    assert_int_equal(gh_write_poison(fx->dir), 0);
    const char *targets[] = {"host", "portable"}, *ccs[] = {"gcc", "clang"};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < 2; i++) {
            rc = gh_sh("cd %s/targets/%s && %s " GH_STRICT " -O2 -include ../../poison.h -c "
                       "every.c every_golden.c && %s -O2 -o drv ../../driver.c every.o "
                       "every_golden.o && ./drv",
                       fx->dir, targets[t], ccs[i], ccs[i]);
            if (rc != 0)
                fail_msg("--target %s, %s: build or self-test failed (status %d) in %s",
                         targets[t], ccs[i], rc, fx->dir);
        }
    if (!gh_have("riscv64-unknown-elf-gcc"))
        fail_msg("riscv64-unknown-elf-gcc is not installed (make deps)");
    rc = gh_sh("cd %s/targets/rv32 && riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32 "
               "-ffreestanding -Os " GH_STRICT " -include ../../poison.h -c every.c",
               fx->dir);
    if (rc != 0)
        fail_msg("--target rv32: riscv64-unknown-elf-gcc failed (status %d) in %s", rc, fx->dir);
    rc = gh_sh("cd %s/targets/cortex-m4 && ! gcc -std=c99 -c every.c -o /dev/null 2> err.txt && "
               "grep -q 'every.c was generated for cortex-m4' err.txt",
               fx->dir);
    if (rc != 0)
        fail_msg("--target cortex-m4 compiled for the host without its #error (in %s)", fx->dir);
}

/* An unknown target is an error that writes nothing. */
static void test_gen_unknown_target_fails(void **state)
{
    fixture *fx = *state;
    cgen_opts o = opts_for(fx);
    o.target = "z80";
    qerr e = {{0}};
    assert_int_equal(cgen_write(&fx->m, fx->dir, &o, &e), -1);
    if (!strstr(e.msg, "z80"))
        fail_msg("unexpected message: %s", e.msg);
    assert_false(file_exists(fx->dir, "every.c"));
    assert_false(file_exists(fx->dir, "every.h"));
}

/* A fixture for a model built by hand: a fresh folder (tag), the model `every` with input
 * in_shape and in_q and room for max_layers layers (none yet). */
static fixture *hand_fixture(const char *tag, q_shape in_shape, q_quant in_q, int32_t max_layers)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(tmpdir_make(tag, fx->dir, sizeof fx->dir), 0);
    q_model *m = &fx->m;
    strcpy(m->name, "every");
    m->in_shape = in_shape;
    m->in_q = in_q;
    m->layers = calloc((size_t)max_layers, sizeof *m->layers);
    assert_non_null(m->layers);
    return fx;
}

/* After a hand-built model's layers: the model checked (what names it in a failure) and
 * room for six inputs; returns the size of one. */
static int32_t hand_inputs(fixture *fx, const char *what)
{
    qerr e = {{0}};
    if (q_model_check(&fx->m, what, &e))
        fail_msg("%s", e.msg);
    int32_t n = q_shape_size(fx->m.in_shape);
    fx->n_inputs = 6;
    fx->inputs = malloc((size_t)(n * fx->n_inputs));
    assert_non_null(fx->inputs);
    return n;
}

/* A weighted layer of the 4-bit model below: weights ((i * 5) % 15) - 7 (every value of
 * [-7, 7], both ends included), per-channel scales, small biases. */
static q_layer *w4_layer(q_model *m, q_op op, const char *name, int32_t out_c, int32_t count,
                         double w_scale, double out_scale, int32_t out_zp)
{
    q_layer *l = &m->layers[m->n_layers];
    memset(l, 0, sizeof *l);
    l->op = op;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->input = m->n_layers;
    l->input2 = -1;
    l->out_q = (q_quant){out_scale, out_zp};
    l->out_shape.c = out_c;
    l->weight_bits = 4;
    l->per_channel = 1;
    l->multiplier = 1;
    l->weights = malloc((size_t)count);
    l->bias = malloc((size_t)out_c * sizeof *l->bias);
    l->w_scale = malloc((size_t)out_c * sizeof *l->w_scale);
    assert_non_null(l->weights && l->bias && l->w_scale);
    for (int32_t i = 0; i < count; i++)
        l->weights[i] = (int8_t)((i * 5) % 15 - 7);
    for (int32_t c = 0; c < out_c; c++) {
        l->w_scale[c] = w_scale * (1.0 + 0.1 * c);
        l->bias[c] = 40 * c - 90;
    }
    m->n_layers++;
    return l;
}

/* Every kind of layer with 4-bit weights, each with an odd number of them (so that the
 * last byte holds a zero nibble) and odd channel counts (rows that straddle bytes in the
 * flat order, groups that are partly padding): conv2d 3x3 on 3 channels into 5, a
 * depthwise 3x3 on those 5 (the general nest), conv2d 1x1 into 3 (five taps: part of a
 * quad), and a linear layer of 75 inputs into 3 (and the 5 x 3 linear one at the end,
 * whose packed bytes the test below checks). Input zero-point -3, so the
 * versions that need it subtract the zero-point's share. */
static int setup_w4(void **state)
{
    fixture *fx = hand_fixture("gen-w4", (q_shape){5, 5, 3}, (q_quant){0.02, -3}, 8);
    q_model *m = &fx->m;
    q_window k3 = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, k1 = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
    q_layer *l = w4_layer(m, Q_OP_CONV2D, "conv", 5, 5 * 9 * 3, 0.05, 0.05, -10);
    l->win = k3;
    l->act = Q_ACT_RELU;
    l = w4_layer(m, Q_OP_DWCONV2D, "dw", 5, 9 * 5, 0.05, 0.04, 5);
    l->win = k3;
    l = w4_layer(m, Q_OP_CONV2D, "pw", 3, 3 * 5, 0.05, 0.03, -1);
    l->win = k1;
    l = &m->layers[m->n_layers++];
    memset(l, 0, sizeof *l);
    l->op = Q_OP_FLATTEN;
    strcpy(l->name, "flat");
    l->input = m->n_layers - 1;
    l->input2 = -1;
    l->out_q = (q_quant){0.03, -1};
    w4_layer(m, Q_OP_LINEAR, "fc", 5, 75 * 5, 0.05, 0.1, 2);
    w4_layer(m, Q_OP_LINEAR, "out", 3, 5 * 3, 0.05, 0.1, 0);
    int32_t n = hand_inputs(fx, "w4");
    rng_state r;
    rng_seed(&r, 13);
    for (int32_t i = 0; i < n; i++) { /* the extremes, then random */
        fx->inputs[i] = -128;
        fx->inputs[n + i] = 127;
        for (int k = 2; k < fx->n_inputs; k++)
            fx->inputs[k * n + i] = (int8_t)(rng_below(&r, 256) - 128);
    }
    *state = fx;
    return 0;
}

/* s without its spaces and line breaks. */
static void squeeze(char *s)
{
    char *to = s;
    for (const char *from = s; *from; from++)
        if (*from != ' ' && *from != '\n')
            *to++ = *from;
    *to = '\0';
}

/* The 4-bit model above: the last layer's weights are packed two per byte, element 2k in
 * the low nibble and 2k + 1 in the high one, in the flat (out, in) order with its rows
 * padded to eight (a linear layer's W_ROWS); the model matches q8_exec with gcc and
 * clang, with each version of the inner loops forced (their C), under the sanitizers,
 * and on Cortex-M0, M3 and M4 (their assembly) under qemu. */
static void test_gen_4bit_weights_packed_and_exact(void **state)
{
    fixture *fx = *state;
    generate(fx);
    const q_layer *out = &fx->m.layers[fx->m.n_layers - 1];
    char want[256] = "static const uint8_t w4[(W_ROWS * IN_N + 1) / 2] = {";
    for (int32_t k = 0; k < 20; k++) { /* 8 rows of 5: 40 nibbles, rows 3 to 7 are 0 */
        int32_t lo = 2 * k < 15 ? out->weights[2 * k] : 0;
        int32_t hi = 2 * k + 1 < 15 ? out->weights[2 * k + 1] : 0;
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", k ? ", " : "",
                 (lo & 15) | (hi & 15) << 4);
    }
    strcat(want, "};");
    char path[4200];
    snprintf(path, sizeof path, "%s/every.c", fx->dir);
    char *c = tmpdir_read(path, NULL);
    assert_non_null(c);
    squeeze(c); /* the initializer may wrap: compare without spaces and line breaks */
    squeeze(want);
    if (!strstr(c, want))
        fail_msg("no packed weights '%s' in %s", want, path);
    free(c);

    write_source(fx, "driver.c", driver_src);
    assert_int_equal(gh_write_poison(fx->dir), 0);
    const char *builds[] = {"gcc", "clang", "gcc -DQATC_DOT=QATC_DOT_SMLAL",
                            "clang -DQATC_DOT=QATC_DOT_DSP", "gcc -DQATC_DOT=QATC_DOT_THUMB1",
                            "gcc -DQATC_DOT=QATC_DOT_RV32", "clang -DQATC_DOT=QATC_DOT_PLAIN"};
    for (size_t i = 0; i < sizeof builds / sizeof *builds; i++) {
        int rc = gh_sh("cd %s && %s " GH_STRICT " -O1 -include poison.h -c every.c "
                       "every_golden.c && cc -o drv_w4 driver.c every.o every_golden.o && "
                       "./drv_w4",
                       fx->dir, builds[i]);
        if (rc != 0)
            fail_msg("%s: build or self-test failed (status %d) in %s", builds[i], rc, fx->dir);
    }
    assert_sanitizers_clean(fx);
    if (!gh_have("arm-none-eabi-gcc") || !gh_have("qemu-system-arm"))
        fail_msg("arm-none-eabi-gcc and qemu-system-arm are needed (make deps)");
    const char *cores[] = {"m0", "m3", "m4"};
    for (int i = 0; i < 3; i++) {
        int rc = gh_sh("QT_CFLAGS='-include %s/poison.h' sh tests/target/run.sh %s %s every",
                       fx->dir, cores[i], fx->dir);
        if (rc != 0)
            fail_msg("Cortex-%s: build, float check or self-test failed (status %d) in %s",
                     cores[i], rc, fx->dir);
    }
}

/* A conv2d fused with the pool after it runs in a function named after both
 * (one '_' more when a layer has that name already); with --golden, NAME.h
 * declares NAME_selftest (test_gen_header_matches_plan: not without). */
static void test_gen_names_and_selftest_declaration(void **state)
{
    fixture *fx = *state;
    generate(fx);
    qerr e = {{0}};
    char path[4300];
    snprintf(path, sizeof path, "%s/every.h", fx->dir);
    char *h = tmpdir_read(path, NULL);
    assert_non_null(h);
    if (!strstr(h, "int every_selftest(void);"))
        fail_msg("every.h does not declare every_selftest with --golden");
    free(h);

    plan p;
    assert_int_equal(plan_build(&fx->m, &p, &e), 0);
    snprintf(path, sizeof path, "%s/every.c", fx->dir);
    char *c = tmpdir_read(path, NULL);
    assert_non_null(c);
    int fused = 0;
    for (int l = 0; l + 1 < fx->m.n_layers; l++) {
        if (p.t[l + 1].loc != PLAN_FUSED)
            continue;
        char want[300];
        snprintf(want, sizeof want, "static void every_layer_%s_%s(", fx->m.layers[l].name,
                 fx->m.layers[l + 1].name);
        if (!strstr(c, want))
            fail_msg("every.c has no '%s'", want);
        fused++;
    }
    if (fused == 0)
        fail_msg("the every-op model has no conv2d fused with a pool");
    if (strstr(c, "#if 1\n"))
        fail_msg("every.c holds an #if 1");
    free(c);

    /* a layer already called CONV_POOL: the fused function takes a '_' more */
    int l = 0;
    while (p.t[l + 1].loc != PLAN_FUSED)
        l++;
    char fn[300];
    snprintf(fn, sizeof fn, "%s_%s", fx->m.layers[l].name, fx->m.layers[l + 1].name);
    q_layer *last = &fx->m.layers[fx->m.n_layers - 1];
    assert_true(last != &fx->m.layers[l + 1] && strlen(fn) < sizeof last->name);
    strcpy(last->name, fn);
    generate(fx);
    c = tmpdir_read(path, NULL);
    assert_non_null(c);
    char want[320];
    snprintf(want, sizeof want, "static void every_layer_%s_(", fn);
    if (!strstr(c, want))
        fail_msg("every.c has no '%s'", want);
    free(c);
    int rc = gh_sh("cd %s && gcc " GH_STRICT " -c every.c -o every.o", fx->dir);
    if (rc != 0)
        fail_msg("with a layer named %s, every.c does not compile (in %s)", fn, fx->dir);
    plan_free(&p);
}

/* Templates are found through $QATC_TEMPLATES first. */
static void test_gen_templates_from_environment(void **state)
{
    (void)state;
    char dir[4096];
    qerr e = {{0}};
    setenv("QATC_TEMPLATES", "templates", 1);
    assert_int_equal(m4run_find_templates(dir, sizeof dir, &e), 0);
    assert_string_equal(dir, "templates");
    setenv("QATC_TEMPLATES", "/nonexistent/qatc", 1);
    assert_int_equal(m4run_find_templates(dir, sizeof dir, &e), -1);
    if (!strstr(e.msg, "/nonexistent/qatc"))
        fail_msg("unexpected message: %s", e.msg);
    unsetenv("QATC_TEMPLATES");
}

/* A model of one padded average pool of TFLite's kind, 20x20 windows over a 24x24x2 input,
 * stride 3, pad [10, 9, 10, 9]: window counts from 100 to 400, so the generated C divides
 * with 64-bit products (average64), named `every` for the driver; inputs at the extremes
 * (all -128, all 127, alternating) and random. */
static int setup_avgpool_div(void **state)
{
    fixture *fx = hand_fixture("gen-div", (q_shape){24, 24, 2}, (q_quant){0.02, -7}, 1);
    q_model *m = &fx->m;
    m->n_layers = 1;
    q_layer *l = &m->layers[0];
    l->op = Q_OP_AVGPOOL;
    strcpy(l->name, "pool");
    l->input2 = -1;
    l->win = (q_window){20, 20, 3, 3, 1, 1, 10, 9, 10, 9};
    l->out_q = m->in_q;
    int32_t n = hand_inputs(fx, "avgpool_div");
    rng_state r;
    rng_seed(&r, 12);
    for (int32_t i = 0; i < n; i++) {
        int8_t *x = fx->inputs;
        x[i] = -128;
        x[n + i] = 127;
        x[2 * n + i] = (int8_t)(i % 2 ? 127 : -128);
        x[3 * n + i] = (int8_t)(rng_below(&r, 2) ? 127 : -128);
        x[4 * n + i] = (int8_t)(rng_below(&r, 256) - 128);
        x[5 * n + i] = (int8_t)(rng_below(&r, 4) ? -128 : (int32_t)rng_below(&r, 256) - 128);
    }
    *state = fx;
    return 0;
}

/* The padded average pool above: its C holds average64 and no divide (no '/' outside
 * comments in its function), compiles warning-free and matches q8_exec on the host, and
 * on Cortex-M0 (64-bit products by a library multiply) under qemu. */
static void test_gen_avgpool_div_64_bit(void **state)
{
    fixture *fx = *state;
    generate(fx);
    write_source(fx, "driver.c", driver_src);
    assert_int_equal(gh_write_poison(fx->dir), 0);
    int rc = gh_sh("cd %s && grep -q 'average64(sum' every.c && ! grep -q 'average32' every.c && "
                   "sed -n '/^static void every_layer/,/^}/p' every.c | sed 's,/\\*.*\\*/,,' | "
                   "grep -v '^ *\\*' | grep -v '/\\*' | (! grep '/')",
                   fx->dir);
    if (rc != 0)
        fail_msg("every.c: no average64, or a division in the layer (status %d) in %s", rc,
                 fx->dir);
    const char *ccs[] = {"gcc", "clang"};
    for (int i = 0; i < 2; i++) {
        rc = gh_sh("cd %s && %s " GH_STRICT " -O2 -include poison.h -c every.c every_golden.c "
                   "&& %s -O2 -o drv_%s driver.c every.o every_golden.o && ./drv_%s",
                   fx->dir, ccs[i], ccs[i], ccs[i], ccs[i]);
        if (rc != 0)
            fail_msg("%s: build or self-test failed (status %d) in %s", ccs[i], rc, fx->dir);
    }
    if (!gh_have("arm-none-eabi-gcc") || !gh_have("qemu-system-arm"))
        fail_msg("arm-none-eabi-gcc and qemu-system-arm are needed (make deps)");
    rc = gh_sh("QT_CFLAGS='-include %s/poison.h' sh tests/target/run.sh m0 %s every", fx->dir,
               fx->dir);
    if (rc != 0)
        fail_msg("Cortex-M0: build, float check or self-test failed (status %d) in %s", rc,
                 fx->dir);
}

/* TFLite's average pool without a divide (QATC_AVERAGE): the arithmetic of averageWIDTH()
 * in templates/layers.m4, for a sum of count values. */
static int32_t template_average(int32_t sum, int32_t count, const cgen_recip *r)
{
    uint32_t n = (sum < 0 ? 0u - (uint32_t)sum : (uint32_t)sum) + ((uint32_t)count >> 1);
    int32_t q = r->wide ? (int32_t)(((uint64_t)n * r->recip) >> r->shift)
                        : (int32_t)((uint32_t)(n * r->recip) >> r->shift);
    return sum < 0 ? -q : q;
}

/* q8_avgpool_s8's rounding (runtime/int8/q8_kernels.c), the definition, in 64 bits (in
 * int32, acc - count / 2 overflows for counts above 16711935 at the most negative sums). */
static int32_t reference_average(int32_t acc, int32_t count)
{
    int64_t a = acc, c = count;
    return (int32_t)(a > 0 ? (a + c / 2) / c : (a - c / 2) / c);
}

/* floor(n / count) = (n * recip) >> shift for n in [0, cgen_div_max(count)]: n * recip
 * computed as the template does (in 32 bits unless wide). */
static int quotient_ok(uint32_t n, int32_t count, const cgen_recip *r)
{
    uint64_t q = r->wide ? ((uint64_t)n * r->recip) >> r->shift
                         : (uint64_t)((uint32_t)(n * r->recip) >> r->shift);
    return q == n / (uint32_t)count;
}

/* The reciprocals of cgen_reciprocal are exact for every count a pool window can have and
 * every sum its int8 values can make (|sum| <= 128 count): the proof's condition
 * (n_max * e < 2^shift, e = recip * count - 2^shift) for every count up to Q_MAX_ELEMS that
 * has a 32-bit reciprocal (all up to 16 million); every n for the counts up to 600 (from
 * 362 on the product needs 64 bits), every signed sum against q8's rounding up to 300; and
 * for every count up to 70000 and every 4099th above, n at both ends of the range and at
 * each multiple of the count and one below it (the residue count - 1 is the worst case). */
static void test_gen_reciprocal_exact(void **state)
{
    (void)state;
    int32_t last = 0, first_wide = 0;
    for (int32_t c = 1; c <= Q_MAX_ELEMS; c++) {
        cgen_recip r;
        if (cgen_reciprocal(c, &r)) {
            if (c <= 16000000)
                fail_msg("count %d has no reciprocal", (int)c);
            continue;
        }
        last = c;
        uint64_t n_max = (uint64_t)cgen_div_max(c);
        assert_true(r.shift >= 0 && r.shift < 64);
        uint64_t p = (uint64_t)1 << r.shift, e = (uint64_t)r.recip * (uint64_t)c - p;
        if ((uint64_t)r.recip * (uint64_t)c < p || e >= (uint64_t)c || n_max * e >= p)
            fail_msg("count %d: recip %u shift %d breaks the bound", (int)c, (unsigned)r.recip,
                     r.shift);
        if (!r.wide && n_max * r.recip > UINT32_MAX)
            fail_msg("count %d: the product needs 64 bits", (int)c);
        if (r.wide && !first_wide)
            first_wide = c;
    }
    assert_true(first_wide > 300);
    long checked = 0;
    for (int32_t c = 1; c <= 600; c++) {
        cgen_recip r;
        assert_int_equal(cgen_reciprocal(c, &r), 0);
        for (uint32_t n = 0; n <= (uint32_t)cgen_div_max(c); n++, checked++)
            if (!quotient_ok(n, c, &r))
                fail_msg("count %d: n %u", (int)c, (unsigned)n);
        for (int32_t acc = -128 * c; c <= 300 && acc <= 127 * c; acc++)
            if (template_average(acc, c, &r) != reference_average(acc, c))
                fail_msg("count %d: sum %d gives %d, q8 %d", (int)c, (int)acc,
                         (int)template_average(acc, c, &r), (int)reference_average(acc, c));
    }
    for (int32_t c = 1; c <= last; c += c < 70000 ? 1 : 4099) {
        cgen_recip r;
        assert_int_equal(cgen_reciprocal(c, &r), 0);
        uint32_t n_max = (uint32_t)cgen_div_max(c);
        for (uint32_t k = 0; k <= 1024 && k <= n_max; k++, checked += 2)
            if (!quotient_ok(k, c, &r) || !quotient_ok(n_max - k, c, &r))
                fail_msg("count %d: n %u or %u", (int)c, (unsigned)k, (unsigned)(n_max - k));
        for (uint64_t m = (uint64_t)c; m <= n_max; m += (uint64_t)c, checked += 2)
            if (!quotient_ok((uint32_t)m, c, &r) || !quotient_ok((uint32_t)m - 1, c, &r))
                fail_msg("count %d: n %u", (int)c, (unsigned)m);
        int32_t lo = -128 * c, hi = 127 * c; /* the sums at the ends, signed */
        for (int32_t k = 0; k < 64; k++)
            if (template_average(lo + k, c, &r) != reference_average(lo + k, c) ||
                template_average(hi - k, c, &r) != reference_average(hi - k, c))
                fail_msg("count %d: a sum at the ends differs from q8's rounding", (int)c);
    }
    printf("reciprocals: counts 1..%d exact (64-bit products from %d on); %ld quotients "
           "checked\n", (int)last, (int)first_wide, checked);
}

int main(void)
{
    /* QATC_TEST_FILTER=test_gen_reciprocal* runs only the tests it matches */
    if (getenv("QATC_TEST_FILTER"))
        cmocka_set_test_filter(getenv("QATC_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gen_every_op_compiles_and_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_every_op_sanitizers_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_every_op_runs_on_cortex_m, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_requantize_matches_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_regeneration_is_byte_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_output_is_integer_only_c99, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_header_matches_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_template_error_leaves_no_file, setup, teardown),
        cmocka_unit_test(test_gen_templates_from_environment),
        cmocka_unit_test(test_gen_reciprocal_exact),
        cmocka_unit_test_setup_teardown(test_gen_avgpool_div_64_bit, setup_avgpool_div, teardown),
        cmocka_unit_test_setup_teardown(test_gen_target_holds_one_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_unknown_target_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_4bit_weights_packed_and_exact, setup_w4,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gen_names_and_selftest_declaration, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
