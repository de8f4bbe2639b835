/* qatc gen — a frozen model to NAME.c and NAME.h (and NAME_golden.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgen.h"
#include "commands.h"
#include "dataset.h"
#include "frozen_io.h"
#include "m4run.h"
#include "qfile.h"
#include "qmodel.h"
#include "qnum.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qatc gen FROZEN.yaml [-o DIR] [--target T] [--golden N --inputs FILE]\n"
            "\n"
            "Writes DIR/NAME.c and DIR/NAME.h: integer-only C99 for the frozen int8 model\n"
            "(no floating point, no malloc, only <stdint.h> and <stddef.h>), with\n"
            "  int NAME_run(const int8_t *input, int8_t *output, void *arena);\n"
            "  int NAME_run_static(const int8_t *input, int8_t *output);\n"
            "and NAME_ARENA_SIZE, the input/output sizes and zero-points in NAME.h.\n"
            "\n"
            "  -o DIR        output folder, created if missing (default: the current folder)\n"
            "  --target T    the inner loops NAME.c holds: every version, chosen by the\n"
            "                compiler's predefined macros (all, the default), or one target's\n"
            "                only, with an #error where the compiler targets something else:\n");
    for (const cgen_target *t = cgen_targets; t->name; t++)
        fprintf(f, "                  %-10s %s\n", t->name, t->what);
    fprintf(f,
            "  --golden N    also write DIR/NAME_golden.c: the first N inputs of --inputs,\n"
            "                quantized to the model's input, the outputs the reference\n"
            "                kernels give for them, and int NAME_selftest(void), which\n"
            "                returns how many output bytes differ (0 = pass); no main()\n"
            "  --inputs FILE IDX images (N, H, W[, C]) uint8, or a .npy array of u1\n"
            "                (pixels), i1 (int8 inputs as they are) or f4 (real values,\n"
            "                quantized with the model's input scale and zero-point),\n"
            "                N x H x W x C, N x T x C or N x F; plain or gzip'd\n"
            "                (--images is the same option)\n"
            "\n"
            "Templates come from $QATC_TEMPLATES, else from beside the qatc executable\n"
            "(../share/qatc/templates when installed, ./templates in the source tree).\n"
            "Files are written whole or not at all.\n");
}

/* The first n inputs of path (IDX or .npy), quantized to m's input as the
 * trainer and qatc eval quantize them; *out malloc'd (n, in size). */
static int golden_inputs(const q_model *m, const char *path, long n, int8_t **out, qerr *e)
{
    dataset ds;
    dataset_input in = {m->in_shape.h, m->in_shape.w, m->in_shape.c, m->in_q.scale,
                        m->in_q.zero_point};
    dataset_want none = {DATASET_NONE, 0, 0, 0, 0};
    if (dataset_load_as(&ds, path, NULL, in, none, e))
        return -1;
    int rc = 0;
    int32_t size = q_shape_size(m->in_shape);
    int32_t *order = NULL;
    if (n > ds.n)
        rc = qerr_set(e, "--golden %ld: %s holds only %d inputs", n, path, (int)ds.n);
    if (!rc) {
        *out = malloc((size_t)n * (size_t)size);
        order = malloc((size_t)n * sizeof *order);
        if (!*out || !order) {
            free(*out);
            *out = NULL;
            rc = qerr_set(e, "out of memory");
        }
    }
    for (long i = 0; !rc && i < n; i++)
        order[i] = (int32_t)i;
    if (!rc)
        dataset_batch_int8(&ds, order, 0, (int32_t)n, *out, NULL);
    free(order);
    dataset_free(&ds);
    return rc;
}

int cmd_gen(int argc, char **argv)
{
    const char *frozen = NULL, *dir = ".", *images = NULL, *target = "all";
    long golden = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-o") || !strcmp(a, "--golden") || !strcmp(a, "--images") ||
            !strcmp(a, "--inputs") || !strcmp(a, "--target")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "qatc gen: %s needs a value (qatc gen --help)\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "-o")) {
                dir = v;
            } else if (!strcmp(a, "--target")) {
                if (!cgen_target_find(v)) {
                    fprintf(stderr, "qatc gen: --target: '%s' is none of", v);
                    for (const cgen_target *t = cgen_targets; t->name; t++)
                        fprintf(stderr, " %s%s", t->name, t[1].name ? "," : "\n");
                    return 2;
                }
                target = v;
            } else if (!strcmp(a, "--images") || !strcmp(a, "--inputs")) {
                if (images) {
                    fprintf(stderr, "qatc gen: one of --inputs and --images, once\n");
                    return 2;
                }
                images = v;
            } else {
                int64_t n;
                qnum_status st = qnum_int(v, 1, 1000000, &n); /* the config's rules */
                if (st != QNUM_OK) {
                    char why[200];
                    fprintf(stderr, "qatc gen: --golden: %s\n",
                            qnum_why(st, v, 1, 1, 1000000, why, sizeof why));
                    return 2;
                }
                golden = (long)n;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "qatc gen: unknown option '%s' (qatc gen --help)\n", a);
            return 2;
        } else if (frozen) {
            fprintf(stderr, "qatc gen: one frozen model only, got '%s' and '%s'\n", frozen, a);
            return 2;
        } else {
            frozen = a;
        }
    }
    if (!frozen) {
        fprintf(stderr, "qatc gen: which frozen model? (qatc gen --help)\n");
        return 2;
    }
    if ((golden > 0) != (images != NULL)) {
        fprintf(stderr, "qatc gen: --golden N and --inputs FILE go together\n");
        return 2;
    }

    qerr e = {{0}};
    char templates[4096];
    if (m4run_find_templates(templates, sizeof templates, &e)) {
        fprintf(stderr, "qatc gen: %s\n", e.msg);
        return 1;
    }
    q_model m;
    if (frozen_read(frozen, &m, &e)) {
        fprintf(stderr, "qatc gen: %s\n", e.msg);
        return 1;
    }
    int8_t *inputs = NULL;
    char origin[512];
    if (golden > 0) {
        if (golden_inputs(&m, images, golden, &inputs, &e)) {
            fprintf(stderr, "qatc gen: %s\n", e.msg);
            q_model_free(&m);
            return 1;
        }
        const char *base = strrchr(images, '/');
        snprintf(origin, sizeof origin, "the first %ld inputs of %s, quantized", golden,
                 base ? base + 1 : images);
    }
    cgen_opts o = {0};
    o.source = frozen;
    o.templates = templates;
    o.target = target;
    o.n_golden = (int32_t)golden;
    o.golden_in = inputs;
    o.golden_origin = golden > 0 ? origin : NULL;
    o.images = images;
    int rc = qfile_mkdirs(dir, &e) || cgen_write(&m, dir, &o, &e);
    if (rc)
        fprintf(stderr, "qatc gen: %s\n", e.msg);
    else {
        printf("qatc gen: wrote %s/%s.c, %s/%s.h", dir, m.name, dir, m.name);
        if (golden > 0)
            printf(", %s/%s_golden.c", dir, m.name);
        printf("\n");
    }
    free(inputs);
    q_model_free(&m);
    return rc ? 1 : 0;
}
