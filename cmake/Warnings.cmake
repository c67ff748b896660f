# Project-wide warnings (style.md §14). -Werror only when BILOR_WERROR is on (CI), but for
# implicit declarations (below).
set(BILOR_WARNINGS
    -Wall -Wextra -Wpedantic -Wmissing-prototypes -Wstrict-prototypes -Wvla
    -Wwrite-strings -Wshadow -Wformat=2 -Wno-format-nonliteral)
if(BILOR_WERROR)
    list(APPEND BILOR_WARNINGS -Werror)
endif()
# A call with no declaration in sight is an error in every build: a layer sees only the
# headers of the layers below it (src/CMakeLists.txt), so this is what makes a call upward
# fail to compile even without BILOR_WERROR.
list(APPEND BILOR_WARNINGS -Werror=implicit-function-declaration)
add_compile_options(${BILOR_WARNINGS})
