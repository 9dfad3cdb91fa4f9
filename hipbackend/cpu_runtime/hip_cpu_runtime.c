/*
 * hip_cpu_runtime.c: hipsem's CPU build of the HIP runtime subset hipsem uses.
 *
 * TEST VEHICLE ONLY: it lets hip-python and hipbackend.HipDevice run, with real threads,
 * on a machine without a GPU or ROCm. It is not HIP, not a GPU emulator and not a timing
 * model of a GPU. Memory is host memory, "device work" is memcpy/memset on a stream
 * thread (optionally slowed to a set bandwidth), there are no kernels and no modules.
 * hipbackend/cpu_runtime/__init__.py compiles it into libamdhip64.so on demand.
 *
 * Semantics (numbered as DESIGN.md's "HIP semantics the model must reproduce"):
 *  1. An event refers to its most recent record. hipEventRecord makes a new refcounted
 *     marker, enqueues it on the stream and points the event at it; the old marker lives
 *     on while commands still refer to it.
 *  2. A never-recorded event is an empty set of work: query/synchronize succeed at once,
 *     hipStreamWaitEvent on it enqueues nothing.
 *  3. hipStreamWaitEvent snapshots the event's current marker (takes a reference).
 *  4. hipEventDestroy returns at once; it only drops the event's reference, so enqueued
 *     records and waits still complete.
 *  5. Host functions: the stream thread hands (fn, userData) to ONE process-wide
 *     host-function thread and blocks until fn returns, so later work of the stream waits
 *     and host functions of all streams are serialized, in hand-over order.
 *  6. Any HIP call made on the host-function thread while a host function runs is
 *     counted (hipsemCpuHostFunctionApiCalls) and, under the default policy, refused with
 *     HIPSEM_HOST_FUNCTION_ERROR. Real HIP does not check; refusing makes the violation
 *     visible. hipsemCpuSetHostFunctionPolicy(1) performs such calls as HIP would (a
 *     blocking call that waits for the host function's own stream then deadlocks).
 *  7. Each stream has one worker thread running its commands in FIFO order; streams are
 *     independent except through event markers.
 *  8. hipStreamDestroy blocks until the stream's queued work is done, then joins its
 *     thread and frees it.
 * Sticky stream errors (docs/faults.md). A command armed to fail (hipsemCpuFailNextCommand)
 * puts its stream into an error state when the stream thread runs it. From then on the
 * stream executes nothing more: memory operations and waits are skipped, every record
 * completes its marker with the error (hipEventQuery/hipEventSynchronize answer it), host
 * functions still run (HIP documents no skipping for hipLaunchHostFunc); every later
 * enqueueing call naming the stream (hipMemcpyAsync, hipMemsetAsync, hipEventRecord,
 * hipStreamWaitEvent, hipLaunchHostFunc) and hipStreamSynchronize/hipStreamQuery answer
 * the error; hipStreamDestroy still succeeds. A stream that waits on a marker completed
 * with an error is poisoned once: its next record of an event created with
 * hipEventDisableTiming (the kind the core uses) completes with that error; records of
 * timing events (hipsem's instrumentation, HipDevice's observation) pass the poison on.
 * The NULL stream is an ordinary (lazily created, never destroyed) stream here: no legacy
 * implicit synchronization with blocking streams. hipMemcpy/hipMemset (synchronous) wait
 * for the NULL stream, then copy on the calling thread. hipFree/hipHostFree synchronize
 * the whole device first, as HIP's do. hipMemcpyAsync/hipMemsetAsync of N bytes take at
 * least N / hipsemCpuSetBandwidth(...) µs on their stream thread (0: no extra time).
 *
 * Invariants: every shared structure is guarded by the one mutex g_lock; a marker is freed
 * when its refcount (event + enqueued record/wait commands + synchronize callers) drops to
 * zero; g_progress is broadcast whenever a command finishes, a marker completes or a host
 * function returns. Live object counters let tests prove that destroy frees everything.
 *
 * HIP references: hip/hip_runtime_api.h (ABI), ROCm clr hipamd/src/hip_event.cpp and
 * hip_stream.cpp (semantics), CUDA runtime docs for cudaLaunchHostFunc.
 */
#define _GNU_SOURCE
#include "hip_cpu_runtime.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define HIPSEM_CPU_RUNTIME_NAME "hipsem-cpu-runtime 1 (test vehicle, not HIP)"
#define HIPSEM_CPU_HIP_VERSION 60400000 /* reported by hip{Driver,Runtime}GetVersion */

/* ------------------------------------------------------------------ data structures */

typedef struct marker {
    int refs;
    int done;
    int error; /* the HIP error it completed with (0: success): a stream's error state
                * or a waited marker's error (one-shot) */
    struct timespec t_done;
    unsigned long long id; /* serial, for the command trace (hip_cpu_runtime_iree.c) */
} marker_t;

typedef enum cmd_kind { CMD_COPY, CMD_SET, CMD_RECORD, CMD_WAIT, CMD_HOSTFN } cmd_kind_t;

