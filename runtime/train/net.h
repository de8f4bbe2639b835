/* net — the training network built from a cfg_config's layer list.
 *
 * Tensors are numbered as in the int8 model (qmodel.h): tensor 0 is the
 * input, tensor i+1 the output of layer i, all NHWC float for a batch of up
 * to batch_cap images. A layer reads any earlier tensor (its input: the
 * previous layer's output unless the config's `from` names another; an add
 * also reads `with`'s); a tensor read by several layers gets the sum of their
 * gradients, and one read by none (never the last) a zero gradient. Memory comes in single allocations cut into named
 * tensors by *_point() functions (llm.c): parameters, their gradients, the
 * non-trained state (BN running statistics, weight scales), activations with
 * their gradients, masks, and scratch. Nothing allocates after net_build.
 *
 * Two modes over the same parameters:
 *
 * Float (pretraining): conv → BN (batch statistics in training, running in
 * eval) → act, no quantization anywhere.
 *
 * QAT (PyTorch eager mode, torch.ao.nn.intrinsic.qat ConvBnReLU2d, the
 * one-pass "_forward_approximate"): for a conv/dwconv/linear with BN (a
 * linear layer's BN normalises each feature over the batch, as BatchNorm1d)
 *   sf[c]  = gamma[c] / sqrt(running_var[c] + eps)     (running stats before this batch)
 *   wq     = fq_w(w · sf)                              (fake-quantized BN-folded weight)
 *   z      = conv(x, wq) / sf                          (rescaled back: BN sees a conv output)
 *   u      = BN(z)  batch statistics, or running statistics once BN is frozen
 *   out    = fq_a(act(u))                              (output observer + fake quant)
 * With running statistics this is exactly conv(x, wq) + (beta − mean·sf): the
 * int8 layer with a float bias, which convert turns into int32. A training
 * forward of a single row per channel (a linear layer's batch of one) has
 * no batch variance: BN then uses its running statistics.
 * Conv/linear without BN: out = fq_a(act(conv(x, fq_w(w)) + bias)).
 * Fake quantizers sit exactly where the int8 model requantizes: every
 * conv/dwconv/linear output after its fused activation and every add output.
 * Max pool and flatten keep their input's grid, so they have none; so does
 * average pooling, which in int8 divides on its input's grid (TFLite's rule:
 * the sum of the window's int8 values over its count, rounded half away from
 * zero): with activation fake quantization on, its forward computes exactly
 * that (ly_avgpool_grid_forward), its backward is the float mean's (STE). The input needs none: the dataset's float input is already the
 * exact real value of the int8 input.
 * Switches (cfg_config fake_quant_weights / fake_quant_acts, or
 * net_set_fake_quant, and per layer net_set_layer_fake_quant): with weight or
 * activation fake quantization off, the observers still run (convert needs
 * them) but values pass unrounded.
 *
 * Weight widths: each weighted layer has its own (weight_bits 8 or 4, range
 * [-w_qmax, w_qmax] = [-127, 127] or [-7, 7]); observers and fake quantizers
 * of its weights use it.
 *
 * Backward follows the forward exactly (autograd of the expressions above,
 * STE for the fake quantizers), so gamma also receives the gradient through
 * sf, as in PyTorch.
 *
 * Softmax (only as the last layer) is an op of the int8 model, for the
 * firmware's sake; training leaves it out of the loss: cross-entropy reads
 * the class scores before it (net.logits), as PyTorch's CrossEntropyLoss
 * reads logits, so the gradients are those of the model without it. Its
 * forward still computes the probabilities (the output), fake-quantized in
 * QAT to the int8 softmax's fixed grid (scale 1/256, zero-point −128); the
 * top-1 of the probabilities is the top-1 of the scores except where two
 * probabilities fall on one step of that grid, where the lowest index wins,
 * as in int8.
 */
#ifndef QATC_NET_H
#define QATC_NET_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "layers.h"
#include "observer.h"
#include "qerr.h"
#include "rng.h"

#define NET_BN_EPS 1e-5f
#define NET_BN_MOMENTUM 0.1f
#define NET_MAX_TENSORS (CFG_MAX_LAYERS + 1)

