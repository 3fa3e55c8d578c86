/*
 * common.h: the small helpers every module may use: always-on assertions, the error
 * vocabulary, error reporting (one function for corruption), little-endian codecs,
 * checksums and a seeded PRNG. Nothing here does I/O.
 *
 * The result codes live in api/alexdb.h so there is exactly one list of them; this
 * header includes it for the codes only (common/README.md, "the one upward include").
 */
#ifndef COMMON_H
#define COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alexdb.h"

#define COMMON_WUR __attribute__((warn_unused_result))
#define COMMON_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define COMMON_LIKELY(x) __builtin_expect(!!(x), 1)
#define COMMON_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define COMMON_MIN(a, b) ((a) < (b) ? (a) : (b))
#define COMMON_MAX(a, b) ((a) > (b) ? (a) : (b))
#define COMMON_ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/*
 * ALEXDB_ASSERT: a broken invariant is a bug, never an operating error. It stays on in
 * release builds: silent corruption is worse than a crash (STYLE.md).
 */
#define ALEXDB_ASSERT(cond)                                                          \
    do {                                                                             \
        if (COMMON_UNLIKELY(!(cond))) common_assert_fail(#cond, __FILE__, __LINE__); \
    } while (0)

__attribute__((noreturn)) void common_assert_fail(const char *cond, const char *file, int line);

/* Error reporting: a per-thread message behind every error code returned. */
#define COMMON_ERRMSG_SIZE_MAX 512

/* Sets this thread's message and returns rc, so callers write `return common_error(...)`. */
int common_error(int rc, const char *fmt, ...) COMMON_PRINTF(2, 3);

/*
 * The single place corruption is reported (SQLite's SQLITE_CORRUPT_BKPT): a breakpoint
 * here catches every case. Names the file and byte offset; returns ALEXDB_CORRUPT.
 */
int common_corrupt(const char *path, uint64_t offset, const char *fmt, ...) COMMON_PRINTF(3, 4);

/* Maps a positive errno to an ALEXDB_* code (ENOSPC -> NOSPACE, ENOMEM -> NOMEM, ...). */
int common_errno_to_result(int errnum);

const char *common_errmsg(void);
void common_errmsg_clear(void);

/*
 * Little-endian codecs: page and record bytes are never overlaid with C structs. Each is
 * a memcpy plus a byte swap on big-endian hosts, which compilers turn into one load or
 * store (a byte-by-byte loop is not merged by gcc, and these sit on the search path).
 */
#if !defined(__BYTE_ORDER__) || (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ && \
                                 __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__)
#error "common.h needs __BYTE_ORDER__ (gcc or clang)"
#endif
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define COMMON_LE16(x) __builtin_bswap16(x)
#define COMMON_LE32(x) __builtin_bswap32(x)
#define COMMON_LE64(x) __builtin_bswap64(x)
#else
#define COMMON_LE16(x) (x)
#define COMMON_LE32(x) (x)
#define COMMON_LE64(x) (x)
#endif

static inline void common_store_u16le(uint8_t *p, uint16_t v)
{
    v = COMMON_LE16(v);
    memcpy(p, &v, sizeof(v));
}

static inline void common_store_u32le(uint8_t *p, uint32_t v)
{
    v = COMMON_LE32(v);
    memcpy(p, &v, sizeof(v));
}

static inline void common_store_u64le(uint8_t *p, uint64_t v)
{
    v = COMMON_LE64(v);
    memcpy(p, &v, sizeof(v));
}

static inline uint16_t common_load_u16le(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return COMMON_LE16(v);
}

static inline uint32_t common_load_u32le(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return COMMON_LE32(v);
}

static inline uint64_t common_load_u64le(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return COMMON_LE64(v);
}

/*
 * Set bits of x. Without a popcnt instruction in the target (plain x86-64),
 * __builtin_popcountll is a call into libgcc's table version; routing a key counts bits
 * once per inner level, so the bit-parallel sum is written out here instead.
 */
static inline uint32_t common_popcount64(uint64_t x)
{
#if defined(__x86_64__) && !defined(__POPCNT__)
    x -= (x >> 1) & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (uint32_t)((x * 0x0101010101010101ULL) >> 56);
#else
    return (uint32_t)__builtin_popcountll(x);
#endif
}

/* IEEE-754 binary64 / binary32 as their little-endian bit patterns (models, costs). */
static inline void common_store_f64le(uint8_t *p, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    common_store_u64le(p, bits);
}

static inline double common_load_f64le(const uint8_t *p)
{
    uint64_t bits = common_load_u64le(p);
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static inline void common_store_f32le(uint8_t *p, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof(bits));
    common_store_u32le(p, bits);
}

static inline float common_load_f32le(const uint8_t *p)
{
    uint32_t bits = common_load_u32le(p);
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

/* XXH3-64 with seed 0: the checksum of every page and log record (docs/FORMAT.md 1). */
uint64_t common_checksum(const void *data, size_t size);

/*
 * A small seeded PRNG (splitmix64 to seed, xoshiro256** to draw). Deterministic for a
 * given seed on every machine, so a printed seed replays a test or a crash run.
 */
typedef struct common_rng {
    uint64_t s[4];
} common_rng;

void common_rng_seed(common_rng *rng, uint64_t seed);
uint64_t common_rng_next(common_rng *rng);
/* Uniform in [0, bound); bound > 0. */
uint64_t common_rng_below(common_rng *rng, uint64_t bound);

/* Monotonic clock in nanoseconds. */
uint64_t common_now_ns(void);

/*
 * A counter for hot paths (counter.c): each thread bumps its own cache line with a plain
 * load and store instead of a locked add; common_counter_sum adds them up. Thread-safe;
 * exact (no bump is ever lost). 4 KiB each, so for per-handle counters only.
 */
#define COMMON_COUNTER_STRIPES 64u

typedef struct common_counter_stripe {
    _Alignas(64) _Atomic uint64_t value; /* written only by the owner */
    _Atomic uint64_t owner;              /* the owning thread's number; 0: none yet */
} common_counter_stripe;

typedef struct common_counter {
    common_counter_stripe stripes[COMMON_COUNTER_STRIPES];
    _Alignas(64) _Atomic uint64_t shared; /* bumps of threads whose stripe another owns */
} common_counter;

/* A zeroed counter, cache-line aligned; NULL if out of memory. Free with free(). */
common_counter *common_counter_new(void);
/* The calling thread's number, 1, 2, 3, ... (0 until common_thread_number_get). */
extern _Thread_local uint64_t common_thread_number;
uint64_t common_thread_number_get(void);
void common_counter_add_slow(common_counter *c, uint64_t n, uint64_t me);

/* Inline because it is on every cache hit: the owner's bump is two plain moves. */
static inline void common_counter_add(common_counter *c, uint64_t n)
{
    uint64_t me = common_thread_number;
    if (COMMON_LIKELY(me != 0)) {
        common_counter_stripe *s = &c->stripes[me % COMMON_COUNTER_STRIPES];
        if (COMMON_LIKELY(atomic_load_explicit(&s->owner, memory_order_relaxed) == me)) {
            uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
            atomic_store_explicit(&s->value, v + n, memory_order_relaxed);
            return;
        }
    }
    common_counter_add_slow(c, n, common_thread_number_get());
}
uint64_t common_counter_sum(const common_counter *c);

#endif /* COMMON_H */