typedef struct cmd {
    cmd_kind_t kind;
    struct cmd* next;
    void* dst;
    const void* src;
    size_t size;
    int value;
    marker_t* marker;
    hipHostFn_t fn;
    void* data;
    int elem;                  /* CMD_SET element size: 1, 2 or 4 bytes (hipMemsetD*) */
    int fail;                  /* hipsemCpuFailNextCommand: the error it fails with (0: none) */
    unsigned long long cookie; /* hipsemCpuTagNextCommand: the fault log's tag (0: none) */
    int timing;                /* CMD_RECORD of a timing event (no hipEventDisableTiming) */
    struct timespec t_enqueue; /* for the command trace */
} cmd_t;

struct ihipStream_t {
    cmd_t* head;
    cmd_t* tail;
    long pending; /* enqueued and not finished */
    int closing;
    unsigned int flags;
    int error;                       /* sticky error state (0: none), set by the thread */
    int poison;                      /* one-shot: a waited marker's error for the next record */
    int fail_next;                   /* knob: the next command enqueued fails with it */
    unsigned long long cookie_next;  /* knob: the next command enqueued carries it */
    pthread_t thread;
    pthread_cond_t cv; /* new command or closing */
    struct ihipStream_t* next_live;
};

struct ihipEvent_t {
    marker_t* cur; /* NULL: never recorded */
    unsigned int flags;
    struct ihipEvent_t* next_live;
};

typedef struct host_job {
    hipHostFn_t fn;
    void* data;
    int done;
    struct host_job* next;
} host_job_t;

typedef struct alloc {
    void* ptr;
    int host;
    struct alloc* next;
} alloc_t;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_progress = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_host_cv = PTHREAD_COND_INITIALIZER;

static struct ihipStream_t* g_streams;     /* live user streams */
static struct ihipEvent_t* g_events;       /* live events */
static alloc_t* g_allocs;                  /* live allocations */
static struct ihipStream_t* g_null_stream; /* lazily created, never destroyed */
static long g_total_pending;
static host_job_t* g_host_head;
static host_job_t* g_host_tail;
static int g_host_started;
static double g_bytes_per_us; /* 0: memcpy/memset async take no extra time */
static atomic_int g_host_fn_policy; /* 0: refuse HIP calls from host functions, 1: allow */
static unsigned long long g_marker_serial; /* last marker id handed out */

static long long g_live[5];
static atomic_ullong g_host_fn_api_calls;
static atomic_ullong g_host_fns_run;
static atomic_ullong g_api_calls;

static __thread int t_in_host_fn;
static __thread hipError_t t_last_error;

/* ------------------------------------------------------------------ helpers */

static hipError_t ret(hipError_t err) {
    if (err != hipSuccess && err != hipErrorNotReady) t_last_error = err;
    return err;
}

static hipError_t hipsem_fault_check(const char* entry);

/* Every HIP entry point starts with GUARD(): rule 6 check, call accounting and the one
 * fault check (hipsem_fault_check, "fault injection" below). */
#define GUARD()                                                        \
    do {                                                               \
        atomic_fetch_add(&g_api_calls, 1);                             \
        if (t_in_host_fn) {                                            \
            atomic_fetch_add(&g_host_fn_api_calls, 1);                 \
            if (atomic_load(&g_host_fn_policy) == 0)                   \
                return ret(HIPSEM_HOST_FUNCTION_ERROR);                \
        }                                                              \
        hipError_t fault_ = hipsem_fault_check(__func__);              \
        if (fault_ != hipSuccess) return ret(fault_);                  \
    } while (0)

static void* stream_main(void* arg);

static void marker_release(marker_t* m) { /* g_lock held */
    if (m != NULL && --m->refs == 0) {
        free(m);
        g_live[HIPSEM_LIVE_MARKERS]--;
    }
}

static marker_t* marker_new(int refs) { /* g_lock held */
    marker_t* m = calloc(1, sizeof(*m));
    if (m == NULL) return NULL;
    m->refs = refs;
    m->id = ++g_marker_serial;
    g_live[HIPSEM_LIVE_MARKERS]++;
    return m;
}

static void marker_complete(marker_t* m) { /* g_lock held */
    clock_gettime(CLOCK_MONOTONIC, &m->t_done);
    m->done = 1;
    pthread_cond_broadcast(&g_progress);
}

static void wait_marker(marker_t* m) { /* g_lock held */
    while (!m->done) pthread_cond_wait(&g_progress, &g_lock);
}

static int stream_is_live(hipStream_t s) { /* g_lock held */
    for (struct ihipStream_t* it = g_streams; it != NULL; it = it->next_live)
        if (it == s) return 1;
    return 0;
}

static int event_is_live(hipEvent_t e) { /* g_lock held */
    for (struct ihipEvent_t* it = g_events; it != NULL; it = it->next_live)
        if (it == e) return 1;
    return 0;
}

static struct ihipStream_t* stream_new(unsigned int flags) { /* g_lock held */
    struct ihipStream_t* s = calloc(1, sizeof(*s));
    if (s == NULL) return NULL;
    s->flags = flags;
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
        pthread_cond_destroy(&s->cv);
        free(s);
        return NULL;
    }
    return s;
}

/* The stream a handle names: NULL and hipStreamPerThread ((hipStream_t)2) are the NULL
 * stream. Returns NULL for an unknown handle or when the NULL stream cannot be made. */
