/*
 * common_counter_test.c: the striped counters (common/counter.c). One thread's bumps add
 * up exactly; 8 threads bumping at once lose nothing (TSan runs this); with more live
 * threads than stripes, the threads whose stripe is taken fall back to the shared word
 * and still lose nothing; the stripes are cache-line aligned.
 */
#include "testutil.h"

#include <pthread.h>

typedef struct bump_arg {
    common_counter *counter;
    uint64_t bumps;
    pthread_barrier_t *ready; /* all threads alive at once before any bumps */
} bump_arg;

static void *bump(void *p)
{
    bump_arg *a = p;
    if (a->ready != NULL) pthread_barrier_wait(a->ready);
    for (uint64_t i = 0; i < a->bumps; i++) common_counter_add(a->counter, i % 3 == 0 ? 2 : 1);
    if (a->ready != NULL) pthread_barrier_wait(a->ready); /* nobody exits early */
    return NULL;
}

/* What bump() adds for bumps calls. */
static uint64_t bumped(uint64_t bumps)
{
    return bumps + (bumps + 2) / 3;
}

static void run_threads(common_counter *c, uint32_t threads, uint64_t bumps)
{
    pthread_t tids[100];
    bump_arg args[100];
    pthread_barrier_t ready;
    assert_true(threads <= 100);
    pthread_barrier_init(&ready, NULL, threads);
    for (uint32_t t = 0; t < threads; t++) {
        args[t] = (bump_arg){c, bumps, &ready};
        assert_int_equal(pthread_create(&tids[t], NULL, bump, &args[t]), 0);
    }
    for (uint32_t t = 0; t < threads; t++) pthread_join(tids[t], NULL);
    pthread_barrier_destroy(&ready);
}

static void test_one_thread_exact(void **state)
{
    (void)state;
    common_counter *c = common_counter_new();
    assert_non_null(c);
    assert_true((uintptr_t)c % 64 == 0);
    assert_int_equal(common_counter_sum(c), 0);
    common_counter_add(c, 5);
    common_counter_add(c, 0);
    bump_arg a = {c, 1000, NULL};
    bump(&a);
    assert_int_equal(common_counter_sum(c), 5 + bumped(1000));
    free(c);
}

static void test_threads_lose_nothing(void **state)
{
    (void)state;
    common_counter *c = common_counter_new();
    assert_non_null(c);
    run_threads(c, 8, 200000);
    assert_int_equal(common_counter_sum(c), 8 * bumped(200000));
    free(c);
}

/* 90 live threads share 64 stripes: some go through the shared word, none is lost. */
static void test_more_threads_than_stripes(void **state)
{
    (void)state;
    common_counter *c = common_counter_new();
    assert_non_null(c);
    run_threads(c, 90, 2000);
    assert_int_equal(common_counter_sum(c), 90 * bumped(2000));
    assert_true(atomic_load(&c->shared) > 0);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_thread_exact),
        cmocka_unit_test(test_threads_lose_nothing),
        cmocka_unit_test(test_more_threads_than_stripes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
