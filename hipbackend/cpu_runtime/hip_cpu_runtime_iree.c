/*
 * hip_cpu_runtime_iree.c: the HIP surface IREE's HIP HAL driver needs beyond hipsem's
 * own subset, and the command trace. TEST VEHICLE ONLY (see hip_cpu_runtime.c).
 *
 * Not a separate translation unit: hip_cpu_runtime.c includes this file (before its
 * thread section) so that it shares that file's internals (g_lock, streams, markers,
 * allocation list). Split along one line: everything here exists for IREE's driver
 * (runtime/src/iree/hal/drivers/hip/dynamic_symbol_tables.h) or for the trace that
 * hipsem's IREE backend (ireebackend/) reads as ground truth.
 *
 * Semantics, on one CPU device (ordinal 0):
 *  * Contexts. One primary context per device, reference counted by
 *    hipDevicePrimaryCtxRetain/Release; each thread has a current-context stack
 *    (hipCtxPush/PopCurrent; hipCtxSetCurrent replaces its top, NULL empties it).
 *  * Attributes. hipDeviceGetAttribute answers the table k_attributes (plausible values
 *    for a small GPU with memory pools, mapped host memory and no VMM), anything else
 *    with hipErrorInvalidValue. hipGetDeviceProperties (optional to IREE's loader) is not
 *    exported: its struct layout is version-dependent and IREE only prints it.
 *  * Memory pools and stream-ordered allocation. hipMallocAsync/hipMallocFromPoolAsync
 *    allocate at once (memory available before the stream reaches the call is allowed by
 *    HIP's stream-ordered semantics); hipFreeAsync records an internal marker on the
 *    stream and the memory is released once the stream has passed it (checked on every
 *    later allocation call and at hipDeviceSynchronize-free points), never on a stream
 *    thread. Pools count used/reserved bytes (current and high-water marks).
 *  * hipMallocManaged is host memory; hipMemPrefetchAsync validates and does nothing;
 *    hipHostRegister/Unregister keep a list of registered ranges whose device pointer
 *    (hipHostGetDevicePointer) is the host pointer, as is that of hipHostMalloc memory.
 *  * hipMemsetD{8,16,32}Async fill elements on the stream thread and take size /
 *    hipsemCpuSetBandwidth(...) µs like every memset/memcpy: the knob by which hipsem
 *    gives an IREE queue fill the duration of a scenario's execute.
 *  * Kernels, modules, graphs, function attributes: hipErrorNotSupported.
 *
 * The trace: hipsemCpuTraceEnable(1) clears it and records, for every command a stream
 * runs, its kind, stream, marker serial (records and waits), memset target/value/size,
 * and CLOCK_MONOTONIC ns of enqueue, start and end (trace_begin/trace_end around
 * run_command in stream_main). Guarded by g_lock like everything else.
 */
#include "hip_cpu_runtime_iree.h"

#include <stdio.h>

static hipError_t alloc_impl(void** ptr, size_t size, int host); /* hip_cpu_runtime.c */

/* ------------------------------------------------------------------ command trace */

typedef struct trace_entry {
    hipsemCpuTraceEntry e;
    int active;
} trace_entry_t;

static hipsemCpuTraceEntry* g_trace;
static size_t g_trace_len, g_trace_cap;
static int g_trace_on;