typedef struct {
    q_op op;
    q_act act;
    int bn;                  /* conv/dwconv/linear followed by batch norm */
    int input, input2;       /* tensor indices; input2 only for add (else -1) */
    q_shape in_shape, out_shape; /* one image */
    q_window win;            /* conv, dwconv, pools (resolved); zero for the other ops */
    int32_t out_c;           /* output channels of weighted layers */
    int64_t n_w;             /* weight count (0 for ops without weights) */
    int32_t n_wscale;        /* weight scales: out_c (per channel) or 1 */
    int64_t w_per_ch, w_ch_stride, w_el_stride; /* weight layout per output channel */
    int weight_bits;         /* weighted layers: 8 or 4 (net_set_weight_bits); else 0 */
    int32_t w_qmax;          /* q_weight_max(weight_bits): 127 or 7 */
    int fq_w, fq_a;          /* this layer's own fake-quantization switches (1 = as the
                                net's; net_set_layer_fake_quant) */

    /* parameters and their gradients (views into net.params / net.grads) */
    float *w;                /* conv (OC,KH,KW,IC); dwconv (KH,KW,C·M); linear (OUT,IN) */
    float *bias;             /* (OC), only without BN */
    float *gamma, *beta;     /* (OC), only with BN */
    float *dw, *dbias, *dgamma, *dbeta;

    /* non-trained state (view into net.state; saved in checkpoints) */
    float *running_mean, *running_var; /* (OC), only with BN */
    float *w_scale;          /* (n_wscale): the weight scales (frozen once observers stop) */

    /* activations of the last forward (views into net.acts / net.masks) */
    float *z;                /* (B,OH,OW,OC) conv output before BN (divided by sf in QAT) */
    float *bn_mean, *bn_rstd;/* (OC) batch statistics of the last training forward */
    float *sf, *rstd_run;    /* (OC) QAT fold factor and 1/sqrt(running_var+eps) used */
    float *inv_sf;           /* (OC) 1 / sf */
    float *wq;               /* (n_w) the weights the forward used in QAT (folded, fake-quantized) */
    uint8_t *wmask;          /* (n_w) STE mask of wq */
    uint8_t *mask;           /* (B,OH,OW,OC) STE mask of the output ∧ activation mask */
    int bn_batch_stats;      /* the last forward normalised with batch statistics */

    obs_act obs;             /* output observer (layers with a fake quantizer) */
} net_layer;

typedef struct {
    int n_layers;
    net_layer layers[CFG_MAX_LAYERS];
    int batch_cap;
    int n_classes;            /* elements of one output: the class count, or for
                                 loss: mse the size of the output tensor */
    int logits;               /* the tensor the loss reads: the last one, or the input of
                                 a final softmax (the class scores before it; only with
                                 cross-entropy) */
    q_shape in_shape;
    q_quant in_q;
    int per_channel;
    cfg_init init;            /* how net_init draws weights */

    q_shape tshape[NET_MAX_TENSORS];  /* per image */
    float *t[NET_MAX_TENSORS];        /* (batch_cap, h, w, c) */
    float *dt[NET_MAX_TENSORS];       /* gradients; NULL for the input */

    /* the single allocations */
    float *params, *grads;
    size_t n_params;
    float *state;
    size_t n_state;
    float *acts;
    size_t n_acts;
    uint8_t *masks;
    size_t n_masks;
    float *scratch;            /* im2col, dz, weight-gradient scratch (n_scratch floats) */
    size_t n_scratch;
    float *col, *dz, *dwq;     /* views into scratch */
    double *dsf;               /* (max out_c) scratch: gradient of the BN fold factors */

    /* mode */
    int qat;                   /* 0: float, 1: QAT */
    int fq_weights, fq_acts;   /* fake quantization switches (QAT only) */
    int observers;             /* observers update (acts) and weight scales follow the weights */
    int bn_frozen;             /* QAT: BN uses running statistics in training too */
    int training;              /* the last forward was a training forward */
    int last_b;                /* batch size of the last forward */
} net;

/* Builds the network for c (shapes, views, one allocation per kind) for
 * batches of up to batch_cap images and n_classes outputs of the last layer
 * (checked). Parameters are not initialised (see net_init). Returns 0, or -1
 * with e set (shape problems, out of memory); on failure n is zeroed. */
