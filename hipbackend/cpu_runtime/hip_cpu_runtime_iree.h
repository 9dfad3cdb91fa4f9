/*
 * hip_cpu_runtime_iree.h: the part of hipsem's CPU runtime ABI that only IREE's HIP HAL
 * driver needs (runtime/src/iree/hal/drivers/hip/dynamic_symbol_tables.h), plus the
 * command trace that hipsem's IREE backend reads as ground truth.
 *
 * TEST VEHICLE ONLY (see hip_cpu_runtime.h): contexts, device attributes, memory pools,
 * stream-ordered allocation, host registration and typed memsets behave as HIP
 * documents them on one CPU "device"; kernels, modules and graphs are not supported and
 * answer hipErrorNotSupported. hipbackend/cpu_runtime/iree_surface.py lists which
 * symbols are which; tests/unit/test_cpu_runtime_iree_surface.py checks that list
 * against what IREE's loader actually requires.
 *
 * Types follow hip/hip_runtime_api.h: hipDevice_t is an int ordinal; hipCtx_t,
 * hipMemPool_t, hipModule_t, hipFunction_t, hipGraph_t, hipGraphExec_t, hipGraphNode_t
 * are opaque pointers; enums are passed as int.
 */
#ifndef HIPSEM_HIP_CPU_RUNTIME_IREE_H
#define HIPSEM_HIP_CPU_RUNTIME_IREE_H

#include "hip_cpu_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int hipDevice_t;
typedef struct ihipCtx_t* hipCtx_t;
typedef struct ihipMemPool_t* hipMemPool_t;
typedef void* hipDeviceptr_t;
typedef void* hipOpaque_t; /* modules, functions, graphs: never created here */
typedef struct hipUUID_t {
    char bytes[16];
} hipUUID;
typedef struct dim3 {
    unsigned int x, y, z;
} dim3;

/* hipDeviceAttribute_t values the CPU device answers (HIP 6.x numbering). */
enum hipsemCpuDeviceAttribute {
    hipsemAttrAsyncEngineCount = 2,
    hipsemAttrCanMapHostMemory = 3,
    hipsemAttrClockRate = 5,
    hipsemAttrConcurrentKernels = 8,
    hipsemAttrConcurrentManagedAccess = 9,
    hipsemAttrDirectManagedMemAccessFromHost = 13,
    hipsemAttrIntegrated = 16,
    hipsemAttrL2CacheSize = 19,
    hipsemAttrComputeCapabilityMajor = 23,
    hipsemAttrManagedMemory = 24,
    hipsemAttrMaxBlockDimX = 26,
    hipsemAttrMaxBlockDimY = 27,
    hipsemAttrMaxBlockDimZ = 28,
    hipsemAttrMaxGridDimX = 29,
    hipsemAttrMaxGridDimY = 30,
    hipsemAttrMaxGridDimZ = 31,
    hipsemAttrMaxThreadsPerBlock = 56,
    hipsemAttrMaxThreadsPerMultiProcessor = 57,
    hipsemAttrMemoryClockRate = 60,
    hipsemAttrComputeCapabilityMinor = 61,
    hipsemAttrMultiprocessorCount = 63,
    hipsemAttrPageableMemoryAccess = 65,
    hipsemAttrPciBusId = 67,
    hipsemAttrPciDeviceId = 68,
    hipsemAttrMaxRegistersPerBlock = 71,
    hipsemAttrMaxSharedMemoryPerBlock = 74,
    hipsemAttrTotalConstantMemory = 83,
    hipsemAttrUnifiedAddressing = 85,
    hipsemAttrWarpSize = 87,
    hipsemAttrMemoryPoolsSupported = 88,
    hipsemAttrVirtualMemoryManagementSupported = 89,
    hipsemAttrHostRegisterSupported = 90,
};

/* hipMemPoolAttr values (HIP 6.x). */
enum hipsemCpuMemPoolAttr {
    hipsemPoolReuseFollowEventDependencies = 1,
    hipsemPoolReuseAllowOpportunistic = 2,
    hipsemPoolReuseAllowInternalDependencies = 3,
    hipsemPoolAttrReleaseThreshold = 4,
    hipsemPoolAttrReservedMemCurrent = 5,
    hipsemPoolAttrReservedMemHigh = 6,
    hipsemPoolAttrUsedMemCurrent = 7,
    hipsemPoolAttrUsedMemHigh = 8,
};