static long long ts_ns(const struct timespec* t) {
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static const int k_trace_kind[] = {
    [CMD_COPY] = HIPSEM_TRACE_COPY, [CMD_SET] = HIPSEM_TRACE_SET,
    [CMD_RECORD] = HIPSEM_TRACE_RECORD, [CMD_WAIT] = HIPSEM_TRACE_WAIT,
    [CMD_HOSTFN] = HIPSEM_TRACE_HOSTFN,
};

static void trace_begin(trace_entry_t* t, struct ihipStream_t* s, cmd_t* c) { /* g_lock */
    t->active = g_trace_on;
    if (!t->active) return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    t->e = (hipsemCpuTraceEntry){
        .kind = k_trace_kind[c->kind],
        .elem = c->kind == CMD_SET ? (c->elem > 1 ? c->elem : 1) : 0,
        .stream = (unsigned long long)(uintptr_t)s,
        .marker = c->marker != NULL ? c->marker->id : 0,
        .dst = (unsigned long long)(uintptr_t)c->dst,
        .size = c->size,
        .value = c->value,
        .t_enqueue_ns = ts_ns(&c->t_enqueue),
        .t_start_ns = ts_ns(&now),
    };
}

static void trace_end(trace_entry_t* t) { /* g_lock held */
    if (!t->active || !g_trace_on) return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    t->e.t_end_ns = ts_ns(&now);
    if (g_trace_len == g_trace_cap) {
        size_t cap = g_trace_cap ? 2 * g_trace_cap : 1024;
        hipsemCpuTraceEntry* grown = realloc(g_trace, cap * sizeof(*grown));
        if (grown == NULL) return; /* out of memory: the entry is lost, never the run */
        g_trace = grown;
        g_trace_cap = cap;
    }
    g_trace[g_trace_len++] = t->e;
}

void hipsemCpuTraceEnable(int on) {
    pthread_mutex_lock(&g_lock);
    if (on) g_trace_len = 0;
    g_trace_on = on != 0;
    pthread_mutex_unlock(&g_lock);
}

size_t hipsemCpuTraceCount(void) {
    pthread_mutex_lock(&g_lock);
    size_t n = g_trace_len;
    pthread_mutex_unlock(&g_lock);
    return n;
}

size_t hipsemCpuTraceRead(hipsemCpuTraceEntry* out, size_t first, size_t max) {
    pthread_mutex_lock(&g_lock);
    size_t n = first < g_trace_len ? g_trace_len - first : 0;
    if (n > max) n = max;
    if (n > 0) memcpy(out, g_trace + first, n * sizeof(*out));
    pthread_mutex_unlock(&g_lock);
    return n;
}

/* Element fill for hipMemsetD16/D32 (run_memory_op, on a stream thread). */
static void fill_elements(void* dst, int value, int elem, size_t size) {
    unsigned char* p = dst;
    for (size_t off = 0; off + (size_t)elem <= size; off += (size_t)elem) {
        if (elem == 2) {
            uint16_t v = (uint16_t)value;
            memcpy(p + off, &v, 2);
        } else {
            uint32_t v = (uint32_t)value;
            memcpy(p + off, &v, 4);
        }
    }
}

/* ------------------------------------------------------------------ contexts */

struct ihipCtx_t {
    int device;
    int retains;
};

#define CTX_STACK_MAX 16
static struct ihipCtx_t g_primary_ctx = {0, 0};
static __thread hipCtx_t t_ctx_stack[CTX_STACK_MAX];
static __thread int t_ctx_depth;

static int ctx_valid(hipCtx_t ctx) { return ctx == &g_primary_ctx; }

hipError_t hipDevicePrimaryCtxRetain(hipCtx_t* ctx, hipDevice_t device) {
    GUARD();
    if (ctx == NULL) return ret(hipErrorInvalidValue);
    if (device != 0) return ret(hipErrorInvalidDevice);
    pthread_mutex_lock(&g_lock);
    g_primary_ctx.retains++;
    pthread_mutex_unlock(&g_lock);
    *ctx = &g_primary_ctx;
    return hipSuccess;
}

hipError_t hipDevicePrimaryCtxRelease(hipDevice_t device) {
    GUARD();
    if (device != 0) return ret(hipErrorInvalidDevice);
    pthread_mutex_lock(&g_lock);
    hipError_t err = g_primary_ctx.retains > 0 ? hipSuccess : hipErrorInvalidContext;
    if (err == hipSuccess) g_primary_ctx.retains--;
    pthread_mutex_unlock(&g_lock);
    return ret(err);
}

hipError_t hipCtxSetCurrent(hipCtx_t ctx) {
    GUARD();
    if (ctx != NULL && !ctx_valid(ctx)) return ret(hipErrorInvalidContext);
    if (ctx == NULL) {
        if (t_ctx_depth > 0) t_ctx_depth--;
        return hipSuccess;
    }
    if (t_ctx_depth == 0) t_ctx_depth = 1;
    t_ctx_stack[t_ctx_depth - 1] = ctx;
    return hipSuccess;
}

hipError_t hipCtxGetCurrent(hipCtx_t* ctx) {
    GUARD();
    if (ctx == NULL) return ret(hipErrorInvalidValue);
    *ctx = t_ctx_depth > 0 ? t_ctx_stack[t_ctx_depth - 1] : NULL;
    return hipSuccess;
}

hipError_t hipCtxPushCurrent(hipCtx_t ctx) {
    GUARD();
    if (!ctx_valid(ctx)) return ret(hipErrorInvalidContext);
    if (t_ctx_depth == CTX_STACK_MAX) return ret(hipErrorOutOfMemory);
    t_ctx_stack[t_ctx_depth++] = ctx;
    return hipSuccess;
}

hipError_t hipCtxPopCurrent(hipCtx_t* ctx) {
    GUARD();
    if (t_ctx_depth == 0) return ret(hipErrorInvalidContext);
    hipCtx_t top = t_ctx_stack[--t_ctx_depth];
    if (ctx != NULL) *ctx = top;
    return hipSuccess;
}

/* ------------------------------------------------------------------ device identity */

typedef struct attribute_value {
    int attribute;
    int value;
} attribute_value_t;

static const attribute_value_t k_attributes[] = {
    {hipsemAttrAsyncEngineCount, 1},
    {hipsemAttrCanMapHostMemory, 1},
    {hipsemAttrClockRate, 1000000}, /* kHz */
    {hipsemAttrConcurrentKernels, 1},
    {hipsemAttrConcurrentManagedAccess, 1},
    {hipsemAttrDirectManagedMemAccessFromHost, 1},
    {hipsemAttrIntegrated, 1}, /* device memory is host memory */
    {hipsemAttrL2CacheSize, 4 << 20},
    {hipsemAttrComputeCapabilityMajor, 9},
    {hipsemAttrManagedMemory, 1},
    {hipsemAttrMaxBlockDimX, 1024},
    {hipsemAttrMaxBlockDimY, 1024},
    {hipsemAttrMaxBlockDimZ, 1024},
    {hipsemAttrMaxGridDimX, 2147483647},
    {hipsemAttrMaxGridDimY, 65536},
    {hipsemAttrMaxGridDimZ, 65536},
    {hipsemAttrMaxThreadsPerBlock, 1024},
    {hipsemAttrMaxThreadsPerMultiProcessor, 2048},
    {hipsemAttrMemoryClockRate, 1000000},
    {hipsemAttrComputeCapabilityMinor, 0},
    {hipsemAttrMultiprocessorCount, 1},
    {hipsemAttrPageableMemoryAccess, 1},
    {hipsemAttrPciBusId, 0},
    {hipsemAttrPciDeviceId, 0},
    {hipsemAttrMaxRegistersPerBlock, 65536},
    {hipsemAttrMaxSharedMemoryPerBlock, 64 << 10},
    {hipsemAttrTotalConstantMemory, 64 << 10},
    {hipsemAttrUnifiedAddressing, 1},
    {hipsemAttrWarpSize, 64},
    {hipsemAttrMemoryPoolsSupported, 1},
    {hipsemAttrVirtualMemoryManagementSupported, 0},
    {hipsemAttrHostRegisterSupported, 1},
};

hipError_t hipDeviceGet(hipDevice_t* device, int ordinal) {
    GUARD();
    if (device == NULL) return ret(hipErrorInvalidValue);
    if (ordinal != 0) return ret(hipErrorInvalidDevice);
    *device = 0;
    return hipSuccess;
}

hipError_t hipDeviceGetAttribute(int* value, int attribute, int device) {
    GUARD();
    if (value == NULL) return ret(hipErrorInvalidValue);
    if (device != 0) return ret(hipErrorInvalidDevice);
    for (size_t i = 0; i < sizeof(k_attributes) / sizeof(k_attributes[0]); i++) {
        if (k_attributes[i].attribute == attribute) {
            *value = k_attributes[i].value;
            return hipSuccess;
        }
    }
    return ret(hipErrorInvalidValue);
}

hipError_t hipDeviceGetName(char* name, int len, hipDevice_t device) {
    GUARD();
    if (name == NULL || len <= 0) return ret(hipErrorInvalidValue);
    if (device != 0) return ret(hipErrorInvalidDevice);
    snprintf(name, (size_t)len, "%s", "hipsem CPU device (test vehicle, not a GPU)");
    return hipSuccess;
}

hipError_t hipDeviceGetUuid(hipUUID* uuid, hipDevice_t device) {
    GUARD();
    if (uuid == NULL) return ret(hipErrorInvalidValue);
    if (device != 0) return ret(hipErrorInvalidDevice);
    memcpy(uuid->bytes, "hipsem-cpu-dev-0", 16);
    return hipSuccess;
}

hipError_t hipDeviceCanAccessPeer(int* can, int device, int peer) {
    GUARD();
    if (can == NULL) return ret(hipErrorInvalidValue);
    if (device != 0 || peer != 0) return ret(hipErrorInvalidDevice);
    *can = 0; /* a device is not its own peer */
    return hipSuccess;
}

hipError_t hipDeviceEnablePeerAccess(int peer, unsigned int flags) {
    GUARD();
    if (flags != 0) return ret(hipErrorInvalidValue);
    (void)peer;
    return ret(hipErrorInvalidDevice); /* the only device cannot peer with itself */
}

/* ------------------------------------------------------------------ memory pools */

struct ihipMemPool_t {
    unsigned long long release_threshold;
    unsigned long long used, used_high, reserved, reserved_high;
    int reuse[4]; /* indexed by the three hipMemPoolReuse* attributes */
    struct ihipMemPool_t* next_live;
};

typedef struct pool_alloc { /* an allocation made from a pool (or none: default) */
    void* ptr;
    size_t size;
    struct ihipMemPool_t* pool;
    marker_t* freed_at; /* hipFreeAsync: released once the stream passed this marker */
    struct pool_alloc* next;
} pool_alloc_t;

typedef struct host_range {
    void* ptr;
    size_t size;
    struct host_range* next;
} host_range_t;

static struct ihipMemPool_t* g_pools;
static pool_alloc_t* g_pool_allocs;
static host_range_t* g_host_ranges;

static int pool_is_live(hipMemPool_t pool) { /* g_lock held */
    for (struct ihipMemPool_t* it = g_pools; it != NULL; it = it->next_live)
        if (it == pool) return 1;
    return 0;
}

static void pool_account(struct ihipMemPool_t* pool, long long delta) { /* g_lock held */
    if (pool == NULL) return;
    pool->used = (unsigned long long)((long long)pool->used + delta);
    pool->reserved = pool->used > pool->release_threshold ? pool->used
                     : pool->reserved > pool->used        ? pool->reserved
                                                          : pool->used;
    if (pool->used > pool->used_high) pool->used_high = pool->used;
    if (pool->reserved > pool->reserved_high) pool->reserved_high = pool->reserved;
}

/* Unlinks a plain allocation (no device synchronize: its stream has passed the free). */
static void release_allocation(void* ptr) { /* g_lock held */
    for (alloc_t** it = &g_allocs; *it != NULL; it = &(*it)->next) {
        alloc_t* a = *it;
        if (a->ptr == ptr) {
            *it = a->next;
            g_live[HIPSEM_LIVE_ALLOCATIONS]--;
            free(a->ptr);
            free(a);
            return;
        }
    }
}

/* Releases every hipFreeAsync'd allocation whose stream passed its free point. */
static void reap_async_frees(void) { /* g_lock held */
    for (pool_alloc_t** it = &g_pool_allocs; *it != NULL;) {
        pool_alloc_t* pa = *it;
        if (pa->freed_at != NULL && pa->freed_at->done) {
            *it = pa->next;
            pool_account(pa->pool, -(long long)pa->size);
            marker_release(pa->freed_at);
            release_allocation(pa->ptr);
            free(pa);
        } else {
            it = &pa->next;
        }
    }
}

hipError_t hipMemPoolCreate(hipMemPool_t* pool, const void* props) {
    GUARD();
    if (pool == NULL || props == NULL) return ret(hipErrorInvalidValue);
    struct ihipMemPool_t* p = calloc(1, sizeof(*p));
    if (p == NULL) return ret(hipErrorOutOfMemory);
    pthread_mutex_lock(&g_lock);
    p->next_live = g_pools;
    g_pools = p;
    pthread_mutex_unlock(&g_lock);
    *pool = p;
    return hipSuccess;
}

hipError_t hipMemPoolDestroy(hipMemPool_t pool) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    if (pool == NULL || !pool_is_live(pool)) {
        pthread_mutex_unlock(&g_lock);
        return ret(hipErrorInvalidValue);
    }
    for (struct ihipMemPool_t** it = &g_pools; *it != NULL; it = &(*it)->next_live) {
        if (*it == pool) {
            *it = pool->next_live;
            break;
        }
    }
    for (pool_alloc_t* pa = g_pool_allocs; pa != NULL; pa = pa->next)
        if (pa->pool == pool) pa->pool = NULL; /* outstanding memory outlives the pool */
    pthread_mutex_unlock(&g_lock);
    free(pool);
    return hipSuccess;
}

