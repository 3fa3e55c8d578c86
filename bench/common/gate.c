/*
 * gate.c: the start gate of bench_common.h. Reader threads set themselves up (a ring,
 * an untimed first read), arrive, and wait; the starter waits for all of them, notes
 * the start time and opens the gate, so no thread's setup is inside the measurement.
 * bench_threads_run() does the whole dance for a program's measured threads.
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

int bench_threads_run(void *contexts, size_t context_size, uint32_t count, void *(*fn)(void *),
                      uint64_t run_ns, void (*opened)(void *), void *arg, uint32_t *created_out)
{
    bench_gate start = BENCH_GATE_INIT;
    _Atomic bool stop = false;
    uint32_t created = 0;
    int err = 0;
    for (; created < count; created++) {
        bench_thread *t = (bench_thread *)((char *)contexts + (size_t)created * context_size);
        t->start = &start;
        t->stop = &stop;
        err = pthread_create(&t->thread, NULL, fn, t);
        if (err != 0) break;
    }
    bench_gate_wait_ready(&start, created);
    opened(arg);
    bench_gate_open(&start);
    if (err == 0) bench_sleep_ns(run_ns);
    atomic_store(&stop, true);
    for (uint32_t i = 0; i < created; i++) {
        pthread_join(((bench_thread *)((char *)contexts + (size_t)i * context_size))->thread, NULL);
    }
    *created_out = created;
    return err;
}
