/* Export and import internals the runtime needs elsewhere (export.c). */
#ifndef BOXLITE_LIB_EXPORT_H
#define BOXLITE_LIB_EXPORT_H

#include "internal.h"

/* At runtime open: removes the staging directories in <home>/tmp that a
 * process now dead left (an export or import cut short). */
void bx_tmp_sweep(boxlite_runtime *rt);

#endif