/* Contexts: one primary context per device, a per-thread current-context stack. */
HIPSEM_EXPORT hipError_t hipCtxSetCurrent(hipCtx_t ctx);
HIPSEM_EXPORT hipError_t hipCtxGetCurrent(hipCtx_t* ctx);
HIPSEM_EXPORT hipError_t hipCtxPushCurrent(hipCtx_t ctx);
HIPSEM_EXPORT hipError_t hipCtxPopCurrent(hipCtx_t* ctx);
HIPSEM_EXPORT hipError_t hipDevicePrimaryCtxRetain(hipCtx_t* ctx, hipDevice_t device);
HIPSEM_EXPORT hipError_t hipDevicePrimaryCtxRelease(hipDevice_t device);

/* Device identity and attributes. */
HIPSEM_EXPORT hipError_t hipDeviceGet(hipDevice_t* device, int ordinal);
HIPSEM_EXPORT hipError_t hipDeviceGetAttribute(int* value, int attribute, int device);
HIPSEM_EXPORT hipError_t hipDeviceGetName(char* name, int len, hipDevice_t device);
HIPSEM_EXPORT hipError_t hipDeviceGetUuid(hipUUID* uuid, hipDevice_t device);
HIPSEM_EXPORT hipError_t hipDeviceCanAccessPeer(int* can, int device, int peer);
HIPSEM_EXPORT hipError_t hipDeviceEnablePeerAccess(int peer, unsigned int flags);

/* Memory: pools, stream-ordered allocation, managed memory, host registration. */
HIPSEM_EXPORT hipError_t hipMemPoolCreate(hipMemPool_t* pool, const void* props);
HIPSEM_EXPORT hipError_t hipMemPoolDestroy(hipMemPool_t pool);
HIPSEM_EXPORT hipError_t hipMemPoolGetAttribute(hipMemPool_t pool, int attr, void* value);
HIPSEM_EXPORT hipError_t hipMemPoolSetAttribute(hipMemPool_t pool, int attr, void* value);
HIPSEM_EXPORT hipError_t hipMemPoolTrimTo(hipMemPool_t pool, size_t min_bytes_to_hold);
HIPSEM_EXPORT hipError_t hipMallocAsync(void** ptr, size_t size, hipStream_t stream);
HIPSEM_EXPORT hipError_t hipMallocFromPoolAsync(void** ptr, size_t size, hipMemPool_t pool,
                                                hipStream_t stream);
HIPSEM_EXPORT hipError_t hipFreeAsync(void* ptr, hipStream_t stream);
HIPSEM_EXPORT hipError_t hipMallocManaged(hipDeviceptr_t* ptr, size_t size,
                                          unsigned int flags);
HIPSEM_EXPORT hipError_t hipMemPrefetchAsync(const void* ptr, size_t size, int device,
                                             hipStream_t stream);
HIPSEM_EXPORT hipError_t hipHostRegister(void* ptr, size_t size, unsigned int flags);
HIPSEM_EXPORT hipError_t hipHostUnregister(void* ptr);
HIPSEM_EXPORT hipError_t hipHostGetDevicePointer(void** dptr, void* hptr, unsigned int flags);
HIPSEM_EXPORT hipError_t hipMemcpyHtoDAsync(hipDeviceptr_t dst, void* src, size_t size,
                                            hipStream_t stream);
HIPSEM_EXPORT hipError_t hipMemsetD8Async(void* dst, char value, size_t count,
                                          hipStream_t stream);
HIPSEM_EXPORT hipError_t hipMemsetD16Async(void* dst, short value, size_t count,
                                           hipStream_t stream);
HIPSEM_EXPORT hipError_t hipMemsetD32Async(void* dst, int value, size_t count,
                                           hipStream_t stream);

/* Not supported (no kernels, modules or graphs on the CPU device): hipErrorNotSupported. */
HIPSEM_EXPORT hipError_t hipFuncGetAttribute(int* value, int attr, const void* fn);
HIPSEM_EXPORT hipError_t hipFuncSetAttribute(const void* fn, int attr, int value);
HIPSEM_EXPORT hipError_t hipLaunchKernel(const void* fn, dim3 grid, dim3 block, void** args,
                                         size_t shared, hipStream_t stream);
