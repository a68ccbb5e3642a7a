# Included by the script-mode embedders (migrations/embed_migrations.cmake,
# api/embed_dashboard.cmake): a file's exact bytes as the initializer of a C++ char array.
# Hex arrays rather than raw string literals, so that no file content (a closing delimiter, CR LF
# line ends, a NUL) can change what is embedded.
#
#   embed_bytes(<file> <bytes_var> <size_var>)
#   -> bytes_var: "'\x2d','\x2d',...'\0'" (32 bytes per line, then a terminating NUL),
#      size_var: the file's size in bytes (without that NUL).
function(embed_bytes file bytes_var size_var)
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  # One line per 32 bytes keeps the generated file readable in a debugger and diff-friendly.
  string(REGEX REPLACE "(('\\\\x[0-9a-f][0-9a-f]',){32})" "\\1\n    " bytes "${bytes}")
  set(${bytes_var} "${bytes}'\\0'" PARENT_SCOPE)
  set(${size_var} ${size} PARENT_SCOPE)
endfunction()
