// Accessors for OpenMPI's predefined handles.
//
// OpenMPI defines MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ... as casts of the
// address of a global object, e.g. ((MPI_Comm) &ompi_mpi_comm_world).
// Swift's C importer cannot import such macros, so each one gets a
// static inline function here. This header holds no logic: every function
// returns one macro. Being header-only, it cannot drift from a .c file.
#ifndef EDGETRAIN_CMPI_SHIMS_H
#define EDGETRAIN_CMPI_SHIMS_H

#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

// Communicators
static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm cmpi_comm_null(void) { return MPI_COMM_NULL; }

// Datatypes
static inline MPI_Datatype cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cmpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype cmpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype cmpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype cmpi_uint16(void) { return MPI_UINT16_T; }
static inline MPI_Datatype cmpi_uint32(void) { return MPI_UINT32_T; }
static inline MPI_Datatype cmpi_uint64(void) { return MPI_UINT64_T; }

// Reduction operations
static inline MPI_Op cmpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op cmpi_op_prod(void) { return MPI_PROD; }
static inline MPI_Op cmpi_op_min(void) { return MPI_MIN; }
static inline MPI_Op cmpi_op_max(void) { return MPI_MAX; }

// Special buffers, ranks and tags
static inline void *cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline int cmpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline int cmpi_any_tag(void) { return MPI_ANY_TAG; }
static inline int cmpi_undefined(void) { return MPI_UNDEFINED; }

// Requests and error handlers
static inline MPI_Request cmpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }

// Constants that are plain integers but read here so Swift has one source.
static inline int cmpi_success(void) { return MPI_SUCCESS; }
static inline int cmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int cmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif
