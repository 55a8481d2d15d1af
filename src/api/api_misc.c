/*
 * api_misc.c - the account-level operations with fixed answers:
 * DescribeLimits and DescribeEndpoints.
 *
 * DescribeLimits answers DynamoDB's default quotas for an account in a
 * region (80,000 read and write capacity units per account, 40,000 per
 * table).  Tidemark enforces none of them; SDKs and tools (the CLI, the
 * console, capacity planners) only read them.
 *
 * DescribeEndpoints is what an SDK with endpoint discovery enabled calls
 * first; it caches the answer for CachePeriodInMinutes (DynamoDB says
 * 1440).  DynamoDB answers its regional host name,
 * "dynamodb.<region>.amazonaws.com"; so does Tidemark, with its --region.
 * An SDK given a custom endpoint (as every client of Tidemark is) keeps
 * sending to that endpoint: botocore, for one, does not register endpoint
 * discovery at all when endpoint_url is set.  Answering the address the
 * client actually used (the request's Host header) needs the HTTP layer to
 * hand the header to the api module, which api_req does not carry yet.
 */
#include "api/api_int.h"

#include "base/jsonw.h"

#define ENDPOINT_CACHE_MINUTES 1440

int api_describe_limits(struct api_req *r)
{
    struct verrs v;
    int rc;

    /* no members; only the model's findings (none possible) to report */
    verrs_init(&v);
    if ((rc = verrs_finish(&v, r)))
        return rc;
    rc = json_put_raw(&r->out,
                      "{\"AccountMaxReadCapacityUnits\":80000,"
                      "\"AccountMaxWriteCapacityUnits\":80000,"
                      "\"TableMaxReadCapacityUnits\":40000,"
                      "\"TableMaxWriteCapacityUnits\":40000}");
    return rc ? tm_error_set(&r->err, TM_ENOMEM, "out of memory") : 0;
}

int api_describe_endpoints(struct api_req *r)
{
    struct buf *o = &r->out;
    char *address;
    int rc = 0;

    address = arena_printf(r->arena, "dynamodb.%s.amazonaws.com",
                           r->ctx->region);
    if (address == NULL)
        return tm_error_set(&r->err, TM_ENOMEM, "out of memory");
    rc |= json_put_raw(o, "{\"Endpoints\":[{\"Address\":");
    rc |= json_put_cstr(o, address);
    rc |= json_put_raw(o, ",\"CachePeriodInMinutes\":");
    rc |= json_put_i64(o, ENDPOINT_CACHE_MINUTES);
    rc |= json_put_raw(o, "}]}");
    return rc ? tm_error_set(&r->err, TM_ENOMEM, "out of memory") : 0;
}