static struct ihipStream_t* resolve_stream(hipStream_t s) { /* g_lock held */
    if (s == NULL || s == (hipStream_t)(uintptr_t)2) {
        if (g_null_stream == NULL) g_null_stream = stream_new(hipStreamDefault);
        return g_null_stream;
    }
    return stream_is_live(s) ? s : NULL;
}

static cmd_t* cmd_new(cmd_kind_t kind) {
    cmd_t* c = calloc(1, sizeof(*c));
    if (c != NULL) c->kind = kind;
    return c;
}

static void enqueue(struct ihipStream_t* s, cmd_t* c) { /* g_lock held */
    c->fail = s->fail_next; /* the per-stream knobs go to the next command enqueued */
    c->cookie = s->cookie_next;
    s->fail_next = 0;
    s->cookie_next = 0;
    if (s->tail != NULL) s->tail->next = c;
    else s->head = c;
    s->tail = c;
    clock_gettime(CLOCK_MONOTONIC, &c->t_enqueue);
    s->pending++;
    g_total_pending++;
    g_live[HIPSEM_LIVE_COMMANDS]++;
    pthread_cond_signal(&s->cv);
}

/* A stream in the error state refuses every enqueueing call with its error (and drops
 * the knobs armed for the command that is not enqueued). */
static hipError_t stream_refuses(struct ihipStream_t* s) { /* g_lock held */
    if (s->error == 0) return hipSuccess;
    s->fail_next = 0;
    s->cookie_next = 0;
    return (hipError_t)s->error;
}

/* Validate the stream and enqueue `c`, or free it and return the error. */
static hipError_t submit(hipStream_t stream, cmd_t* c) {
    if (c == NULL) return ret(hipErrorOutOfMemory);
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(stream);
    hipError_t err = (s == NULL || s->closing) ? hipErrorInvalidHandle : stream_refuses(s);
    if (err != hipSuccess) {
        marker_release(c->marker);
        pthread_mutex_unlock(&g_lock);
        free(c);
        return ret(err);
    }
    enqueue(s, c);
    pthread_mutex_unlock(&g_lock);
    return hipSuccess;
}

static void wait_stream_idle(struct ihipStream_t* s) { /* g_lock held */
    while (s->pending > 0) pthread_cond_wait(&g_progress, &g_lock);
}

static void sleep_until(const struct timespec* start, double us) {
    if (us <= 0) return;
    struct timespec t = *start;
    long long ns = (long long)(us * 1000.0);
    t.tv_sec += (time_t)(ns / 1000000000LL);
    t.tv_nsec += (long)(ns % 1000000000LL);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec += 1;
        t.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
    }
}

/* The IREE surface and the command trace: a second file, compiled in this translation
 * unit so that it shares the internals above. */
#include "hip_cpu_runtime_iree.c"

/* ------------------------------------------------------------------ threads */

static void* host_main(void* arg) {
    (void)arg;
    pthread_mutex_lock(&g_lock);
    for (;;) {
        while (g_host_head == NULL) pthread_cond_wait(&g_host_cv, &g_lock);
        host_job_t* job = g_host_head;
        g_host_head = job->next;
        if (g_host_head == NULL) g_host_tail = NULL;
        pthread_mutex_unlock(&g_lock);
        t_in_host_fn = 1;
        job->fn(job->data);
        t_in_host_fn = 0;
        atomic_fetch_add(&g_host_fns_run, 1);
        pthread_mutex_lock(&g_lock);
        job->done = 1;
        pthread_cond_broadcast(&g_progress);
    }
    return NULL;
}

static void run_host_fn(cmd_t* c) { /* g_lock held; blocks until fn returned */
    host_job_t job = {c->fn, c->data, 0, NULL};
    if (g_host_tail != NULL) g_host_tail->next = &job;
    else g_host_head = &job;
    g_host_tail = &job;
    pthread_cond_signal(&g_host_cv);
    while (!job.done) pthread_cond_wait(&g_progress, &g_lock);
}

static void run_memory_op(cmd_t* c) { /* g_lock held on entry and exit */
    double bw = g_bytes_per_us;
    pthread_mutex_unlock(&g_lock);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (c->kind == CMD_COPY) memmove(c->dst, c->src, c->size);
    else if (c->elem > 1) fill_elements(c->dst, c->value, c->elem, c->size);
    else memset(c->dst, c->value, c->size);
    if (bw > 0) sleep_until(&start, (double)c->size / bw);
    pthread_mutex_lock(&g_lock);
}

static void fault_log(int kind, int err, unsigned long long cookie); /* fault injection */

/* A command on a stream in the error state: nothing is executed but host functions; a
 * record's marker completes with the error; a skipped tagged command is logged. */
static void skip_command(struct ihipStream_t* s, cmd_t* c) { /* g_lock held */
    if (c->kind == CMD_RECORD) {
        c->marker->error = s->error;
        s->poison = 0;
        marker_complete(c->marker);
    } else if (c->kind == CMD_HOSTFN) {
        run_host_fn(c);
    } else if (c->cookie != 0) {
        fault_log(HIPSEM_FAULT_SKIPPED, s->error, c->cookie);
    }
}

