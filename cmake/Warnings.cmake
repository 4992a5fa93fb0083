# Compiler flags every Penumbra target gets: warnings (errors in CI) and sanitizers.
set(PENUMBRA_CXX_WARNINGS -Wall -Wextra -Wpedantic -Wshadow=local -Wno-unused-parameter)
if(PENUMBRA_WERROR)
  list(APPEND PENUMBRA_CXX_WARNINGS -Werror)
endif()

if(PENUMBRA_SANITIZE)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-sanitize-recover=undefined>)
  add_link_options(-fsanitize=address,undefined)
endif()

# penumbra_target(tgt): the project's warning set on a target's C++ sources.
function(penumbra_target tgt)
  target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${PENUMBRA_CXX_WARNINGS}>)
  if(PENUMBRA_WERROR)
    target_compile_options(${tgt} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings>)
  endif()
endfunction()
