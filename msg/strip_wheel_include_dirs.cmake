# Passed as -DCMAKE_PROJECT_INCLUDE when building interface packages against the ROS 2 PyPI wheels.
# The wheels' exported CMake targets name include directories of the machine that built them
# (/opt/python/...); CMake's generate step rejects targets that reference missing paths. At the end of
# the top-level directory, drop such entries (Python3::Module still supplies the real Python include).
function(_tracker_strip_wheel_include_dirs)
  get_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(_t IN LISTS _targets)
    get_target_property(_dirs ${_t} INTERFACE_INCLUDE_DIRECTORIES)
    if(_dirs)
      set(_kept "")
      foreach(_d IN LISTS _dirs)
        if(NOT _d MATCHES "^/opt/python/")
          list(APPEND _kept "${_d}")
        endif()
      endforeach()
      set_target_properties(${_t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_kept}")
    endif()
  endforeach()
endfunction()
cmake_language(DEFER CALL _tracker_strip_wheel_include_dirs)
