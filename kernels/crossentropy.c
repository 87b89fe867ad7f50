#include "kernels/crossentropy.h"
#include <math.h>

double crossentropy_forward_backward(float *losses, float *dlogits, const float *logits,
                                     const int32_t *targets, int N, int V, float dloss) {
    double total = 0;
#pragma omp parallel for reduction(+ : total)
    for (int n = 0; n < N; n++) {
        const float *row = logits + (long)n * V;
        float max = row[0];
        for (int i = 1; i < V; i++) max = row[i] > max ? row[i] : max;
        double sum = 0;
        for (int i = 0; i < V; i++) sum += expf(row[i] - max);
        float log_sum = (float)log(sum) + max;
        float loss = log_sum - row[targets[n]];
        if (losses) losses[n] = loss;
        total += loss;
        if (dlogits) {
            float *d = dlogits + (long)n * V;
            for (int i = 0; i < V; i++) d[i] = expf(row[i] - log_sum) * dloss;
            d[targets[n]] -= dloss;
        }
    }
    return total / N;
}

void log_softmax(float *out, const float *logits, int V) {
    float max = logits[0];
    for (int i = 1; i < V; i++) max = logits[i] > max ? logits[i] : max;
    double sum = 0;
    for (int i = 0; i < V; i++) sum += expf(logits[i] - max);
    float log_sum = (float)log(sum) + max;
    for (int i = 0; i < V; i++) out[i] = logits[i] - log_sum;
}