static unsigned long long* pool_u64(struct ihipMemPool_t* p, int attr) {
    switch (attr) {
        case hipsemPoolAttrReleaseThreshold: return &p->release_threshold;
        case hipsemPoolAttrReservedMemCurrent: return &p->reserved;
        case hipsemPoolAttrReservedMemHigh: return &p->reserved_high;
        case hipsemPoolAttrUsedMemCurrent: return &p->used;
        case hipsemPoolAttrUsedMemHigh: return &p->used_high;
        default: return NULL;
    }
}

static hipError_t pool_attribute(hipMemPool_t pool, int attr, void* value, int set) {
    if (value == NULL) return ret(hipErrorInvalidValue);
    pthread_mutex_lock(&g_lock);
    hipError_t err = hipSuccess;
    unsigned long long* u64 = pool != NULL && pool_is_live(pool) ? pool_u64(pool, attr) : NULL;
    if (pool == NULL || !pool_is_live(pool)) {
        err = hipErrorInvalidValue;
    } else if (attr >= hipsemPoolReuseFollowEventDependencies &&
               attr <= hipsemPoolReuseAllowInternalDependencies) {
        if (set) pool->reuse[attr] = *(int*)value;
        else *(int*)value = pool->reuse[attr];
    } else if (u64 == NULL) {
        err = hipErrorInvalidValue;
    } else if (set) {
        /* Only the threshold is settable; the high-water marks may be reset to 0. */
        int is_high = attr == hipsemPoolAttrReservedMemHigh || attr == hipsemPoolAttrUsedMemHigh;
        unsigned long long v = *(unsigned long long*)value;
        if (attr == hipsemPoolAttrReleaseThreshold) *u64 = v;
        else if (is_high && v == 0) *u64 = 0;
        else err = hipErrorInvalidValue;
    } else {
        *(unsigned long long*)value = *u64;
    }
    pthread_mutex_unlock(&g_lock);
    return ret(err);
}

