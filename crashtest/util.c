/*
 * util.c: the bytes of every value, and the few file operations the driver needs
 * (directory copies for saved images, recursive removal).
 *
 * Values: version v of key k is a pure function of (k, v): its size (0 B .. 1 MiB,
 * most under 1 KiB) and every byte come from a hash of the two, so verification
 * recomputes what a key must hold and the expected state stores no values (C5).
 */
#include "crashtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t ct_mix(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

static uint64_t value_hash(uint64_t key, uint32_t version)
{
    return ct_mix(key ^ ct_mix((uint64_t)version * UINT64_C(0xD6E8FEB86659FD93)));
}

size_t ct_value_size(uint64_t key, uint32_t version)
{
    uint64_t h = value_hash(key, version);
    uint64_t r = h % 1000;
    uint64_t h2 = ct_mix(h);
    if (r < 600) return (size_t)(h2 % 101);                       /* 60%: 0..100 B */
    if (r < 930) return (size_t)(101 + h2 % 924);                 /* 33%: ..1 KiB, inline */
    if (r < 990) return (size_t)(1025 + h2 % (65536 - 1025));     /* 6%: overflow pages */
    return (size_t)(65536 + h2 % (CT_VALUE_SIZE_MAX - 65536 + 1)); /* 1%: up to 1 MiB */
}

static uint64_t value_word(uint64_t h, size_t j)
{
    return ct_mix(h ^ ((uint64_t)j * UINT64_C(0xA24BAED4963EE407)));
}

void ct_value_fill(uint64_t key, uint32_t version, uint8_t *buf, size_t size)
{
    uint64_t h = value_hash(key, version);
    for (size_t off = 0; off < size; off += 8) {
        uint64_t w = value_word(h, off / 8);
        memcpy(buf + off, &w, COMMON_MIN((size_t)8, size - off));
    }
}

bool ct_value_equal(uint64_t key, uint32_t version, const uint8_t *got, size_t got_size)
{
    if (got_size != ct_value_size(key, version)) return false;
    uint64_t h = value_hash(key, version);
    for (size_t off = 0; off < got_size; off += 8) {
        uint64_t w = value_word(h, off / 8);
        if (memcmp(got + off, &w, COMMON_MIN((size_t)8, got_size - off)) != 0) return false;
    }
    return true;
}

/* ---- Files ----------------------------------------------------------------------- */

char *ct_path(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *p = malloc(size);
    ALEXDB_ASSERT(p != NULL);
    snprintf(p, size, "%s/%s", dir, name);
    return p;
}

int ct_mkdir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return ALEXDB_OK;
    return common_error(ALEXDB_IO, "mkdir %s: %s", path, strerror(errno));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    (void)remove(path); /* best effort: what cannot be removed stays for a look */
    return 0;
}

void ct_rmrf(const char *path)
{
    (void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return common_error(ALEXDB_IO, "open %s: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return common_error(ALEXDB_IO, "create %s: %s", dst, strerror(errno));
    }
    static _Thread_local uint8_t buf[1u << 16];
    int rc = ALEXDB_OK;
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n < 0) rc = common_error(ALEXDB_IO, "read %s: %s", src, strerror(errno));
            break;
        }
        bool zero = buf[0] == 0 && memcmp(buf, buf + 1, (size_t)n - 1) == 0;
        if (zero ? lseek(out, n, SEEK_CUR) < 0 : write(out, buf, (size_t)n) != n) {
            rc = common_error(ALEXDB_IO, "write %s: %s", dst, strerror(errno));
            break;
        }
    }
    /* Zero chunks were skipped (preallocated log space): the size says where it ends. */
    off_t end = lseek(out, 0, SEEK_CUR);
    if (rc == ALEXDB_OK && (end < 0 || ftruncate(out, end) != 0)) {
        rc = common_error(ALEXDB_IO, "truncate %s: %s", dst, strerror(errno));
    }
    close(in);
    close(out);
    return rc;
}

int ct_copy_dir(const char *src, const char *dst)
{
    ct_rmrf(dst);
    int rc = ct_mkdir(dst);
    if (rc != ALEXDB_OK) return rc;
    DIR *d = opendir(src);
    if (d == NULL) return common_error(ALEXDB_IO, "opendir %s: %s", src, strerror(errno));
    struct dirent *e;
    while (rc == ALEXDB_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *from = ct_path(src, e->d_name);
        char *to = ct_path(dst, e->d_name);
        struct stat st;
        if (stat(from, &st) == 0 && S_ISREG(st.st_mode)) rc = copy_file(from, to);
        free(from);
        free(to);
    }
    closedir(d);
    return rc;
}

int ct_file_size(const char *path, uint64_t *size_out)
{
    struct stat st;
    if (stat(path, &st) != 0) return common_error(ALEXDB_IO, "stat %s: %s", path, strerror(errno));
    *size_out = (uint64_t)st.st_size;
    return ALEXDB_OK;
}

const char *ct_mode_name(ct_mode mode)
{
    static const char *const names[CT_MODE_COUNT] = {"kill", "powercut", "ioerror", "corrupt"};
    ALEXDB_ASSERT(mode < CT_MODE_COUNT);
    return names[mode];
}
