/*
 * drv_s3.c - command-line driver over src/s3 (the S3 client), for
 * tests/integration/test_s3_client.py, which runs it against Ceph RGW
 * and against fake or absent endpoints.  Also handy by hand.
 *
 *   drv_s3 [options] COMMAND ARGS...
 *
 * Options:
 *   --url s3://bucket[/prefix]  the bucket and prefix (required)
 *   --endpoint URL              default $S3_ENDPOINT
 *   --part-bytes N              multipart part size (also lowers the
 *                               minimum to N: s3_test_set_min_part)
 *   --max-attempts N, --timeout S
 *   --max-keys N                ListObjectsV2 page size
 *   --secret S                  use AWS_ACCESS_KEY_ID with this secret
 *   --corrupt-readback          s3_test_corrupt_readback
 *   --stop-after N              list: the callback returns 77 after N keys
 *
 * Commands (keys are relative to the prefix):
 *   ensure-bucket
 *   put-mem KEY FILE        read FILE into memory, s3_put_mem
 *   put-file KEY FILE       s3_put_file; prints "PROGRESS done total" lines
 *   get-mem KEY OUT [MAX]   s3_get_mem (buf cap MAX, default 1 GiB), write
 *                           the bytes to OUT
 *   get-file KEY OUT        s3_get_file
 *   head KEY                prints "OK <size> <etag>"
 *   delete KEY
 *   list SUB                prints "KEY <size> <key>" lines, then "OK <n>"
 *                           (or "STOPPED <rc>" when the callback stopped it)
 *
 * Output ends with "ATTEMPTS <n>" (attempts of the last request) and then
 * "OK ..." (exit 0) or "ERR <TM_CODE> <message>" (exit 1).  Credentials
 * and region come from the environment, as for the server.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/s3.h"

static int stop_after = -1;
static int listed;

static void progress(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    printf("PROGRESS %" PRIu64 " %" PRIu64 "\n", done, total);
}

static int list_cb(void *ctx, const char *key, uint64_t size)
{
    (void)ctx;
    if (stop_after >= 0 && listed >= stop_after)
        return 77;
    listed++;
    printf("KEY %" PRIu64 " %s\n", size, key);
    return 0;
}

static int read_all(const char *path, struct buf *b)
{
    FILE *f = fopen(path, "rb");
    char tmp[65536];
    size_t n;

    if (f == NULL)
        return -1;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (buf_append(b, tmp, n) != 0) {
            fclose(f);
            return -1;
        }
    fclose(f);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: drv_s3 --url s3://bucket[/prefix] [options] "
                    "COMMAND ARGS... (see tests/unit/drv_s3.c)\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct s3_config cfg = {0};
    struct s3_client *c = NULL;
    struct tm_error err = {0};
    char *bucket = NULL, *prefix = NULL, etag[S3_ETAG_MAX];
    const char *url = NULL, *secret = NULL, *cmd;
    int i, rc = 0, max_keys = 0, corrupt = 0;
    uint64_t size = 0;
    struct buf b;

    cfg.endpoint = getenv("S3_ENDPOINT");
    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--corrupt-readback") == 0) {
            corrupt = 1;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        if (strcmp(o, "--url") == 0)
            url = argv[++i];
        else if (strcmp(o, "--endpoint") == 0)
            cfg.endpoint = argv[++i];
        else if (strcmp(o, "--part-bytes") == 0) {
            cfg.part_bytes = strtoull(argv[++i], NULL, 10);
            s3_test_set_min_part(cfg.part_bytes);
        } else if (strcmp(o, "--max-attempts") == 0)
            cfg.max_attempts = atoi(argv[++i]);
        else if (strcmp(o, "--timeout") == 0)
            cfg.timeout_s = atoi(argv[++i]);
        else if (strcmp(o, "--max-keys") == 0)
            max_keys = atoi(argv[++i]);
        else if (strcmp(o, "--secret") == 0)
            secret = argv[++i];
        else if (strcmp(o, "--stop-after") == 0)
            stop_after = atoi(argv[++i]);
        else
            return usage();
    }
    if (url == NULL || i >= argc)
        return usage();
    cmd = argv[i++];
    setvbuf(stdout, NULL, _IOLBF, 0);

    if ((rc = s3_parse_url(url, &bucket, &prefix, &err)))
        goto done;
    cfg.bucket = bucket;
    cfg.prefix = prefix;
    if (secret) {
        cfg.access_key = getenv("AWS_ACCESS_KEY_ID");
        cfg.secret_key = secret;
        if (cfg.access_key == NULL)
            cfg.access_key = "AKIDEXAMPLE";
    }
    if ((rc = s3_client_new(&cfg, &c, &err)))
        goto done;
    if (max_keys)
        s3_test_set_max_keys(c, max_keys);
    s3_test_corrupt_readback(c, corrupt);

    buf_init(&b, (size_t)1 << 30);
    if (strcmp(cmd, "ensure-bucket") == 0 && argc - i == 0) {
        rc = s3_ensure_bucket(c, &err);
    } else if (strcmp(cmd, "put-mem") == 0 && argc - i == 2) {
        if (read_all(argv[i + 1], &b) != 0) {
            fprintf(stderr, "drv_s3: cannot read %s\n", argv[i + 1]);
            return 2;
        }
        rc = s3_put_mem(c, argv[i], b.data, b.len, &err);
    } else if (strcmp(cmd, "put-file") == 0 && argc - i == 2) {
        rc = s3_put_file(c, argv[i], argv[i + 1], progress, NULL, &err);
    } else if (strcmp(cmd, "get-mem") == 0 &&
               (argc - i == 2 || argc - i == 3)) {
        if (argc - i == 3)
            b.max = strtoull(argv[i + 2], NULL, 10);
        rc = s3_get_mem(c, argv[i], &b, &err);
        if (rc == 0) {
            FILE *f = fopen(argv[i + 1], "wb");
            if (f == NULL || fwrite(b.data ? (void *)b.data : "", 1, b.len,
                                    f) != b.len || fclose(f) != 0) {
                fprintf(stderr, "drv_s3: cannot write %s\n", argv[i + 1]);
                return 2;
            }
        }
    } else if (strcmp(cmd, "get-file") == 0 && argc - i == 2) {
        rc = s3_get_file(c, argv[i], argv[i + 1], &err);
    } else if (strcmp(cmd, "head") == 0 && argc - i == 1) {
        rc = s3_head(c, argv[i], &size, etag, &err);
    } else if (strcmp(cmd, "delete") == 0 && argc - i == 1) {
        rc = s3_delete(c, argv[i], &err);
    } else if (strcmp(cmd, "list") == 0 && argc - i == 1) {
        rc = s3_list(c, argv[i], list_cb, NULL, &err);
    } else {
        return usage();
    }
    buf_free(&b);
    printf("ATTEMPTS %d\n", s3_test_last_attempts(c));

done:
    if (strcmp(cmd, "list") == 0 && rc > 0)
        printf("STOPPED %d\n", rc);
    else if (rc)
        printf("ERR %s %s\n", tm_strerror(rc), err.msg);
    else if (strcmp(cmd, "head") == 0)
        printf("OK %" PRIu64 " %s\n", size, etag);
    else if (strcmp(cmd, "list") == 0)
        printf("OK %d\n", listed);
    else
        printf("OK\n");
    s3_client_free(c);
    free(bucket);
    free(prefix);
    return rc < 0 ? 1 : 0;
}
