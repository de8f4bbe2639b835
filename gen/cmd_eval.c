/* qatc eval — the int8 model's metric on a data set with the reference
 * kernels (q8_exec): the numbers the generated C gives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dataset.h"
#include "frozen_io.h"
#include "metric.h"
#include "qmodel.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: qatc eval FROZEN.yaml --inputs FILE [--labels FILE] [--metric M]\n"
               "\n"
               "Runs every input through the int8 reference kernels (what the generated C\n"
               "computes, bit for bit) and prints the metric M; the last line reads\n"
               "  top1 CORRECT/TOTAL (PERCENT%%)   M = top1 (the default): --labels holds\n"
               "                                  class numbers; the prediction is the\n"
               "                                  lowest index among equal maximal outputs\n"
               "  mse X    M = mse: the mean over inputs and output elements of\n"
               "           (s_out * (q - zp_out) - t)^2, t the float targets of --labels\n"
               "           (a .npy of f4), or without --labels the input itself (an\n"
               "           autoencoder: its real value s_in * (q - zp_in))\n"
               "  auc X    M = auc: the ROC AUC of each input's mse against itself as the\n"
               "           anomaly score; --labels holds 1 = anomaly, 0 = normal\n"
               "\n"
               "  --inputs FILE  the inputs: IDX images (N, H, W[, C]) uint8, or a .npy\n"
               "                 array of u1 (pixels), i1 (int8 inputs as they are) or f4\n"
               "                 (real values, quantized with the model's input scale and\n"
               "                 zero-point), shaped N x H x W x C, N x T x C or N x F;\n"
               "                 plain or gzip'd (--images is the same option)\n"
               "  --labels FILE  IDX labels or a .npy of integers (top1, auc), or a .npy of\n"
               "                 f4 targets of the output's shape (mse)\n"
               "  --metric M     top1, mse or auc (the frozen model does not record how it\n"
               "                 was trained: say it here)\n");
}

int cmd_eval(int argc, char **argv)
{
    const char *frozen = NULL, *inputs = NULL, *labels = NULL, *metric = "top1";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--inputs") || !strcmp(a, "--images") || !strcmp(a, "--labels") ||
            !strcmp(a, "--metric")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "qatc eval: %s needs a value (qatc eval --help)\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--labels"))
                labels = v;
            else if (!strcmp(a, "--metric"))
                metric = v;
            else if (inputs) {
                fprintf(stderr, "qatc eval: one of --inputs and --images, once\n");
                return 2;
            } else
                inputs = v;
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
    int k = -1;
    for (int m = 0; metric_names[m]; m++)
        if (!strcmp(metric, metric_names[m]))
            k = m;
    if (k < 0) {
        fprintf(stderr, "qatc eval: --metric: '%s' is not one of top1, mse, auc\n", metric);
        return 2;
    }
    if (!frozen || !inputs || (!labels && k != METRIC_MSE)) {
        fprintf(stderr, "qatc eval: needs FROZEN.yaml --inputs FILE%s (qatc eval --help)\n",
                k == METRIC_MSE ? "" : " --labels FILE");
        return 2;
    }

    qerr e = {{0}};
    q_model m;
    if (frozen_read(frozen, &m, &e)) {
        fprintf(stderr, "qatc eval: %s\n", e.msg);
        return 1;
    }
    q_shape out = m.layers[m.n_layers - 1].out_shape;
    dataset_input in = {m.in_shape.h, m.in_shape.w, m.in_shape.c, m.in_q.scale,
                        m.in_q.zero_point};
    dataset_want want = {DATASET_NONE, 0, 0, 0, 0};
    if (k == METRIC_TOP1)
        want = (dataset_want){DATASET_CLASSES, out.c, 0, 0, 0};
    else if (k == METRIC_AUC)
        want = (dataset_want){DATASET_CLASSES, 2, 0, 0, 0};
    else if (labels)
        want = (dataset_want){DATASET_TARGETS, 0, out.h, out.w, out.c};
    dataset ds = {0};
    double value = 0;
    int64_t correct = 0;
    int rc = metric_check_model(&m, (metric_kind)k, labels != NULL, &e) ||
             dataset_load_as(&ds, inputs, labels, in, want, &e) ||
             metric_int8(&m, &ds, (metric_kind)k, NULL, NULL, &correct, &value, &e);
    if (rc) {
        fprintf(stderr, "qatc eval: %s\n", e.msg);
    } else {
        printf("model %s: %d inputs, %d outputs\n", m.name, (int)ds.n, (int)q_shape_size(out));
        char v[48];
        if (k == METRIC_TOP1)
            printf("top1 %lld/%d (%.2f%%)\n", (long long)correct, (int)ds.n, 100.0 * value);
        else
            printf("%s %s\n", metric_names[k], metric_format((metric_kind)k, value, v, sizeof v));
    }
    dataset_free(&ds);
    q_model_free(&m);
    return rc ? 1 : 0;
}
