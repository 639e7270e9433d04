// OpenBLAS's CBLAS interface. pkg-config `openblas` supplies the include
// directory (Debian keeps cblas.h under openblas-pthread/).
#include <cblas.h>