static void run_command(struct ihipStream_t* s, cmd_t* c) { /* g_lock held */
    if (s->error != 0) {
        skip_command(s, c);
    } else {
        switch (c->kind) {
            case CMD_COPY:
            case CMD_SET: run_memory_op(c); break;
            case CMD_RECORD:
                if (!c->timing) { /* one-shot propagation of a waited error; timing */
                    c->marker->error = s->poison; /* events (instrumentation) pass it on */
                    s->poison = 0;
                }
                marker_complete(c->marker);
                break;
            case CMD_WAIT:
                wait_marker(c->marker);
                if (s->poison == 0) s->poison = c->marker->error;
                break;
            case CMD_HOSTFN: run_host_fn(c); break;
        }
        if (c->fail != 0) { /* the command failed: the stream enters the error state */
            s->error = c->fail;
            fault_log(HIPSEM_FAULT_STREAM_ERROR, c->fail, c->cookie);
        }
    }
    marker_release(c->marker);
}

static void* stream_main(void* arg) {
    struct ihipStream_t* s = arg;
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); /* µs-accurate sleeps */
    pthread_mutex_lock(&g_lock);
    for (;;) {
        while (s->head == NULL && !s->closing) pthread_cond_wait(&s->cv, &g_lock);
        if (s->head == NULL) break; /* closing and drained */
        cmd_t* c = s->head;
        s->head = c->next;
        if (s->head == NULL) s->tail = NULL;
        trace_entry_t traced;
        trace_begin(&traced, s, c);
        run_command(s, c);
        trace_end(&traced);
        free(c);
        g_live[HIPSEM_LIVE_COMMANDS]--;
        s->pending--;
        g_total_pending--;
        pthread_cond_broadcast(&g_progress);
    }
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

/* ------------------------------------------------------------------ device, errors */

hipError_t hipInit(unsigned int flags) {
    GUARD();
    return flags == 0 ? hipSuccess : ret(hipErrorInvalidValue);
}

hipError_t hipDriverGetVersion(int* v) {
    GUARD();
    if (v == NULL) return ret(hipErrorInvalidValue);
    *v = HIPSEM_CPU_HIP_VERSION;
    return hipSuccess;
}

hipError_t hipRuntimeGetVersion(int* v) { return hipDriverGetVersion(v); }

hipError_t hipGetDeviceCount(int* count) {
    GUARD();
    if (count == NULL) return ret(hipErrorInvalidValue);
    *count = 1;
    return hipSuccess;
}

hipError_t hipSetDevice(int id) {
    GUARD();
    return id == 0 ? hipSuccess : ret(hipErrorInvalidDevice);
}

hipError_t hipGetDevice(int* id) {
    GUARD();
    if (id == NULL) return ret(hipErrorInvalidValue);
    *id = 0;
    return hipSuccess;
}

hipError_t hipDeviceSynchronize(void) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    while (g_total_pending > 0) pthread_cond_wait(&g_progress, &g_lock);
    pthread_mutex_unlock(&g_lock);
    return hipSuccess;
}

hipError_t hipGetLastError(void) {
    GUARD();
    hipError_t e = t_last_error;
    t_last_error = hipSuccess;
    return e;
}

hipError_t hipPeekAtLastError(void) {
    GUARD();
    return t_last_error;
}

typedef struct error_text {
    hipError_t code;
    const char* name;
    const char* text;
} error_text_t;

static const error_text_t k_errors[] = {
    {hipSuccess, "hipSuccess", "no error"},
    {hipErrorInvalidValue, "hipErrorInvalidValue", "invalid argument"},
    {hipErrorOutOfMemory, "hipErrorOutOfMemory", "out of memory"},
    {hipErrorNotInitialized, "hipErrorNotInitialized", "initialization error"},
    {hipErrorInvalidMemcpyDirection, "hipErrorInvalidMemcpyDirection",
     "invalid copy direction for memcpy"},
    {hipErrorNoDevice, "hipErrorNoDevice", "no ROCm-capable device is detected"},
    {hipErrorInvalidDevice, "hipErrorInvalidDevice", "invalid device ordinal"},
    {hipErrorInvalidContext, "hipErrorInvalidContext", "invalid device context"},
    {hipErrorInvalidHandle, "hipErrorInvalidHandle", "invalid resource handle"},
    {hipErrorIllegalState, "hipErrorIllegalState",
     "the operation is not permitted in the current state (hipsem CPU runtime: HIP call "
     "from inside a host function)"},
    {hipErrorNotFound, "hipErrorNotFound", "named symbol not found"},
    {hipErrorNotReady, "hipErrorNotReady", "device not ready"},
    {hipErrorNotSupported, "hipErrorNotSupported", "operation not supported"},
    /* errors only fault injection returns (docs/faults.md) */
    {hipErrorDeinitialized, "hipErrorDeinitialized", "driver shutting down"},
    {hipErrorECCNotCorrectable, "hipErrorECCNotCorrectable", "uncorrectable ECC error"},
    {hipErrorIllegalAddress, "hipErrorIllegalAddress", "an illegal memory access was "
     "encountered"},
    {hipErrorLaunchOutOfResources, "hipErrorLaunchOutOfResources", "too many resources "
     "requested for launch"},
    {hipErrorLaunchTimeOut, "hipErrorLaunchTimeOut", "the launch timed out"},
    {hipErrorContextIsDestroyed, "hipErrorContextIsDestroyed", "context is destroyed"},
    {hipErrorAssert, "hipErrorAssert", "device-side assert triggered"},
    {hipErrorLaunchFailure, "hipErrorLaunchFailure", "unspecified launch failure"},
    {hipErrorUnknown, "hipErrorUnknown", "unknown error"},
};

