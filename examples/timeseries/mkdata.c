/* mkdata.c — a SYNTHETIC accelerometer data set for the time-series example.
 *
 * Nothing here was recorded by a sensor: every window is drawn from a small
 * physical caricature of a 3-axis accelerometer worn on the wrist, sampled at
 * 50 Hz, in units of g. A window is 128 samples (2.56 s, as the UCI HAR
 * windows) of (x, y, z). Four classes:
 *
 *   0 still  gravity along the device's orientation, a slow drift, noise
 *   1 walk   + a step rhythm of 1.4–2.3 Hz, 0.12–0.55 g, with its second
 *            harmonic and a sway at half the step rate
 *   2 run    + 2.1–3.3 Hz, 0.45–1.3 g, peaked (impacts) rather than round
 *   3 fall   still in one orientation, a 2–4 g impact of 3–8 samples at a
 *            random time, then still in another orientation (lying)
 *
 * The walk and run ranges overlap (in rate and in strength) on purpose, so the
 * task is not trivial. Every window gets its own random orientation, phase,
 * noise level (0.02–0.08 g) and sensor offset (±0.05 g per axis).
 *
 * Usage: mkdata DIR — writes DIR/{train,test}_{x,y}.npy: x float32
 * (N, 128, 3), y int64 (N,) class numbers (NumPy's default integer type);
 * 4000 training and 1000 test windows, classes in equal shares, shuffled.
 * And DIR/samples.c, samples.h: the first SAMPLE_COUNT test windows as the
 * model's int8 input, for the firmware (main.c).
 * The generator is seeded: the same files every time (up to the last bit
 * of libm's sin, on another C library). The host may use floating point:
 * this program is not part of the model.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T 128         /* samples per window */
#define C 3           /* axes */
#define RATE 50.0     /* Hz */
#define N_CLASSES 4
#define PI 3.14159265358979323846

/* ---- a small seeded generator (splitmix64) ---------------------------------- */
static uint64_t rng_state;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi) */
static double uniform(double lo, double hi)
{
    return lo + (hi - lo) * (double)(next_u64() >> 11) / 9007199254740992.0;
}

/* standard normal (Box–Muller) */
static double normal(void)
{
    double u = uniform(1e-12, 1.0), v = uniform(0.0, 1.0);
    return sqrt(-2.0 * log(u)) * cos(2.0 * PI * v);
}

/* A random unit vector: the direction of gravity in the device's frame. */
static void orientation(double g[C])
{
    double n = 0.0;
    for (int a = 0; a < C; a++) {
        g[a] = normal();
        n += g[a] * g[a];
    }
    n = sqrt(n);
    for (int a = 0; a < C; a++)
        g[a] /= n;
}

/* One window of class cls into x (T, C). */
static void window(float *x, int cls)
{
    double g[C], g2[C], off[C], drift[C];
    orientation(g);
    orientation(g2);
    double noise = uniform(0.03, 0.15);
    for (int a = 0; a < C; a++) {
        off[a] = uniform(-0.05, 0.05);
        drift[a] = uniform(-0.1, 0.1); /* g over the window: the arm turning slowly */
    }
    /* the step rhythm: rate f (Hz), strength amp (g), its axis in the device frame */
    double f = 0.0, amp = 0.0, sharp = 1.0, ax[C], side[C];
    if (cls == 1)
        f = uniform(1.4, 2.5), amp = uniform(0.1, 0.7), sharp = uniform(1.0, 2.0);
    if (cls == 2)
        f = uniform(2.0, 3.3), amp = uniform(0.35, 1.3), sharp = uniform(1.5, 4.0);
    orientation(ax);
    orientation(side);
    double ph = uniform(0.0, 2.0 * PI), ph2 = uniform(0.0, 2.0 * PI);
    /* the fall: when, how hard, how long */
    int t0 = (int)uniform(24.0, 100.0), len = (int)uniform(3.0, 9.0);
    double hit = uniform(1.0, 3.5);
    double hit_dir[C];
    orientation(hit_dir);
    double gest = uniform(0.0, 0.3), gf = uniform(0.2, 1.2), gph = uniform(0.0, 2.0 * PI), gax[C];
    orientation(gax);
    for (int t = 0; t < T; t++) {
        double s = (double)t / RATE, v[C];
        const double *grav = (cls == 3 && t >= t0 + len) ? g2 : g;
        for (int a = 0; a < C; a++)
            v[a] = grav[a] + drift[a] * (double)t / T + off[a] + noise * normal();
        /* the arm moving on its own, in every class: slow and weak */
        for (int a = 0; a < C; a++)
            v[a] += gest * sin(2.0 * PI * gf * s + gph) * gax[a];
        if (cls == 1 || cls == 2) {
            double c = cos(2.0 * PI * f * s + ph);
            /* peaked: |c|^sharp keeps the sign, so the impacts are short */
            double step = copysign(pow(fabs(c), sharp), c) +
                          0.3 * cos(4.0 * PI * f * s + ph2);
            double sway = 0.25 * sin(PI * f * s + ph2);
            for (int a = 0; a < C; a++)
                v[a] += amp * (step * ax[a] + sway * side[a]);
        }
        if (cls == 3 && t >= t0 && t < t0 + len) {
            double shape = sin(PI * (t - t0 + 0.5) / len); /* one arch */
            for (int a = 0; a < C; a++)
                v[a] += hit * shape * hit_dir[a];
        }
        for (int a = 0; a < C; a++)
            x[t * C + a] = (float)v[a];
    }
}

/* ---- .npy writing (format 1.0, little-endian, C order) ---------------------- */

