# The version a build names (issue 16 P15): `make deb` must give a new package version for new
# source, or `apt install ./hivehook_*.deb` keeps the old daemon ("already the newest version").
# From a git checkout, at configure time:
#   HIVEHOOK_PACKAGE_VERSION  <project version>+git<commit date, UTC, YYYYMMDDHHMMSS>.<12-hex sha>
#                             e.g. 0.1.0+git20261201051400.92ab147a1b2c — Debian orders it by the
#                             commit date (deb-version(7): "+" and "." are allowed in the upstream part)
#   HIVEHOOK_GIT_COMMIT       the full sha;  HIVEHOOK_GIT_DATE  the commit date, ISO 8601 UTC
# Outside git (a source tarball) or without git: the project version alone, commit "unknown".
# CMake configures again when HEAD moves (a commit, checkout, pull): the git files are
# CMAKE_CONFIGURE_DEPENDS, so the version never lags the tree it was built from.
set(HIVEHOOK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(HIVEHOOK_GIT_COMMIT "unknown")
set(HIVEHOOK_GIT_DATE "")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env TZ=UTC
                          ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} log -1 --format=%H%n%cd --date=format-local:%Y%m%d%H%M%S
                  OUTPUT_VARIABLE git_head RESULT_VARIABLE git_rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(git_rc EQUAL 0 AND git_head MATCHES "^([0-9a-f]+)\n([0-9]+)$")
    set(HIVEHOOK_GIT_COMMIT "${CMAKE_MATCH_1}")
    set(stamp "${CMAKE_MATCH_2}")
    string(SUBSTRING "${HIVEHOOK_GIT_COMMIT}" 0 12 short)
    set(HIVEHOOK_PACKAGE_VERSION "${PROJECT_VERSION}+git${stamp}.${short}")
    string(REGEX REPLACE "^(....)(..)(..)(..)(..)(..)$" "\\1-\\2-\\3T\\4:\\5:\\6Z" HIVEHOOK_GIT_DATE "${stamp}")
    # Configure again when HEAD or the branch it names moves (worktrees: --git-path finds both).
    foreach(ref HEAD logs/HEAD packed-refs)
      execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} rev-parse --path-format=absolute --git-path ${ref}
                      OUTPUT_VARIABLE p OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(p AND EXISTS "${p}")
        set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${p}")
      endif()
    endforeach()
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} symbolic-ref -q HEAD
                    OUTPUT_VARIABLE branch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(branch)
      execute_process(COMMAND ${GIT_EXECUTABLE} -C ${PROJECT_SOURCE_DIR} rev-parse --path-format=absolute --git-path ${branch}
                      OUTPUT_VARIABLE p OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(p AND EXISTS "${p}")
        set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${p}")
      endif()
    endif()
  endif()
endif()
message(STATUS "hivehook version ${HIVEHOOK_PACKAGE_VERSION} (commit ${HIVEHOOK_GIT_COMMIT})")
# One small generated file holds them: a new commit recompiles it alone, not every file that a
# global -D would (base/build_info.h declares it).
configure_file(${PROJECT_SOURCE_DIR}/cmake/build_info.cpp.in ${PROJECT_BINARY_DIR}/build_info.cpp @ONLY)
