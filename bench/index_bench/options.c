/*
 * options.c: alexdb-index-bench's command line. Options are --key=value, as in fio and
 * db_bench. Counts take decimal suffixes (--keys=1m is 1,000,000, as the issue counts
 * keys); sizes take fio's binary ones (--cold-cache=64m is 64 MiB). --quick is applied
 * before the other options, whatever its position, so they can refine it.
 *
 * Entry points: index_bench_parse_args(), index_bench_print_command(). The options and
 * their defaults are listed in bench/README.md.
 */
#include "index_bench.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>

static const char *const phase_names[] = {"bulkload", "fillrandom", "readrandom", "scan", "cold", "durable", "recover"};

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " IB_NAME " [--key=value ...]\n"
            "  --keys=N              keys in the warm phases, suffix k/m/g = 10^3/6/9 (1m)\n"
            "  --value-size=N        value bytes in the warm phases (100)\n"
            "  --key-shape=S         uniform|sequential|clustered (uniform)\n"
            "  --seconds=S           length of each timed phase or round (5)\n"
            "  --dir=PATH            where the databases go (/tmp/alexdb-index-bench)\n"
            "  --seed=N              PRNG seed: keys, orders and draws replay (1)\n"
            "  --phases=P,...        bulkload,...,cold,durable,recover (all)\n"
            "  --warm-cache=SIZE     cache of the warm databases, suffix k/m/g (1g)\n"
            "  --cold-keys=N         keys in the cold database (3m)\n"
            "  --cold-value-size=N   value bytes in the cold database (1000)\n"
            "  --cold-cache=SIZE     cache when reading the cold database (64m)\n"
            "  --cold-threads=T,...  reader threads, each level measured in turn (1,16)\n"
            "  --rounds=N            cold raw/alexdb alternations per level, medians (3)\n"
            "  --durable-threads=T,...  threads doing sync puts, each level in turn (1,32)\n"
            "  --cold-rebuild        rebuild the cold database even if it matches\n"
            "  --keep                keep the warm databases (the cold one is always kept)\n"
            "  --quick               a smoke run of a few seconds (small sizes, 1 round)\n");
}

static int parse_list(const char *text, uint32_t *items, uint32_t *count_out)
{
    if (text == NULL || *text == '\0') return -1;
    uint32_t count = 0;
    for (const char *p = text;;) {
        char *end = NULL;
        errno = 0;
        unsigned long value = strtoul(p, &end, 10);
        if (errno != 0 || end == p || value == 0 || value > IB_THREAD_COUNT_MAX) return -1;
        if (count == IB_COLD_THREADS_COUNT_MAX) return -1;
        items[count++] = (uint32_t)value;
        if (*end == '\0') break;
        if (*end != ',') return -1;
        p = end + 1;
    }
    *count_out = count;
    return 0;
}

static int parse_phases(const char *text, unsigned *phases_out)
{
    if (text == NULL || *text == '\0') return -1;
    unsigned phases = 0;
    for (const char *p = text; *p != '\0';) {
        size_t n = strcspn(p, ",");
        unsigned bit = 0;
        for (unsigned i = 0; i < sizeof(phase_names) / sizeof(phase_names[0]); i++) {
            if (strlen(phase_names[i]) == n && strncmp(p, phase_names[i], n) == 0) bit = 1u << i;
        }
        if (n == 3 && strncmp(p, "all", 3) == 0) bit = IB_PHASE_ALL;
        if (bit == 0) return -1;
        phases |= bit;
        p += n + (p[n] == ',');
    }
    *phases_out = phases;
    return 0;
}

static int parse_shape(const char *text, ib_key_shape *shape_out)
{
    if (text == NULL) return -1;
    for (int s = IB_SHAPE_UNIFORM; s <= IB_SHAPE_CLUSTERED; s++) {
        if (strcmp(text, index_bench_shape_name((ib_key_shape)s)) == 0) {
            *shape_out = (ib_key_shape)s;
            return 0;
        }
    }
    return -1;
}

static int parse_bounded(const char *text, uint64_t base, uint64_t low, uint64_t high,
                         uint64_t *out)
{
    uint64_t v = 0;
    if (bench_parse_scaled(text, base, &v) != 0 || v < low || v > high) return -1;
    *out = v;
    return 0;
}

static int parse_number_option(const char *key, const char *value, ib_options *opt)
{
    uint64_t v = 0;
    int rc = -1;
    if (strcmp(key, "keys") == 0) rc = parse_bounded(value, 1000, 1, IB_KEY_COUNT_MAX, &opt->key_count);
    else if (strcmp(key, "cold-keys") == 0)
        rc = parse_bounded(value, 1000, 1, IB_KEY_COUNT_MAX, &opt->cold_key_count);
    else if (strcmp(key, "seed") == 0) rc = parse_bounded(value, 1000, 0, UINT64_MAX, &opt->seed);
    else if (strcmp(key, "warm-cache") == 0)
        rc = parse_bounded(value, 1024, 256u << 10, UINT64_MAX >> 1, &opt->warm_cache_size);
    else if (strcmp(key, "cold-cache") == 0)
        rc = parse_bounded(value, 1024, 256u << 10, UINT64_MAX >> 1, &opt->cold_cache_size);
    else if (strcmp(key, "value-size") == 0 || strcmp(key, "cold-value-size") == 0) {
        rc = parse_bounded(value, 1024, 0, IB_VALUE_SIZE_MAX, &v);
        if (rc == 0) *(key[0] == 'v' ? &opt->value_size : &opt->cold_value_size) = (size_t)v;
    } else if (strcmp(key, "rounds") == 0) {
        rc = parse_bounded(value, 1000, 1, IB_ROUND_COUNT_MAX, &v);
        if (rc == 0) opt->round_count = (uint32_t)v;
    }
    return rc;
}