static const error_text_t* find_error(hipError_t e) {
    for (size_t i = 0; i < sizeof(k_errors) / sizeof(k_errors[0]); i++)
        if (k_errors[i].code == e) return &k_errors[i];
    return NULL;
}

const char* hipGetErrorName(hipError_t e) {
    const error_text_t* t = find_error(e);
    return t != NULL ? t->name : "hipErrorUnknown";
}

const char* hipGetErrorString(hipError_t e) {
    const error_text_t* t = find_error(e);
    return t != NULL ? t->text : "unknown error";
}

/* ------------------------------------------------------------------ memory */

static hipError_t alloc_impl(void** ptr, size_t size, int host) {
    if (ptr == NULL) return ret(hipErrorInvalidValue);
    *ptr = NULL;
    if (size == 0) return hipSuccess;
    alloc_t* a = malloc(sizeof(*a));
    void* p = calloc(1, size);
    if (a == NULL || p == NULL) {
        free(a);
        free(p);
        return ret(hipErrorOutOfMemory);
    }
    a->ptr = p;
    a->host = host;
    pthread_mutex_lock(&g_lock);
    a->next = g_allocs;
    g_allocs = a;
    g_live[HIPSEM_LIVE_ALLOCATIONS]++;
    pthread_mutex_unlock(&g_lock);
    *ptr = p;
    return hipSuccess;
}

/* Like HIP's, hipFree/hipHostFree synchronize the device first: async work may still
 * be using the memory. */
static hipError_t free_impl(void* ptr, int host) {
    if (ptr == NULL) return hipSuccess;
    pthread_mutex_lock(&g_lock);
    while (g_total_pending > 0) pthread_cond_wait(&g_progress, &g_lock);
    for (alloc_t** it = &g_allocs; *it != NULL; it = &(*it)->next) {
        alloc_t* a = *it;
        if (a->ptr == ptr && a->host == host) {
            *it = a->next;
            g_live[HIPSEM_LIVE_ALLOCATIONS]--;
            pthread_mutex_unlock(&g_lock);
            free(a->ptr);
            free(a);
            return hipSuccess;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return ret(hipErrorInvalidValue);
}

hipError_t hipMalloc(void** ptr, size_t size) {
    GUARD();
    return alloc_impl(ptr, size, 0);
}

hipError_t hipFree(void* ptr) {
    GUARD();
    return free_impl(ptr, 0);
}

hipError_t hipHostMalloc(void** ptr, size_t size, unsigned int flags) {
    GUARD();
    (void)flags;
    return alloc_impl(ptr, size, 1);
}

hipError_t hipHostFree(void* ptr) {
    GUARD();
    return free_impl(ptr, 1);
}

static hipError_t check_copy(void* dst, const void* src, size_t size, hipMemcpyKind kind) {
    if ((unsigned)kind > hipMemcpyDefault) return hipErrorInvalidMemcpyDirection;
    if (size > 0 && (dst == NULL || src == NULL)) return hipErrorInvalidValue;
    return hipSuccess;
}

static void sync_null_stream(void) {
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(NULL);
    if (s != NULL) wait_stream_idle(s);
    pthread_mutex_unlock(&g_lock);
}

hipError_t hipMemcpy(void* dst, const void* src, size_t size, hipMemcpyKind kind) {
    GUARD();
    hipError_t err = check_copy(dst, src, size, kind);
    if (err != hipSuccess) return ret(err);
    sync_null_stream();
    if (size > 0) memmove(dst, src, size);
    return hipSuccess;
}

hipError_t hipMemcpyAsync(void* dst, const void* src, size_t size, hipMemcpyKind kind,
                          hipStream_t stream) {
    GUARD();
    hipError_t err = check_copy(dst, src, size, kind);
    if (err != hipSuccess) return ret(err);
    cmd_t* c = cmd_new(CMD_COPY);
    if (c != NULL) {
        c->dst = dst;
        c->src = src;
        c->size = size;
    }
    return submit(stream, c);
}

hipError_t hipMemset(void* dst, int value, size_t size) {
    GUARD();
    if (size > 0 && dst == NULL) return ret(hipErrorInvalidValue);
    sync_null_stream();
    if (size > 0) memset(dst, value, size);
    return hipSuccess;
}

hipError_t hipMemsetAsync(void* dst, int value, size_t size, hipStream_t stream) {
    GUARD();
    if (size > 0 && dst == NULL) return ret(hipErrorInvalidValue);
    cmd_t* c = cmd_new(CMD_SET);
    if (c != NULL) {
        c->dst = dst;
        c->value = value;
        c->size = size;
    }
    return submit(stream, c);
}

/* ------------------------------------------------------------------ streams */

hipError_t hipStreamCreateWithFlags(hipStream_t* stream, unsigned int flags) {
    GUARD();
    if (stream == NULL || (flags & ~hipStreamNonBlocking) != 0) return ret(hipErrorInvalidValue);
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = stream_new(flags);
    if (s != NULL) {
        s->next_live = g_streams;
        g_streams = s;
        g_live[HIPSEM_LIVE_STREAMS]++;
    }
    pthread_mutex_unlock(&g_lock);
    if (s == NULL) return ret(hipErrorOutOfMemory);
    *stream = s;
    return hipSuccess;
}

hipError_t hipStreamCreate(hipStream_t* stream) {
    return hipStreamCreateWithFlags(stream, hipStreamDefault);
}

hipError_t hipStreamGetFlags(hipStream_t stream, unsigned int* flags) {
    GUARD();
    if (flags == NULL) return ret(hipErrorInvalidValue);
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(stream);
    if (s != NULL) *flags = s->flags;
    pthread_mutex_unlock(&g_lock);
    return s != NULL ? hipSuccess : ret(hipErrorInvalidHandle);
}

hipError_t hipStreamDestroy(hipStream_t stream) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    if (stream == NULL || !stream_is_live(stream)) {
        pthread_mutex_unlock(&g_lock);
        return ret(hipErrorInvalidHandle);
    }
    for (struct ihipStream_t** it = &g_streams; *it != NULL; it = &(*it)->next_live) {
        if (*it == stream) {
            *it = stream->next_live;
            break;
        }
    }
    g_live[HIPSEM_LIVE_STREAMS]--;
    stream->closing = 1;
    pthread_cond_signal(&stream->cv);
    pthread_mutex_unlock(&g_lock);
    pthread_join(stream->thread, NULL); /* rule 8: the thread drains the queue first */
    pthread_cond_destroy(&stream->cv);
    free(stream);
    return hipSuccess;
}

hipError_t hipStreamSynchronize(hipStream_t stream) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(stream);
    if (s != NULL) wait_stream_idle(s);
    hipError_t err = s == NULL ? hipErrorInvalidHandle : (hipError_t)s->error;
    pthread_mutex_unlock(&g_lock);
    return ret(err);
}

