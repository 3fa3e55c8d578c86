/*
 * counter.c: counters that many threads bump on hot paths (cache hits, lookups) without
 * a locked instruction each time. A counter is COMMON_COUNTER_STRIPES cache lines; a
 * thread's stripe is chosen by its thread number, and the first thread to use a stripe
 * owns it for the counter's life: only the owner writes it, so its bump is a plain load
 * and store (relaxed atomics: no lock prefix, no lost update). A thread whose stripe is
 * owned by another bumps the shared word with fetch_add instead. A reader sums the
 * words; the sum is exact once the bumps it should see have happened before the read.
 *
 * Entry points: common_counter_new, common_counter_add (inline in common.h; its slow path
 * is common_counter_add_slow), common_counter_sum, common_thread_number_get.
 */
#include "common.h"

#include <stdlib.h>

static _Atomic uint64_t thread_number_next = 1;
_Thread_local uint64_t common_thread_number;

uint64_t common_thread_number_get(void)
{
    if (COMMON_UNLIKELY(common_thread_number == 0)) {
        common_thread_number = atomic_fetch_add_explicit(&thread_number_next, 1, memory_order_relaxed);
    }
    return common_thread_number;
}

common_counter *common_counter_new(void)
{
    common_counter *c = NULL;
    if (posix_memalign((void **)&c, _Alignof(common_counter), sizeof(*c)) != 0) return NULL;
    for (uint32_t i = 0; i < COMMON_COUNTER_STRIPES; i++) {
        atomic_init(&c->stripes[i].value, 0);
        atomic_init(&c->stripes[i].owner, 0);
    }
    atomic_init(&c->shared, 0);
    return c;
}

/* common_counter_add's path when the stripe is not yet known to be the caller's. */
void common_counter_add_slow(common_counter *c, uint64_t n, uint64_t me)
{
    common_counter_stripe *s = &c->stripes[me % COMMON_COUNTER_STRIPES];
    uint64_t owner = atomic_load_explicit(&s->owner, memory_order_relaxed);
    if (COMMON_UNLIKELY(owner == 0) &&
        atomic_compare_exchange_strong_explicit(&s->owner, &owner, me, memory_order_relaxed,
                                                memory_order_relaxed)) {
        owner = me;
    }
    if (COMMON_LIKELY(owner == me)) {
        uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
        atomic_store_explicit(&s->value, v + n, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&c->shared, n, memory_order_relaxed);
    }
}

uint64_t common_counter_sum(const common_counter *c)
{
    uint64_t sum = atomic_load_explicit(&c->shared, memory_order_relaxed);
    for (uint32_t i = 0; i < COMMON_COUNTER_STRIPES; i++) {
        sum += atomic_load_explicit(&c->stripes[i].value, memory_order_relaxed);
    }
    return sum;
}
