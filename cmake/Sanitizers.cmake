# BILOR_SANITIZE=address,undefined builds everything with ASan+UBSan; UBSan
# findings abort so that a test fails instead of printing and passing.
if(BILOR_SANITIZE)
    add_compile_options(-fsanitize=${BILOR_SANITIZE} -fno-omit-frame-pointer
                        -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${BILOR_SANITIZE})
endif()
