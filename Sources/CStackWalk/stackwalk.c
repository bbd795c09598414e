#define _GNU_SOURCE
#include "stackwalk.h"
#include <pthread.h>

/* The calling thread's stack bounds, looked up once per thread (pthread_getattr_np can be slow). */
static __thread uintptr_t stack_low, stack_high;

static void load_bounds(void) {
    pthread_attr_t attr;
    void *base = 0;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &base, &size);
        pthread_attr_destroy(&attr);
    }
    stack_low = (uintptr_t)base;
    stack_high = (uintptr_t)base + size;
    if (stack_high == 0) stack_high = 1; /* unknown: the walk below stops at once */
}

__attribute__((noinline)) int pooltop_walk_frames(uintptr_t *out, int max, int skip) {
    if (stack_high == 0) load_bounds();
    uintptr_t *fp = (uintptr_t *)__builtin_frame_address(0);
    int count = 0;
    while (count < max) {
        uintptr_t here = (uintptr_t)fp;
        if (here < stack_low || here + 2 * sizeof(uintptr_t) > stack_high || (here & (sizeof(uintptr_t) - 1))) break;
        uintptr_t next = fp[0];
        uintptr_t ret = fp[1];
        if (ret == 0) break;
        if (skip > 0) {
            skip--;
        } else {
            out[count++] = ret;
        }
        if (next <= here) break; /* the chain must go up the stack */
        fp = (uintptr_t *)next;
    }
    return count;
}
