/*
 * model.c: the linear models of ALEX, used by leaves (key -> slot in the gapped array)
 * and inner nodes (key -> child slot). A model is two doubles; it only predicts, and
 * every caller corrects the prediction with an exact search or an exact boundary.
 *
 * Determinism matters more than precision: a prediction is a pure function of the two
 * doubles and the key, computed with plain IEEE-754 double operations (the build uses
 * -ffp-contract=off, so no fused multiply-add), so the same bytes on disk route the same
 * key to the same slot on every run and every machine. Because slope >= 0 and IEEE
 * rounding is monotone, predictions never decrease as keys grow (docs/FORMAT.md 3).
 * alex_model_predict itself is inline, in alex_int.h.
 */
#include "alex_int.h"

#include <math.h>
#include <pthread.h>

/*
 * Least squares of rank against key, scaled so that count keys spread over
 * slot_count slots: key i of count should land near slot i * slot_count / count.
 * Keys are centred before squaring so that keys near 2^64 keep their differences.
 */
void alex_model_fit(alex_model *model, const uint64_t *keys, uint32_t count, double slot_count)
{
    ALEXDB_ASSERT(model != NULL && (keys != NULL || count == 0));
    model->slope = 0.0;
    model->intercept = count > 0 ? slot_count * 0.5 : 0.0;
    if (count < 2 || keys[0] == keys[count - 1]) return;
    double scale = slot_count / (double)count;
    double x_mean = (double)keys[0] + ((double)(keys[count - 1] - keys[0])) * 0.5;
    double y_mean = ((double)count - 1.0) * 0.5 * scale;
    double sxy = 0.0;
    double sxx = 0.0;
    for (uint32_t i = 0; i < count; i++) {
        double dx = (double)keys[i] - x_mean;
        double dy = (double)i * scale - y_mean;
        sxy += dx * dy;
        sxx += dx * dx;
    }
    double slope = sxx > 0.0 ? sxy / sxx : 0.0;
    if (!isfinite(slope) || slope < 0.0) slope = 0.0;
    double intercept = y_mean - slope * x_mean;
    if (!isfinite(intercept)) {
        slope = 0.0;
        intercept = slot_count * 0.5;
    }
    model->slope = slope;
    model->intercept = intercept;
}

/*
 * A model through two points: first_key at slot 0 and split_key at slot `at`. Used
 * where a boundary must fall at a chosen key (an inner node's first split).
 */
void alex_model_through(alex_model *model, uint64_t first_key, uint64_t split_key, double at)
{
    ALEXDB_ASSERT(split_key > first_key && at > 0.0);
    double dx = (double)split_key - (double)first_key;
    model->slope = dx > 0.0 ? at / dx : 0.0;
    model->intercept = -model->slope * (double)first_key;
    if (!isfinite(model->slope) || !isfinite(model->intercept)) {
        model->slope = 0.0;
        model->intercept = 0.0;
    }
}

/*
 * A first guess at the smallest key the model puts at slot >= slot: the model solved
 * for the key, (slot - intercept) / slope, clamped into [lo, hi]. Only a guess (the
 * division rounds, and keys above 2^53 collide as doubles); the caller corrects it
 * exactly.
 */
static uint64_t first_key_guess(const alex_model *model, uint32_t slot, uint64_t lo, uint64_t hi)
{
    if (!(model->slope > 0.0)) return lo;
    double x = ((double)slot - model->intercept) / model->slope;
    if (!(x > (double)lo)) return lo; /* also catches NaN */
    if (!(x < (double)hi)) return hi;
    uint64_t guess = (uint64_t)x; /* x < (double)hi <= 2^64: in range */
    if (guess < lo) return lo;
    return guess > hi ? hi : guess;
}

/* The spacing of doubles near key: how far apart keys must be to predict apart. */
static uint64_t key_spacing(uint64_t key)
{
    uint32_t bits = key == 0 ? 0u : 64u - (uint32_t)__builtin_clzll(key);
    return bits > 53u ? 1ull << (bits - 53u) : 1u;
}

