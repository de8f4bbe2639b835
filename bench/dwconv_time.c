/* dwconv_time — qatc's float depthwise training passes, one layer at a time, against
 * PyTorch's (bench/dwconv_time.py): the layer kind `make bench-speed` finds costliest on
 * KWS and VWW. For each shape: forward, input gradient and weight gradient (with the
 * bias gradient) of ly_dwconv2d (runtime/train/layers.c), the median of RUNS calls after
 * 3 untimed ones, in ms.
 *
 *   cc -O2 -fopenmp -Iruntime/train -Iruntime/common bench/dwconv_time.c \
 *       runtime/train/layers.c runtime/train/batchnorm.c runtime/train/convdirect.c \
 *       runtime/train/gemm.c runtime/common/qerr.c -lm -o build/dwconv_time
 *   build/dwconv_time [THREADS [RUNS]]; then bench/dwconv_time.py [THREADS [RUNS]]
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "layers.h"

/* batch, H, W, C (3x3, stride 1, pad 1): KWS's four depthwise layers, VWW's blocks 1, 3, 5 */
static const int shapes[][4] = {{64, 25, 5, 64}, {32, 48, 48, 8}, {32, 24, 24, 32}, {32, 12, 12, 64}};

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *filled(size_t n)
{
    float *p = malloc(n * sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return p;
}

int main(int argc, char **argv)
{
    gemm_spin_setup(argv);
    int threads = gemm_set_threads(argc > 1 ? atoi(argv[1]) : 2);
    int runs = argc > 2 ? atoi(argv[2]) : 50;
    double *t = malloc((size_t)runs * sizeof(double));
    printf("threads %d, median of %d calls, ms\n", threads, runs);
    printf("%-16s %8s %8s %8s\n", "B,H,W,C", "forward", "d_input", "d_weight");
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const int *d = shapes[k];
        ly_conv_shape s = ly_conv_shape_make(d[0], d[1], d[2], d[3], d[3], 3, 3, 1, 1, 1, 1);
        size_t n = (size_t)d[0] * d[1] * d[2] * d[3];
        float *x = filled(n), *y = filled(n), *dy = filled(n), *dx = filled(n);
        float *w = filled(9 * (size_t)d[3]), *b = filled((size_t)d[3]);
        float *dw = filled(9 * (size_t)d[3]), *db = filled((size_t)d[3]);
        double ms[3];
        for (int pass = 0; pass < 3; pass++) {
            for (int r = -3; r < runs; r++) {
                double t0 = omp_get_wtime();
                if (pass == 0)
                    ly_dwconv2d_forward(y, x, w, b, &s);
                else if (pass == 1)
                    ly_dwconv2d_backward(dx, NULL, NULL, dy, x, w, &s);
                else
                    ly_dwconv2d_backward(NULL, dw, db, dy, x, w, &s);
                if (r >= 0)
                    t[r] = omp_get_wtime() - t0;
            }
            qsort(t, (size_t)runs, sizeof *t, cmp);
            ms[pass] = 1e3 * t[runs / 2];
        }
        char name[32];
        snprintf(name, sizeof name, "%d,%d,%d,%d", d[0], d[1], d[2], d[3]);
        printf("%-16s %8.3f %8.3f %8.3f\n", name, ms[0], ms[1], ms[2]);
        free(x), free(y), free(dy), free(dx), free(w), free(b), free(dw), free(db);
    }
    free(t);
    return 0;
}
