#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H
#include <libpq-fe.h>
/* What waits on libpq's socket: poll() for threads, epoll for tasks (SocketReactor). */
#include <poll.h>
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/eventfd.h>
#endif
#endif