hipError_t hipStreamQuery(hipStream_t stream) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(stream);
    hipError_t err = s == NULL ? hipErrorInvalidHandle
                     : s->pending > 0 ? hipErrorNotReady
                                      : (hipError_t)s->error;
    pthread_mutex_unlock(&g_lock);
    return ret(err);
}

hipError_t hipStreamWaitEvent(hipStream_t stream, hipEvent_t event, unsigned int flags) {
    GUARD();
    if (flags > 1u) return ret(hipErrorInvalidValue); /* hipEventWait{Default,External} */
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(stream);
    if (s == NULL || s->closing || event == NULL || !event_is_live(event)) {
        pthread_mutex_unlock(&g_lock);
        return ret(hipErrorInvalidHandle);
    }
    hipError_t refused = stream_refuses(s);
    if (refused != hipSuccess) {
        pthread_mutex_unlock(&g_lock);
        return ret(refused);
    }
    marker_t* m = event->cur; /* rule 3: snapshot; rule 2: none -> no-op */
    cmd_t* c = m != NULL ? cmd_new(CMD_WAIT) : NULL;
    if (c != NULL) {
        m->refs++;
        c->marker = m;
        enqueue(s, c);
    }
    pthread_mutex_unlock(&g_lock);
    return (m != NULL && c == NULL) ? ret(hipErrorOutOfMemory) : hipSuccess;
}

hipError_t hipLaunchHostFunc(hipStream_t stream, hipHostFn_t fn, void* userData) {
    GUARD();
    if (fn == NULL) return ret(hipErrorInvalidValue);
    pthread_mutex_lock(&g_lock);
    if (!g_host_started) {
        pthread_t t;
        if (pthread_create(&t, NULL, host_main, NULL) != 0) {
            pthread_mutex_unlock(&g_lock);
            return ret(hipErrorOutOfMemory);
        }
        pthread_detach(t); /* process-wide, lives as long as the process */
        g_host_started = 1;
    }
    pthread_mutex_unlock(&g_lock);
    cmd_t* c = cmd_new(CMD_HOSTFN);
    if (c != NULL) {
        c->fn = fn;
        c->data = userData;
    }
    return submit(stream, c);
}

/* ------------------------------------------------------------------ events */

hipError_t hipEventCreateWithFlags(hipEvent_t* event, unsigned int flags) {
    GUARD();
    const unsigned int known = 0x7u | 0x20000000u | 0x40000000u | 0x80000000u;
    if (event == NULL || (flags & ~known) != 0) return ret(hipErrorInvalidValue);
    struct ihipEvent_t* e = calloc(1, sizeof(*e));
    if (e == NULL) return ret(hipErrorOutOfMemory);
    e->flags = flags;
    pthread_mutex_lock(&g_lock);
    e->next_live = g_events;
    g_events = e;
    g_live[HIPSEM_LIVE_EVENTS]++;
    pthread_mutex_unlock(&g_lock);
    *event = e;
    return hipSuccess;
}

hipError_t hipEventCreate(hipEvent_t* event) {
    return hipEventCreateWithFlags(event, hipEventDefault);
}

