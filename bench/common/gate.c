/*
 * gate.c: the start gate of bench_common.h. Reader threads set themselves up (a ring,
 * an untimed first read), arrive, and wait; the starter waits for all of them, notes
 * the start time and opens the gate, so no thread's setup is inside the measurement.
 */
#include "bench_common.h"

void bench_gate_arrive_and_wait(bench_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->ready_count++;
    pthread_cond_broadcast(&g->cond);
    while (!g->open) pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

void bench_gate_wait_ready(bench_gate *g, uint32_t count)
{
    pthread_mutex_lock(&g->lock);
    while (g->ready_count < count) pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

void bench_gate_open(bench_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}
