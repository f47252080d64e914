// The wrappers are static inline in ccurl.h; this file gives the C target a translation unit.
#include "ccurl.h"
