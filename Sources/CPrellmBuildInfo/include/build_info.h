#ifndef PRELLM_BUILD_INFO_H
#define PRELLM_BUILD_INFO_H

// The git revision the binaries were built from: defined by Package.swift at build time
// (Context.gitInformation, or PRELLM_REVISION for a build outside a git checkout).
#ifndef PRELLM_GIT_REVISION
#define PRELLM_GIT_REVISION "unknown"
#endif

const char *prellm_git_revision(void);

#endif
