#ifndef PRELLM_CPCRE2_SHIM_H
#define PRELLM_CPCRE2_SHIM_H
// PCRE2's API is macro-named by code-unit width; Swift cannot see function-like macros or
// macro constants built from casts, so this shim pins the 8-bit library and re-exports them.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static inline size_t prellm_pcre2_zero_terminated(void) { return PCRE2_ZERO_TERMINATED; }
static inline size_t prellm_pcre2_unset(void) { return PCRE2_UNSET; }
#endif