HIPSEM_EXPORT hipError_t hipModuleLoadData(hipOpaque_t* module, const void* image);
HIPSEM_EXPORT hipError_t hipModuleLoadDataEx(hipOpaque_t* module, const void* image,
                                             unsigned int n, void* options, void** values);
HIPSEM_EXPORT hipError_t hipModuleUnload(hipOpaque_t module);
HIPSEM_EXPORT hipError_t hipModuleGetFunction(hipOpaque_t* fn, hipOpaque_t module,
                                              const char* name);
HIPSEM_EXPORT hipError_t hipModuleGetGlobal(hipDeviceptr_t* ptr, size_t* size,
                                            hipOpaque_t module, const char* name);
HIPSEM_EXPORT hipError_t hipModuleLaunchKernel(hipOpaque_t fn, unsigned int gx, unsigned int gy,
                                               unsigned int gz, unsigned int bx,
                                               unsigned int by, unsigned int bz,
                                               unsigned int shared, hipStream_t stream,
                                               void** params, void** extra);
HIPSEM_EXPORT hipError_t hipGraphCreate(hipOpaque_t* graph, unsigned int flags);
HIPSEM_EXPORT hipError_t hipGraphDestroy(hipOpaque_t graph);
HIPSEM_EXPORT hipError_t hipGraphAddEmptyNode(hipOpaque_t* node, hipOpaque_t graph,
                                              const hipOpaque_t* deps, size_t n);
HIPSEM_EXPORT hipError_t hipGraphAddEventRecordNode(hipOpaque_t* node, hipOpaque_t graph,
                                                    const hipOpaque_t* deps, size_t n,
                                                    hipEvent_t event);
HIPSEM_EXPORT hipError_t hipGraphAddKernelNode(hipOpaque_t* node, hipOpaque_t graph,
                                               const hipOpaque_t* deps, size_t n,
                                               const void* params);
HIPSEM_EXPORT hipError_t hipGraphAddMemsetNode(hipOpaque_t* node, hipOpaque_t graph,
                                               const hipOpaque_t* deps, size_t n,
                                               const void* params);
HIPSEM_EXPORT hipError_t hipGraphInstantiate(hipOpaque_t* exec, hipOpaque_t graph,
                                             hipOpaque_t* error_node, char* log, size_t n);
HIPSEM_EXPORT hipError_t hipGraphExecDestroy(hipOpaque_t exec);
HIPSEM_EXPORT hipError_t hipGraphLaunch(hipOpaque_t exec, hipStream_t stream);

/* The command trace (hipsem extra, not HIP): while enabled, every command a stream runs
 * is appended, with CLOCK_MONOTONIC nanoseconds of its enqueue, start and end. */
enum hipsemCpuTraceKind {
    HIPSEM_TRACE_COPY = 0,
    HIPSEM_TRACE_SET = 1,
    HIPSEM_TRACE_RECORD = 2, /* an event record reached its stream (marker completed) */
    HIPSEM_TRACE_WAIT = 3,   /* a stream wait on a marker (start: reached, end: passed) */
    HIPSEM_TRACE_HOSTFN = 4,
};
typedef struct hipsemCpuTraceEntry {
    int kind;                /* hipsemCpuTraceKind */
    int elem;                /* SET: element size in bytes */
    unsigned long long stream; /* the stream's handle value */
    unsigned long long marker; /* RECORD/WAIT: the marker's serial (links them) */
    unsigned long long dst;
    unsigned long long size;   /* bytes */
    long long value;           /* SET: the element value */
    long long t_enqueue_ns;
    long long t_start_ns;
    long long t_end_ns;
} hipsemCpuTraceEntry;
/* 1: clear the trace and start recording; 0: stop (the entries stay readable). */
HIPSEM_EXPORT void hipsemCpuTraceEnable(int on);
HIPSEM_EXPORT size_t hipsemCpuTraceCount(void);
/* Copies entries [first, first + max) into out; returns how many were copied. */
HIPSEM_EXPORT size_t hipsemCpuTraceRead(hipsemCpuTraceEntry* out, size_t first, size_t max);

#ifdef __cplusplus
}
#endif

#endif /* HIPSEM_HIP_CPU_RUNTIME_IREE_H */