int net_build(net *n, const cfg_config *c, int batch_cap, qerr *e);

/* Releases everything n owns and zeroes it. Safe on a zeroed net. */
void net_free(net *n);

/* Fresh parameters, drawn from r in layer order (c->init of net_build): with
 * CFG_INIT_PYTORCH each layer's weights, then (without BN) its biases,
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch's nn.Conv2d and nn.Linear;
 * with CFG_INIT_HE He-normal weights and zero biases. BN beta 0, gamma 1,
 * running mean 0, running var 1, weight scales 1, observers reset and
 * enabled; float mode. */
void net_init(net *n, rng_state *r);

/* The input tensor to fill before a forward: (batch_cap, H, W, C). */
float *net_input(net *n);

/* Switches to QAT (observers reset and enabled, BN not frozen) or back to float. */
void net_set_qat(net *n, int qat);
void net_set_fake_quant(net *n, int weights, int acts);

/* Layer l's own switches: its weights are fake-quantized when both the net's
 * switch and `weights` are on, its output when both the net's and `acts` are
 * (attribution: one layer quantized alone). net_build sets every layer's to 1. */
void net_set_layer_fake_quant(net *n, int l, int weights, int acts);

/* The width of weighted layer l's weights, 8 or 4 (net_build takes the
 * config's: the layer's weight_bits, else quantization.weight.bits). With
 * the observers on the next forward derives the scales for the new width;
 * with them off the frozen scales are rescaled by old qmax / new qmax (they
 * keep covering the same max|w|). */
void net_set_weight_bits(net *n, int l, int bits);
void net_set_observers(net *n, int on);   /* enable/disable every observer */
void net_set_bn_frozen(net *n, int frozen);

/* Resets every activation observer to "no data" (enabled state kept). */
void net_reset_observers(net *n);

/* Forward of b images from net_input. training = 1: BN batch statistics
 * (unless frozen), running statistics and observers updated; training = 0:
 * running statistics, nothing updated (an evaluation). Returns the model's
 * output (b, n_classes), a view of the last tensor: the class scores, or,
 * after a final softmax, the probabilities (in QAT with activation fake
 * quantization on, on the int8 output's grid of 1/256, so that their top-1,
 * ties to the lowest index, is the int8 model's). In QAT mode every activation
 * observer that a fake quantizer needs must have data (observers enabled in
 * training gives that); an observer without data leaves its values
 * unquantized. */
const float *net_forward(net *n, int b, int training);

/* Softmax cross-entropy of the last forward against labels (b), on the
 * class scores (net.logits: before a final softmax layer, which training
 * treats as the identity), and, when
 * backward is set, the whole backward pass: activation gradients are zeroed,
 * parameter gradients ACCUMULATE (call net_zero_grad once per step).
 * Requires a training forward. Returns the mean loss. */
float net_loss_backward(net *n, const int32_t *labels, int backward);

/* The same with the mean squared error against targets (b, n_classes floats:
 * the shape of the last tensor; ly_mse), for loss: mse. targets may be the
 * input tensor (net_input: an autoencoder's target is its input). The model
 * has no final softmax (the config refuses softmax with mse). */
float net_mse_backward(net *n, const float *targets, int backward);

void net_zero_grad(net *n);

/* Layers whose activation observer saw no data (QAT): the index of the first,
 * or -1 when every needed observer has data. */
int net_first_unobserved(const net *n);

/* 1 when layer l has an output fake quantizer (and so an observer). */
int net_layer_has_fq(const net_layer *L);

/* The scale and zero-point of tensor t as the int8 model will have them
 * (input: the config's; maxpool, avgpool, flatten: their input's; else the
 * observer's).
 * Returns 0, or -1 when an observer behind it has no data. */
int net_tensor_quant(const net *n, int t, float *scale, int32_t *zero_point);

/* Computes, for weighted layer l, what QAT uses and convert stores: the fold
 * factors (sf, rstd_run), the weight scales (recomputed from the folded
 * weights while observers are on, else the frozen ones) and the fake-quantized
 * weights wq with their mask. */
void net_weight_quant(net *n, net_layer *L);

#endif
