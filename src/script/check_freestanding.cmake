# Link the freestanding objects into one relocatable object and fail if it
# still references an undefined symbol (libc, compiler-inserted memcpy...).
string(REPLACE ":" ";" OBJS "${OBJS}")
execute_process(COMMAND ld -r -o ${OUT} ${OBJS} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ld -r failed: ${err}")
endif()
execute_process(COMMAND nm -u ${OUT} OUTPUT_VARIABLE undef RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${OUT}")
endif()
string(STRIP "${undef}" undef)
if(NOT undef STREQUAL "")
  message(FATAL_ERROR "script VM is not freestanding; undefined symbols:\n${undef}")
endif()

# Position independence (PIC_OBJS: the same sources built with -fPIC, as
# the agent is): no absolute relocation in the objects (a table of
# pointers, such as computed-goto label addresses, gives R_X86_64_64 in
# .data.rel.ro), and a `-shared -nostdlib` link of them needs no dynamic
# relocation at all (R_X86_64_RELATIVE, JUMP_SLOT, GLOB_DAT...).
if(PIC_OBJS)
  string(REPLACE ":" ";" PIC_OBJS "${PIC_OBJS}")
  foreach(obj ${PIC_OBJS})
    execute_process(COMMAND ${READELF} -rW ${obj} OUTPUT_VARIABLE rel RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "readelf failed on ${obj}")
    endif()
    string(REGEX MATCHALL "[^\n]*R_X86_64_(64|32S?|GOT[A-Z0-9]*|COPY|RELATIVE)[ \t][^\n]*" abs "${rel}")
    if(abs)
      list(LENGTH abs n)
      list(GET abs 0 first)
      message(FATAL_ERROR "script VM is not position-independent: ${n} absolute "
                          "relocation(s) in ${obj}, e.g.\n${first}")
    endif()
  endforeach()
  execute_process(COMMAND ${CC} -shared -nostdlib -Wl,--no-undefined -o ${PIC_OUT} ${PIC_OBJS}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "-shared link of the PIC script VM failed: ${err}")
  endif()
  execute_process(COMMAND ${READELF} -rW ${PIC_OUT} OUTPUT_VARIABLE rel RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "readelf failed on ${PIC_OUT}")
  endif()
  if(NOT rel MATCHES "There are no relocations in this file")
    message(FATAL_ERROR "script VM needs dynamic relocations when built with -fPIC:\n${rel}")
  endif()
endif()
file(WRITE ${STAMP} "ok\n")