hipError_t hipEventDestroy(hipEvent_t event) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    if (event == NULL || !event_is_live(event)) {
        pthread_mutex_unlock(&g_lock);
        return ret(hipErrorInvalidHandle);
    }
    for (struct ihipEvent_t** it = &g_events; *it != NULL; it = &(*it)->next_live) {
        if (*it == event) {
            *it = event->next_live;
            break;
        }
    }
    g_live[HIPSEM_LIVE_EVENTS]--;
    marker_release(event->cur); /* rule 4: enqueued records/waits keep their references */
    pthread_mutex_unlock(&g_lock);
    free(event);
    return hipSuccess;
}

hipError_t hipEventRecord(hipEvent_t event, hipStream_t stream) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(stream);
    if (s == NULL || s->closing || event == NULL || !event_is_live(event)) {
        pthread_mutex_unlock(&g_lock);
        return ret(hipErrorInvalidHandle);
    }
    hipError_t refused = stream_refuses(s);
    if (refused != hipSuccess) {
        pthread_mutex_unlock(&g_lock);
        return ret(refused);
    }
    cmd_t* c = cmd_new(CMD_RECORD);
    marker_t* m = c != NULL ? marker_new(2) : NULL; /* one for the event, one for c */
    if (m == NULL) {
        pthread_mutex_unlock(&g_lock);
        free(c);
        return ret(hipErrorOutOfMemory);
    }
    marker_release(event->cur); /* rule 1: the event now refers to the new record */
    event->cur = m;
    c->marker = m;
    c->timing = (event->flags & hipEventDisableTiming) == 0;
    enqueue(s, c);
    pthread_mutex_unlock(&g_lock);
    return hipSuccess;
}

hipError_t hipEventQuery(hipEvent_t event) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    hipError_t err = (event == NULL || !event_is_live(event)) ? hipErrorInvalidHandle
                     : event->cur == NULL                     ? hipSuccess
                     : event->cur->done ? (hipError_t)event->cur->error /* failed work */
                                        : hipErrorNotReady;
    pthread_mutex_unlock(&g_lock);
    return ret(err);
}

hipError_t hipEventSynchronize(hipEvent_t event) {
    GUARD();
    pthread_mutex_lock(&g_lock);
    if (event == NULL || !event_is_live(event)) {
        pthread_mutex_unlock(&g_lock);
        return ret(hipErrorInvalidHandle);
    }
    marker_t* m = event->cur;
    hipError_t work = hipSuccess;
    if (m != NULL) {
        m->refs++; /* the event may be re-recorded or destroyed while we wait */
        wait_marker(m);
        work = (hipError_t)m->error; /* the work before the record failed */
        marker_release(m);
    }
    pthread_mutex_unlock(&g_lock);
    hipError_t lost = hipsem_fault_check(__func__); /* the device may be lost meanwhile */
    return ret(lost != hipSuccess ? lost : work);
}

hipError_t hipEventElapsedTime(float* ms, hipEvent_t start, hipEvent_t stop) {
    GUARD();
    if (ms == NULL) return ret(hipErrorInvalidValue);
    pthread_mutex_lock(&g_lock);
    hipError_t err = hipSuccess;
    if (start == NULL || stop == NULL || !event_is_live(start) || !event_is_live(stop) ||
        ((start->flags | stop->flags) & hipEventDisableTiming) || start->cur == NULL ||
        stop->cur == NULL) {
        err = hipErrorInvalidHandle;
    } else if (!start->cur->done || !stop->cur->done) {
        err = hipErrorNotReady;
    } else if (start->cur->error != 0 || stop->cur->error != 0) {
        err = (hipError_t)(start->cur->error != 0 ? start->cur->error : stop->cur->error);
    } else {
        const struct timespec* a = &start->cur->t_done;
        const struct timespec* b = &stop->cur->t_done;
        *ms = (float)((double)(b->tv_sec - a->tv_sec) * 1e3 +
                      (double)(b->tv_nsec - a->tv_nsec) / 1e6);
    }
    pthread_mutex_unlock(&g_lock);
    return ret(err);
}

/* ------------------------------------------------------------------ hipsem extras */

const char* hipsemCpuRuntimeName(void) { return HIPSEM_CPU_RUNTIME_NAME; }

void hipsemCpuSetBandwidth(double bytes_per_us) {
    pthread_mutex_lock(&g_lock);
    g_bytes_per_us = bytes_per_us > 0 ? bytes_per_us : 0;
    pthread_mutex_unlock(&g_lock);
}

double hipsemCpuGetBandwidth(void) {
    pthread_mutex_lock(&g_lock);
    double bw = g_bytes_per_us;
    pthread_mutex_unlock(&g_lock);
    return bw;
}

unsigned long long hipsemCpuHostFunctionApiCalls(void) {
    return atomic_load(&g_host_fn_api_calls);
}

void hipsemCpuResetHostFunctionApiCalls(void) { atomic_store(&g_host_fn_api_calls, 0); }

unsigned long long hipsemCpuHostFunctionsRun(void) { return atomic_load(&g_host_fns_run); }

unsigned long long hipsemCpuApiCalls(void) { return atomic_load(&g_api_calls); }

long long hipsemCpuLiveCount(int kind) {
    if (kind < 0 || kind >= (int)(sizeof(g_live) / sizeof(g_live[0]))) return -1;
    pthread_mutex_lock(&g_lock);
    long long n = g_live[kind];
    pthread_mutex_unlock(&g_lock);
    return n;
}

int hipsemCpuInHostFunction(void) { return t_in_host_fn; }

