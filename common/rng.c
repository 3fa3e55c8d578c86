/*
 * rng.c: a deterministic PRNG and a monotonic clock. splitmix64 expands the seed,
 * xoshiro256** draws (Blackman & Vigna). Every randomized test, the fault backend and
 * the crash driver take their randomness from here so that a printed seed replays.
 */
#include "common.h"

#include <time.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void common_rng_seed(common_rng *rng, uint64_t seed)
{
    ALEXDB_ASSERT(rng != NULL);
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

uint64_t common_rng_next(common_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t common_rng_below(common_rng *rng, uint64_t bound)
{
    ALEXDB_ASSERT(bound > 0);
    /* Lemire's multiply-shift with rejection: unbiased for every bound. */
    for (;;) {
        uint64_t x = common_rng_next(rng);
        __uint128_t m = (__uint128_t)x * bound;
        uint64_t low = (uint64_t)m;
        if (low >= bound || low >= (0 - bound) % bound) return (uint64_t)(m >> 64);
    }
}

uint64_t common_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