hipError_t hipMemPoolGetAttribute(hipMemPool_t pool, int attr, void* value) {
    GUARD();
    return pool_attribute(pool, attr, value, 0);
}

hipError_t hipMemPoolSetAttribute(hipMemPool_t pool, int attr, void* value) {
    GUARD();
    return pool_attribute(pool, attr, value, 1);
}

hipError_t hipMemPoolTrimTo(hipMemPool_t pool, size_t min_bytes_to_hold) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    hipError_t err = pool != NULL && pool_is_live(pool) ? hipSuccess : hipErrorInvalidValue;
    if (err == hipSuccess) {
        reap_async_frees();
        unsigned long long keep = pool->used > min_bytes_to_hold ? pool->used : min_bytes_to_hold;
        if (pool->reserved > keep) pool->reserved = keep;
    }
    pthread_mutex_unlock(&g_lock);
    return ret(err);
}

static hipError_t async_alloc(void** ptr, size_t size, struct ihipMemPool_t* pool,
                              hipStream_t stream) {
    if (ptr == NULL) return ret(hipErrorInvalidValue);
    pthread_mutex_lock(&g_lock);
    int ok = resolve_stream(stream) != NULL && (pool == NULL || pool_is_live(pool));
    reap_async_frees();
    pthread_mutex_unlock(&g_lock);
    if (!ok) return ret(pool != NULL ? hipErrorInvalidValue : hipErrorInvalidHandle);
    hipError_t err = alloc_impl(ptr, size, 0);
    if (err != hipSuccess || *ptr == NULL) return err;
    pool_alloc_t* pa = calloc(1, sizeof(*pa));
    if (pa == NULL) return ret(hipErrorOutOfMemory); /* stays a plain allocation */
    pa->ptr = *ptr;
    pa->size = size;
    pa->pool = pool;
    pthread_mutex_lock(&g_lock);
    pa->next = g_pool_allocs;
    g_pool_allocs = pa;
    pool_account(pool, (long long)size);
    pthread_mutex_unlock(&g_lock);
    return hipSuccess;
}

hipError_t hipMallocAsync(void** ptr, size_t size, hipStream_t stream) {
    GUARD();
    return async_alloc(ptr, size, NULL, stream);
}

hipError_t hipMallocFromPoolAsync(void** ptr, size_t size, hipMemPool_t pool,
                                  hipStream_t stream) {
    GUARD();
    if (pool == NULL) return ret(hipErrorInvalidValue);
    return async_alloc(ptr, size, pool, stream);
}

hipError_t hipFreeAsync(void* ptr, hipStream_t stream) {
    GUARD();
    if (ptr == NULL) return hipSuccess;
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(stream);
    pool_alloc_t* pa = g_pool_allocs;
    while (pa != NULL && (pa->ptr != ptr || pa->freed_at != NULL)) pa = pa->next;
    hipError_t err = s == NULL || s->closing ? hipErrorInvalidHandle
                     : pa == NULL            ? hipErrorInvalidValue
                                             : hipSuccess;
    cmd_t* c = err == hipSuccess ? cmd_new(CMD_RECORD) : NULL;
    marker_t* m = c != NULL ? marker_new(2) : NULL; /* one for pa, one for c */
    if (err == hipSuccess && m == NULL) {
        free(c);
        err = hipErrorOutOfMemory;
    } else if (err == hipSuccess) {
        pa->freed_at = m;
        c->marker = m;
        enqueue(s, c);
    }
    pthread_mutex_unlock(&g_lock);
    return ret(err);
}

hipError_t hipMallocManaged(hipDeviceptr_t* ptr, size_t size, unsigned int flags) {
    GUARD();
    if (flags != 1u && flags != 2u) return ret(hipErrorInvalidValue); /* Global, Host */
    return alloc_impl(ptr, size, 0);
}

hipError_t hipMemPrefetchAsync(const void* ptr, size_t size, int device, hipStream_t stream) {
    GUARD();
    if (ptr == NULL && size > 0) return ret(hipErrorInvalidValue);
    if (device != 0 && device != -1) return ret(hipErrorInvalidDevice); /* -1: the host */
    pthread_mutex_lock(&g_lock);
    int ok = resolve_stream(stream) != NULL;
    pthread_mutex_unlock(&g_lock);
    return ok ? hipSuccess : ret(hipErrorInvalidHandle);
}

/* ------------------------------------------------------------------ host memory */

hipError_t hipHostRegister(void* ptr, size_t size, unsigned int flags) {
    GUARD();
    (void)flags;
    if (ptr == NULL || size == 0) return ret(hipErrorInvalidValue);
    host_range_t* r = malloc(sizeof(*r));
    if (r == NULL) return ret(hipErrorOutOfMemory);
    r->ptr = ptr;
    r->size = size;
    pthread_mutex_lock(&g_lock);
    r->next = g_host_ranges;
    g_host_ranges = r;
    pthread_mutex_unlock(&g_lock);
    return hipSuccess;
}