void hipsemCpuSetHostFunctionPolicy(int allow) {
    atomic_store(&g_host_fn_policy, allow ? 1 : 0);
}

int hipsemCpuGetHostFunctionPolicy(void) { return atomic_load(&g_host_fn_policy); }

/* ------------------------------------------------------------------ fault injection
 * hipsem's fault knob (docs/faults.md). The Python side decides which device call fails
 * (model/faults.py counts calls the same way on every backend) and, right before making
 * the HIP call, arms hipsemCpuFailNextCall(err) on its thread: the next guarded entry
 * point on that thread returns err and does nothing. hipsemCpuSetDeviceLost(after_us, err)
 * loses the device after_us from now: every later entry point but the releases (destroy,
 * free) returns err, and so does a synchronize whose wait ended after it.
 * hipsemCpuClearFaults() disarms both.
 *
 * Device-work faults are per stream: hipsemCpuFailNextCommand(stream, err) makes the next
 * command enqueued on `stream` fail with err when the stream thread runs it, which puts
 * the stream into its sticky error state (top of this file); hipsemCpuTagNextCommand
 * (stream, cookie) gives the next command enqueued a cookie for the fault log. The log
 * (hipsemCpuFaultLogEntry) is the runtime's ground truth: each stream error set (the
 * failing command's cookie) and each tagged command an errored stream skipped, with the
 * CLOCK_MONOTONIC time the stream thread did it; hipsemCpuClearFaultLog() empties it.
 * hipsemCpuStreamError(stream) reads a stream's error state (0: none). */

static __thread int t_fail_next;
static atomic_int g_lost_error;
static atomic_llong g_lost_at_ns = -1; /* CLOCK_MONOTONIC ns; -1: never */

static long long monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int releases(const char* entry) {
    return strstr(entry, "Destroy") != NULL || strstr(entry, "Free") != NULL;
}

static hipError_t hipsem_fault_check(const char* entry) {
    if (t_fail_next != 0) {
        hipError_t err = (hipError_t)t_fail_next;
        t_fail_next = 0;
        return err;
    }
    long long at = atomic_load(&g_lost_at_ns);
    if (at >= 0 && !releases(entry) && monotonic_ns() >= at)
        return (hipError_t)atomic_load(&g_lost_error);
    return hipSuccess;
}

void hipsemCpuFailNextCall(int err) { t_fail_next = err; }

void hipsemCpuSetDeviceLost(double after_us, int err) {
    atomic_store(&g_lost_error, err);
    atomic_store(&g_lost_at_ns, monotonic_ns() + (long long)(after_us * 1e3));
}

int hipsemCpuDeviceLost(void) {
    long long at = atomic_load(&g_lost_at_ns);
    return at >= 0 && monotonic_ns() >= at;
}

typedef struct fault_entry {
    int kind;
    int err;
    unsigned long long cookie;
    long long t_ns;
} fault_entry_t;

static fault_entry_t* g_fault_log; /* guarded by g_lock */
static size_t g_fault_log_len, g_fault_log_cap;

static void fault_log(int kind, int err, unsigned long long cookie) { /* g_lock held */
    if (g_fault_log_len == g_fault_log_cap) {
        size_t cap = g_fault_log_cap ? 2 * g_fault_log_cap : 64;
        fault_entry_t* grown = realloc(g_fault_log, cap * sizeof(*grown));
        if (grown == NULL) return; /* out of memory: the entry is lost, the run goes on */
        g_fault_log = grown;
        g_fault_log_cap = cap;
    }
    fault_entry_t* e = &g_fault_log[g_fault_log_len++];
    e->kind = kind;
    e->err = err;
    e->cookie = cookie;
    e->t_ns = monotonic_ns();
}

void hipsemCpuClearFaults(void) {
    t_fail_next = 0;
    atomic_store(&g_lost_at_ns, -1);
}

void hipsemCpuClearFaultLog(void) {
    pthread_mutex_lock(&g_lock);
    g_fault_log_len = 0;
    pthread_mutex_unlock(&g_lock);
}

void hipsemCpuFailNextCommand(hipStream_t stream, int err) {
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(stream);
    if (s != NULL) s->fail_next = err;
    pthread_mutex_unlock(&g_lock);
}

void hipsemCpuTagNextCommand(hipStream_t stream, unsigned long long cookie) {
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(stream);
    if (s != NULL) s->cookie_next = cookie;
    pthread_mutex_unlock(&g_lock);
}

int hipsemCpuStreamError(hipStream_t stream) {
    pthread_mutex_lock(&g_lock);
    struct ihipStream_t* s = resolve_stream(stream);
    int err = s != NULL ? s->error : (int)hipErrorInvalidHandle;
    pthread_mutex_unlock(&g_lock);
    return err;
}

int hipsemCpuFaultLogEntry(int index, int* kind, int* err, unsigned long long* cookie,
                           long long* t_ns) {
    pthread_mutex_lock(&g_lock);
    int found = index >= 0 && (size_t)index < g_fault_log_len;
    if (found) {
        const fault_entry_t* e = &g_fault_log[index];
        *kind = e->kind;
        *err = e->err;
        *cookie = e->cookie;
        *t_ns = e->t_ns;
    }
    pthread_mutex_unlock(&g_lock);
    return found;
}
