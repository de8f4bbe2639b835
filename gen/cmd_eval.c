/* qatc eval — int8 top-1 accuracy of a frozen model with the reference
 * kernels (q8_exec): the numbers the generated C gives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "frozen_io.h"
#include "idx.h"
#include "q8_exec.h"
#include "qmodel.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: qatc eval FROZEN.yaml --images IDX --labels IDX\n"
               "\n"
               "Runs every image through the int8 reference kernels (what the generated C\n"
               "computes, bit for bit) and prints the top-1 accuracy; the last line reads\n"
               "  top1 CORRECT/TOTAL (PERCENT%%)\n"
               "The prediction is the lowest index among equal maximal outputs. Pixels p\n"
               "become q = round(p / 255 / scale) + zero_point with the model's input\n"
               "quantization. IDX files as MNIST / Fashion-MNIST, optionally .gz.\n");
}

/* Counts the images whose top-1 equals their label. Each thread runs its own
 * executor on a share of the images; the count does not depend on threads. */
static int count_correct(const q_model *m, const idx_images *im, const idx_labels *lb,
                         long *correct, qerr *e)
{
    int32_t in_n = q_shape_size(m->in_shape);
    int32_t out_n = q_shape_size(m->layers[m->n_layers - 1].out_shape);
    long hits = 0;
    int failed = 0;
#pragma omp parallel reduction(+ : hits) reduction(| : failed)
    {
        qerr te = {{0}};
        q8_exec *x = q8_exec_new(m, &te);
        int8_t *in = malloc((size_t)in_n);
        int8_t *out = malloc((size_t)out_n);
        if (!x || !in || !out) {
            failed = 1;
#pragma omp critical
            qerr_set(e, "%s", x ? "out of memory" : te.msg);
        }
#pragma omp for schedule(static)
        for (int32_t i = 0; i < im->n; i++) {
            if (failed)
                continue;
            idx_quantize_pixels(im->pixels + (size_t)i * (size_t)in_n, in_n, m->in_q.scale,
                                m->in_q.zero_point, in);
            q8_exec_run(x, in, out);
            hits += q8_argmax(out, out_n) == lb->labels[i];
        }
        q8_exec_free(x);
        free(in);
        free(out);
    }
    *correct = hits;
    return failed ? -1 : 0;
}

int cmd_eval(int argc, char **argv)
{
    const char *frozen = NULL, *images = NULL, *labels = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--images") || !strcmp(a, "--labels")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "qatc eval: %s needs a value (qatc eval --help)\n", a);
                return 2;
            }
            if (!strcmp(a, "--images"))
                images = argv[++i];
            else
                labels = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "qatc eval: unknown option '%s' (qatc eval --help)\n", a);
            return 2;
        } else if (frozen) {
            fprintf(stderr, "qatc eval: one frozen model only, got '%s' and '%s'\n", frozen, a);
            return 2;
        } else {
            frozen = a;
        }
    }
    if (!frozen || !images || !labels) {
        fprintf(stderr, "qatc eval: needs FROZEN.yaml --images IDX --labels IDX "
                        "(qatc eval --help)\n");
        return 2;
    }

    qerr e = {{0}};
    q_model m;
    if (frozen_read(frozen, &m, &e)) {
        fprintf(stderr, "qatc eval: %s\n", e.msg);
        return 1;
    }
    idx_images im = {0};
    idx_labels lb = {0};
    int rc = 0;
    if (idx_read_images(images, &im, &e) || idx_read_labels(labels, &lb, &e))
        rc = -1;
    else if (im.h != m.in_shape.h || im.w != m.in_shape.w || im.c != m.in_shape.c)
        rc = qerr_set(&e, "%s: images are %dx%dx%d, the model takes %dx%dx%d", images,
                      (int)im.h, (int)im.w, (int)im.c, (int)m.in_shape.h, (int)m.in_shape.w,
                      (int)m.in_shape.c);
    else if (im.n != lb.n)
        rc = qerr_set(&e, "%s: %d labels for %d images in %s", labels, (int)lb.n, (int)im.n,
                      images);
    else if (im.n == 0)
        rc = qerr_set(&e, "%s: no images", images);
    /* as qatc train refuses them: a label the model cannot output */
    int32_t classes = q_shape_size(m.layers[m.n_layers - 1].out_shape);
    for (int32_t i = 0; !rc && i < lb.n; i++)
        if (lb.labels[i] >= classes)
            rc = qerr_set(&e, "%s: label %d of image %d is not below the model's %d classes",
                          labels, lb.labels[i], (int)i, (int)classes);
    long correct = 0;
    if (!rc)
        rc = count_correct(&m, &im, &lb, &correct, &e);
    if (rc) {
        fprintf(stderr, "qatc eval: %s\n", e.msg);
    } else {
        printf("model %s: %d images, %d outputs\n", m.name, (int)im.n,
               (int)q_shape_size(m.layers[m.n_layers - 1].out_shape));
        printf("top1 %ld/%d (%.2f%%)\n", correct, (int)im.n, 100.0 * (double)correct / im.n);
    }
    idx_images_free(&im);
    idx_labels_free(&lb);
    q_model_free(&m);
    return rc ? 1 : 0;
}