hipError_t hipHostUnregister(void* ptr) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    for (host_range_t** it = &g_host_ranges; *it != NULL; it = &(*it)->next) {
        host_range_t* r = *it;
        if (r->ptr == ptr) {
            *it = r->next;
            pthread_mutex_unlock(&g_lock);
            free(r);
            return hipSuccess;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return ret(hipErrorInvalidValue); /* HIP: hipErrorHostMemoryNotRegistered */
}

static int host_pointer_known(const void* p) { /* g_lock held */
    const unsigned char* q = p;
    for (host_range_t* r = g_host_ranges; r != NULL; r = r->next)
        if (q >= (const unsigned char*)r->ptr && q < (const unsigned char*)r->ptr + r->size)
            return 1;
    for (alloc_t* a = g_allocs; a != NULL; a = a->next)
        if (a->host && a->ptr == p) return 1;
    return 0;
}

hipError_t hipHostGetDevicePointer(void** dptr, void* hptr, unsigned int flags) {
    GUARD();
    if (dptr == NULL || hptr == NULL || flags != 0) return ret(hipErrorInvalidValue);
    pthread_mutex_lock(&g_lock);
    int known = host_pointer_known(hptr);
    pthread_mutex_unlock(&g_lock);
    if (!known) return ret(hipErrorInvalidValue);
    *dptr = hptr; /* device memory is host memory */
    return hipSuccess;
}

/* ------------------------------------------------------------------ copies, memsets */

hipError_t hipMemcpyHtoDAsync(hipDeviceptr_t dst, void* src, size_t size, hipStream_t stream) {
    return hipMemcpyAsync(dst, src, size, hipMemcpyHostToDevice, stream);
}

static hipError_t memset_elements(void* dst, int value, int elem, size_t count,
                                  hipStream_t stream) {
    GUARD();
    if (count > 0 && dst == NULL) return ret(hipErrorInvalidValue);
    cmd_t* c = cmd_new(CMD_SET);
    if (c != NULL) {
        c->dst = dst;
        c->value = value;
        c->elem = elem;
        c->size = count * (size_t)elem;
    }
    return submit(stream, c);
}

hipError_t hipMemsetD8Async(void* dst, char value, size_t count, hipStream_t stream) {
    return memset_elements(dst, (unsigned char)value, 1, count, stream);
}

hipError_t hipMemsetD16Async(void* dst, short value, size_t count, hipStream_t stream) {
    return memset_elements(dst, (unsigned short)value, 2, count, stream);
}

hipError_t hipMemsetD32Async(void* dst, int value, size_t count, hipStream_t stream) {
    return memset_elements(dst, value, 4, count, stream);
}

/* ------------------------------------------------------------------ not supported */

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define NOT_SUPPORTED(...)                     \
    {                                          \
        GUARD();                               \
        return ret(hipErrorNotSupported);      \
    }

hipError_t hipFuncGetAttribute(int* v, int a, const void* f) NOT_SUPPORTED()
hipError_t hipFuncSetAttribute(const void* f, int a, int v) NOT_SUPPORTED()
hipError_t hipLaunchKernel(const void* f, dim3 g, dim3 b, void** a, size_t s,
                           hipStream_t st) NOT_SUPPORTED()
hipError_t hipModuleLoadData(hipOpaque_t* m, const void* i) NOT_SUPPORTED()
hipError_t hipModuleLoadDataEx(hipOpaque_t* m, const void* i, unsigned int n, void* o,
                               void** v) NOT_SUPPORTED()
hipError_t hipModuleUnload(hipOpaque_t m) NOT_SUPPORTED()
hipError_t hipModuleGetFunction(hipOpaque_t* f, hipOpaque_t m, const char* n) NOT_SUPPORTED()
hipError_t hipModuleGetGlobal(hipDeviceptr_t* p, size_t* s, hipOpaque_t m,
                              const char* n) NOT_SUPPORTED()
hipError_t hipModuleLaunchKernel(hipOpaque_t f, unsigned int gx, unsigned int gy,
                                 unsigned int gz, unsigned int bx, unsigned int by,
                                 unsigned int bz, unsigned int sh, hipStream_t st, void** p,
                                 void** e) NOT_SUPPORTED()
hipError_t hipGraphCreate(hipOpaque_t* g, unsigned int f) NOT_SUPPORTED()
hipError_t hipGraphDestroy(hipOpaque_t g) NOT_SUPPORTED()
hipError_t hipGraphAddEmptyNode(hipOpaque_t* n, hipOpaque_t g, const hipOpaque_t* d,
                                size_t c) NOT_SUPPORTED()
hipError_t hipGraphAddEventRecordNode(hipOpaque_t* n, hipOpaque_t g, const hipOpaque_t* d,
                                      size_t c, hipEvent_t e) NOT_SUPPORTED()
hipError_t hipGraphAddKernelNode(hipOpaque_t* n, hipOpaque_t g, const hipOpaque_t* d, size_t c,
                                 const void* p) NOT_SUPPORTED()
hipError_t hipGraphAddMemsetNode(hipOpaque_t* n, hipOpaque_t g, const hipOpaque_t* d, size_t c,
                                 const void* p) NOT_SUPPORTED()
hipError_t hipGraphInstantiate(hipOpaque_t* x, hipOpaque_t g, hipOpaque_t* e, char* l,
                               size_t n) NOT_SUPPORTED()
hipError_t hipGraphExecDestroy(hipOpaque_t x) NOT_SUPPORTED()
hipError_t hipGraphLaunch(hipOpaque_t x, hipStream_t s) NOT_SUPPORTED()
#pragma GCC diagnostic pop
