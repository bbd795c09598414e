#ifndef POOLTOP_STACKWALK_H
#define POOLTOP_STACKWALK_H
#include <stdint.h>

/// Writes up to `max` return addresses of the calling thread's stack into `out`, innermost first,
/// skipping the `skip` innermost ones, by following the frame-pointer chain. Every frame pointer is
/// checked against the thread's stack bounds before it is read, so a frame without a frame pointer
/// ends the walk instead of crashing it. Returns the number of addresses written. ~100 ns for 30 frames.
int pooltop_walk_frames(uintptr_t *out, int max, int skip);

#endif
