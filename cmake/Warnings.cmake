# Project-wide warnings (style.md §14). -Werror only when BILOR_WERROR is on (CI).
set(BILOR_WARNINGS
    -Wall -Wextra -Wpedantic -Wmissing-prototypes -Wstrict-prototypes -Wvla
    -Wwrite-strings -Wshadow -Wformat=2 -Wno-format-nonliteral)
if(BILOR_WERROR)
    list(APPEND BILOR_WARNINGS -Werror)
endif()
add_compile_options(${BILOR_WARNINGS})
