/* common_err_test.c: error reporting (common/err.c). */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

/* common_error returns its code and leaves the formatted message for this thread. */
static void test_error_sets_message(void **state)
{
    (void)state;
    assert_int_equal(common_error(ALEXDB_IO, "disk %d said %s", 3, "no"), ALEXDB_IO);
    assert_string_equal(alexdb_errmsg(), "disk 3 said no");
    common_errmsg_clear();
    assert_string_equal(alexdb_errmsg(), "");
}

/* Corruption always names the file and the offset. */
static void test_corrupt_names_file_and_offset(void **state)
{
    (void)state;
    assert_int_equal(common_corrupt("/db/x", 8192, "bad %s", "thing"), ALEXDB_CORRUPT);
    assert_string_equal(alexdb_errmsg(), "corrupt: /db/x offset 8192: bad thing");
    assert_int_equal(common_corrupt(NULL, 0, "y"), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "(unnamed)"));
}

/* Messages longer than the buffer are cut, never overflow. */
static void test_long_message_truncated(void **state)
{
    (void)state;
    char big[4 * COMMON_ERRMSG_SIZE_MAX];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(common_error(ALEXDB_INVALID, "%s", big), ALEXDB_INVALID);
    assert_int_equal(strlen(alexdb_errmsg()), COMMON_ERRMSG_SIZE_MAX - 1);
}

static void *other_thread(void *arg)
{
    (void)arg;
    common_error(ALEXDB_BUSY, "other thread");
    return NULL;
}

/* Each thread has its own message. */
static void test_message_per_thread(void **state)
{
    (void)state;
    common_error(ALEXDB_NOMEM, "mine");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    pthread_join(t, NULL);
    assert_string_equal(alexdb_errmsg(), "mine");
}

/* errno values map to the documented codes. */
static void test_errno_mapping(void **state)
{
    (void)state;
    assert_int_equal(common_errno_to_result(ENOSPC), ALEXDB_NOSPACE);
    assert_int_equal(common_errno_to_result(EDQUOT), ALEXDB_NOSPACE);
    assert_int_equal(common_errno_to_result(ENOMEM), ALEXDB_NOMEM);
    assert_int_equal(common_errno_to_result(EIO), ALEXDB_IO);
    assert_int_equal(common_errno_to_result(EROFS), ALEXDB_READONLY);
    assert_int_equal(common_errno_to_result(EWOULDBLOCK), ALEXDB_BUSY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_sets_message),
        cmocka_unit_test(test_corrupt_names_file_and_offset),
        cmocka_unit_test(test_long_message_truncated),
        cmocka_unit_test(test_message_per_thread),
        cmocka_unit_test(test_errno_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