/*
 * The smallest key in [low, high] that the model puts at slot >= slot, or high + 1
 * (saturating: *found = false) if none.
 *
 * HOW IT WORKS. Predictions never decrease as keys grow (slope >= 0, IEEE rounding is
 * monotone), so the answer is the boundary of a monotone predicate, and any bracket
 * [lo, hi] with predict(hi) >= slot and every key below lo predicting below slot
 * holds it. The bracket starts at the inverted model's guess and gallops away from it
 * (steps of one double spacing, doubling) until the predicate flips; a binary search
 * on the exact predictions then closes it. So the result is bit for bit what routing
 * does, as a plain binary search over [low, high] would give, in about
 * 2 log2(error of the guess) + log2(spacing) predictions instead of 64.
 */
uint64_t alex_model_first_key_at(const alex_model *model, uint32_t slot_count, uint32_t slot,
                                 uint64_t low, uint64_t high, bool *found)
{
    ALEXDB_ASSERT(low <= high);
    *found = alex_model_predict(model, high, slot_count) >= slot;
    if (!*found) return high;
    uint64_t lo = low;
    uint64_t hi = high; /* invariant: predict(hi) >= slot, predict(< lo) < slot */
    uint64_t guess = first_key_guess(model, slot, lo, hi);
    uint64_t step = key_spacing(guess);
    bool above = alex_model_predict(model, guess, slot_count) >= slot;
    if (above) hi = guess;
    else lo = guess + 1; /* guess < hi, as predict(hi) >= slot */
    for (int i = 0; i < 64 && hi - lo > step; i++) {
        uint64_t probe = above ? hi - step : lo + step;
        bool probe_above = alex_model_predict(model, probe, slot_count) >= slot;
        if (probe_above) hi = probe;
        else lo = probe + 1;
        if (probe_above != above) break;
        if (step < (1ull << 62)) step *= 2;
    }
    for (int i = 0; i < 65 && lo < hi; i++) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (alex_model_predict(model, mid, slot_count) >= slot) hi = mid;
        else lo = mid + 1;
    }
    ALEXDB_ASSERT(lo == hi);
    return lo;
}

/*
 * A slope that puts offset (>= 1) at slot 1 or beyond: 1/offset, nudged up by ulps (the
 * division can land a hair below 1), then doubled as a last resort. Used by inner nodes
 * whose pivot must sit exactly at a key's offset from the node's base.
 */
double alex_model_slope_reaching_one(uint64_t offset)
{
    ALEXDB_ASSERT(offset >= 1);
    double x = (double)offset;
    double slope = 1.0 / x;
    for (int i = 0; i < 4 && !(slope * x >= 1.0); i++) slope = nextafter(slope, INFINITY);
    if (!(slope * x >= 1.0)) slope *= 2.0;
    ALEXDB_ASSERT(isfinite(slope) && slope * x >= 1.0);
    return slope;
}

/*
 * The exponent from the integer, the mantissa m in [1, 2) from ln m = 2 atanh(t),
 * t = (m - 1) / (m + 1) <= 1/3, nine terms of the series (error below 1e-9).
 */
static double log2_series(uint32_t x)
{
    ALEXDB_ASSERT(x >= 1);
    uint32_t exponent = 31u - (uint32_t)__builtin_clz(x);
    double m = (double)x / (double)(1u << exponent);
    double t = (m - 1.0) / (m + 1.0);
    double power = t;
    double sum = 0.0;
    for (uint32_t k = 1; k <= 17; k += 2) {
        sum += power / k;
        power *= t * t;
    }
    return exponent + 2.0 * sum / 0.69314718055994530942;
}

/*
 * A leaf's search errors are below its slot count, so their logs come from a table of
 * the series' own results, made once per process: the same bits, without nine
 * divisions per key of a build.
 */
#define LOG2_TABLE_SIZE (ALEX_LEAF_SLOT_COUNT_MAX + 1u)

static double log2_table[LOG2_TABLE_SIZE];
static pthread_once_t log2_table_once = PTHREAD_ONCE_INIT;

static void log2_table_make(void)
{
    for (uint32_t x = 1; x < LOG2_TABLE_SIZE; x++) log2_table[x] = log2_series(x);
}

double alex_model_log2_u32(uint32_t x)
{
    ALEXDB_ASSERT(x >= 1);
    if (x >= LOG2_TABLE_SIZE) return log2_series(x);
    pthread_once(&log2_table_once, log2_table_make);
    return log2_table[x];
}