/* Writes the 10-byte preamble and the header dict, padded with spaces to a
 * multiple of 64 bytes and ended with '\n', as NumPy writes it. */
static int npy_header(FILE *f, const char *descr, const char *shape)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    unsigned hlen = (unsigned)(n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 255), (unsigned char)(hlen >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)n, f) != (size_t)n)
        return -1;
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    return fputc('\n', f) == EOF ? -1 : 0;
}

static int little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void save(const char *dir, const char *name, int n, const float *x, const int64_t *y)
{
    char path[1024], shape[64];
    snprintf(path, sizeof path, "%s/%s_x.npy", dir, name);
    FILE *f = fopen(path, "wb");
    snprintf(shape, sizeof shape, "(%d, %d, %d)", n, T, C);
    if (!f || npy_header(f, "<f4", shape) ||
        fwrite(x, sizeof(float), (size_t)n * T * C, f) != (size_t)n * T * C || fclose(f)) {
        fprintf(stderr, "mkdata: cannot write %s\n", path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s_y.npy", dir, name);
    f = fopen(path, "wb");
    snprintf(shape, sizeof shape, "(%d,)", n);
    if (!f || npy_header(f, "<i8", shape) || fwrite(y, sizeof(int64_t), (size_t)n, f) != (size_t)n ||
        fclose(f)) {
        fprintf(stderr, "mkdata: cannot write %s\n", path);
        exit(1);
    }
    printf("mkdata: %s/%s_{x,y}.npy: %d windows of %dx%d (synthetic)\n", dir, name, n, T, C);
}

/* The int8 input of a window, as qatc quantizes float inputs with the
 * config's input scale (1/32 g) and zero-point (0): q = round(x / scale) + zp,
 * half away from zero, clamped to [-128, 127]. (x · 32 is exact in float.) */
static int8_t quantize(float x)
{
    double q = round((double)x * 32.0); /* round() is half away from zero */
    return (int8_t)(q > 127 ? 127 : q < -128 ? -128 : q);
}

#define SAMPLE_COUNT 8

/* DIR/samples.c and samples.h: windows 0..SAMPLE_COUNT-1 of the test set. */
static void save_sample(const char *dir, const float *x, const int64_t *y)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/samples.h", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "mkdata: cannot write %s\n", path);
        exit(1);
    }
    fprintf(f, "/* Written by examples/timeseries/mkdata.c: the first %d windows of the\n"
               " * SYNTHETIC test set as the model's int8 input (1 x %d x %d, q = x · 32). */\n"
               "#ifndef SAMPLES_H\n#define SAMPLES_H\n#include <stdint.h>\n"
               "#define SAMPLE_COUNT %d\n#define SAMPLE_SIZE %d\n"
               "extern const int8_t sample_input[SAMPLE_COUNT][SAMPLE_SIZE];\n"
               "extern const uint8_t sample_label[SAMPLE_COUNT];\n#endif\n",
            SAMPLE_COUNT, T, C, SAMPLE_COUNT, T * C);
    if (fclose(f)) {
        fprintf(stderr, "mkdata: cannot write %s\n", path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/samples.c", dir);
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "mkdata: cannot write %s\n", path);
        exit(1);
    }
    fprintf(f, "/* Written by examples/timeseries/mkdata.c (synthetic data). */\n"
               "#include \"samples.h\"\n\nconst int8_t sample_input[SAMPLE_COUNT][SAMPLE_SIZE] = {\n");
    for (int n = 0; n < SAMPLE_COUNT; n++) {
        fprintf(f, "    {");
        for (int i = 0; i < T * C; i++)
            fprintf(f, "%s%d", i ? (i % 24 ? ", " : ",\n     ") : "",
                    quantize(x[(size_t)n * T * C + (size_t)i]));
        fprintf(f, "},\n");
    }
    fprintf(f, "};\n\nconst uint8_t sample_label[SAMPLE_COUNT] = {");
    for (int n = 0; n < SAMPLE_COUNT; n++)
        fprintf(f, "%s%d", n ? ", " : "", (int)y[n]);
    if (fprintf(f, "};\n") < 0 || fclose(f)) {
        fprintf(stderr, "mkdata: cannot write %s\n", path);
        exit(1);
    }
}

/* n windows, classes in turn, then shuffled (Fisher–Yates). */
static void make_set(const char *dir, const char *name, int n)
{
    float *x = malloc((size_t)n * T * C * sizeof(float));
    int64_t *y = malloc((size_t)n * sizeof(int64_t));
    int *order = malloc((size_t)n * sizeof(int));
    float *w = malloc((size_t)T * C * sizeof(float));
    if (!x || !y || !order || !w) {
        fprintf(stderr, "mkdata: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(next_u64() % (uint64_t)(i + 1)), k = order[i];
        order[i] = order[j], order[j] = k;
    }
    for (int i = 0; i < n; i++) {
        int cls = i % N_CLASSES;
        window(w, cls);
        memcpy(x + (size_t)order[i] * T * C, w, (size_t)T * C * sizeof(float));
        y[order[i]] = cls;
    }
    save(dir, name, n, x, y);
    if (!strcmp(name, "test"))
        save_sample(dir, x, y);
    free(x);
    free(y);
    free(order);
    free(w);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkdata DIR\n");
        return 2;
    }
    if (!little_endian()) {
        fprintf(stderr, "mkdata: writes little-endian .npy files on little-endian hosts only\n");
        return 1;
    }
    rng_state = 20261202;
    make_set(argv[1], "train", 4000);
    make_set(argv[1], "test", 1000);
    return 0;
}
