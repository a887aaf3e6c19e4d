/* Minimal leveled logging to stderr for the shim and tools (never used by
 * library code, which returns errors instead). Level from BOXLITE_LOG:
 * error, warn, info (default), debug. */
#ifndef BOXLITE_COMMON_LOG_H
#define BOXLITE_COMMON_LOG_H

enum bx_log_level { BX_LOG_ERROR, BX_LOG_WARN, BX_LOG_INFO, BX_LOG_DEBUG };

void bx_log_init(const char *prog);
void bx_log(enum bx_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define bx_error_log(...) bx_log(BX_LOG_ERROR, __VA_ARGS__)
#define bx_warn(...) bx_log(BX_LOG_WARN, __VA_ARGS__)
#define bx_info(...) bx_log(BX_LOG_INFO, __VA_ARGS__)
#define bx_debug(...) bx_log(BX_LOG_DEBUG, __VA_ARGS__)

#endif
