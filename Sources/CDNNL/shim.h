// oneDNN's C API (Debian's libdnnl-dev 2.6, an OpenMP build; no pkg-config
// file, so the module map links `dnnl` by name).
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

// oneDNN runs its primitives on the calling thread's OpenMP team. These two
// are libgomp's own functions, declared here because omp.h lives in GCC's
// private include directory, which Swift's importer does not search.
void omp_set_num_threads(int count);
int omp_get_max_threads(void);

// DNNL_MEMORY_ALLOCATE is a cast of -1 to a pointer, which Swift cannot
// import: "let the library allocate this memory object's buffer".
static inline void *cdnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