/* One --key[=value]. Returns 0, or -1 for an unknown key or a bad value. */
static int parse_option(const char *key, const char *value, ib_options *opt)
{
    if (strcmp(key, "dir") == 0) {
        if (value == NULL || *value == '\0' || strlen(value) >= sizeof(opt->dir)) return -1;
        snprintf(opt->dir, sizeof(opt->dir), "%s", value);
        return 0;
    }
    if (strcmp(key, "seconds") == 0) {
        char *end = NULL;
        if (value == NULL) return -1;
        double s = strtod(value, &end);
        if (end == value || *end != '\0' || !(s > 0.0) || s > IB_SECONDS_MAX) return -1;
        opt->seconds = s;
        return 0;
    }
    if (strcmp(key, "key-shape") == 0) return parse_shape(value, &opt->shape);
    if (strcmp(key, "phases") == 0) return parse_phases(value, &opt->phases);
    if (strcmp(key, "cold-threads") == 0)
        return parse_list(value, opt->cold_threads, &opt->cold_threads_count);
    if (strcmp(key, "durable-threads") == 0)
        return parse_list(value, opt->durable_threads, &opt->durable_threads_count);
    if (value == NULL && strcmp(key, "keep") == 0) {
        opt->keep = true;
        return 0;
    }
    if (value == NULL && strcmp(key, "cold-rebuild") == 0) {
        opt->cold_rebuild = true;
        return 0;
    }
    if (value == NULL && strcmp(key, "quick") == 0) return 0; /* applied in the first pass */
    return parse_number_option(key, value, opt);
}

static void options_default(ib_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    snprintf(opt->dir, sizeof(opt->dir), "/tmp/alexdb-index-bench");
    opt->key_count = 1000000;
    opt->value_size = 100;
    opt->shape = IB_SHAPE_UNIFORM;
    opt->seconds = 5.0;
    opt->seed = 1;
    opt->phases = IB_PHASE_ALL;
    opt->warm_cache_size = 1ULL << 30;
    opt->cold_key_count = 3000000;
    opt->cold_value_size = 1000;
    opt->cold_cache_size = 64ULL << 20;
    opt->cold_threads[0] = 1;
    opt->cold_threads[1] = 16;
    opt->cold_threads_count = 2;
    opt->durable_threads[0] = 1;
    opt->durable_threads[1] = 32;
    opt->durable_threads_count = 2;
    opt->round_count = 3;
}

/* --quick: a few seconds in all; the cold cache shrinks with the file to stay "cold". */
static void options_quick(ib_options *opt)
{
    opt->quick = true;
    opt->key_count = 100000;
    opt->seconds = 0.5;
    opt->cold_key_count = 100000;
    opt->cold_cache_size = 8ULL << 20;
    opt->round_count = 1;
}

/* Splits "--key=value" into key (bounded) and value (NULL without '='). */
static bool split_arg(const char *arg, char *key, size_t key_size_max, const char **value_out)
{
    if (strncmp(arg, "--", 2) != 0) return false;
    const char *eq = strchr(arg, '=');
    size_t key_size = eq != NULL ? (size_t)(eq - arg) - 2 : strlen(arg) - 2;
    if (key_size == 0 || key_size >= key_size_max) return false;
    memcpy(key, arg + 2, key_size);
    key[key_size] = '\0';
    *value_out = eq != NULL ? eq + 1 : NULL;
    return true;
}

int index_bench_parse_args(int argc, char **argv, ib_options *opt)
{
    options_default(opt);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--quick") == 0) options_quick(opt);
    }
    for (int i = 1; i < argc; i++) {
        char key[32];
        const char *value = NULL;
        if (!split_arg(argv[i], key, sizeof(key), &value) || parse_option(key, value, opt) != 0) {
            fprintf(stderr, IB_NAME ": bad option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    return 0;
}

void index_bench_print_command(FILE *to, const ib_options *o)
{
    char phases[80] = "";
    size_t used = 0;
    for (unsigned i = 0; i < sizeof(phase_names) / sizeof(phase_names[0]); i++) {
        if (o->phases & (1u << i))
            used += (size_t)snprintf(phases + used, sizeof(phases) - used, "%s%s",
                                     used ? "," : "", phase_names[i]);
    }
    char threads[IB_COLD_THREADS_COUNT_MAX * 5] = "";
    used = 0;
    for (uint32_t i = 0; i < o->cold_threads_count; i++)
        used += (size_t)snprintf(threads + used, sizeof(threads) - used, "%s%u", i ? "," : "",
                                 o->cold_threads[i]);
    char durable[IB_COLD_THREADS_COUNT_MAX * 5] = "";
    used = 0;
    for (uint32_t i = 0; i < o->durable_threads_count; i++)
        used += (size_t)snprintf(durable + used, sizeof(durable) - used, "%s%u", i ? "," : "",
                                 o->durable_threads[i]);
    fprintf(to,
            IB_NAME " --keys=%" PRIu64 " --value-size=%zu --key-shape=%s --seconds=%g --dir=%s"
            " --seed=%" PRIu64 " --phases=%s --warm-cache=%" PRIu64 " --cold-keys=%" PRIu64
            " --cold-value-size=%zu --cold-cache=%" PRIu64 " --cold-threads=%s --rounds=%u"
            " --durable-threads=%s%s%s%s\n",
            o->key_count, o->value_size, index_bench_shape_name(o->shape), o->seconds, o->dir,
            o->seed, phases, o->warm_cache_size, o->cold_key_count, o->cold_value_size,
            o->cold_cache_size, threads, o->round_count, durable, o->keep ? " --keep" : "",
            o->cold_rebuild ? " --cold-rebuild" : "", o->quick ? "   (from --quick)" : "");
}
