#include "build_info.h"

const char *prellm_git_revision(void) { return PRELLM_GIT_REVISION; }
