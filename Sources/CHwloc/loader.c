// libhwloc loaded at run time: each hwloc function ShardPlanHwloc calls (and the
// inline helpers of hwloc's headers call) is defined here and forwards to the
// library found by dlopen, so the binary runs, without hwloc's facts, where
// libhwloc is not installed. The signatures are checked against hwloc.h,
// which this file includes.
#include "shim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define CHWLOC_FUNCTIONS(X)                                                                                     \
  X(int, hwloc_topology_init, (hwloc_topology_t * topologyp), (topologyp), -1)                                \
  X(int, hwloc_topology_load, (hwloc_topology_t topology), (topology), -1)                                   \
  X(int, hwloc_topology_set_xml, (hwloc_topology_t topology, const char *xmlpath), (topology, xmlpath), -1) \
  X(int, hwloc_topology_set_io_types_filter, (hwloc_topology_t topology, enum hwloc_type_filter_e filter),   \
    (topology, filter), -1)                                                                                  \
  X(unsigned, hwloc_get_api_version, (void), (), 0)                                                          \
  X(int, hwloc_get_type_depth, (hwloc_topology_t topology, hwloc_obj_type_t type), (topology, type), -1)    \
  X(unsigned, hwloc_get_nbobjs_by_depth, (hwloc_topology_t topology, int depth), (topology, depth), 0)       \
  X(hwloc_obj_t, hwloc_get_obj_by_depth, (hwloc_topology_t topology, int depth, unsigned idx),               \
    (topology, depth, idx), NULL)                                                                            \
  X(int, hwloc_bitmap_first, (hwloc_const_bitmap_t bitmap), (bitmap), -1)                                    \
  X(int, hwloc_bitmap_weight, (hwloc_const_bitmap_t bitmap), (bitmap), -1)                                   \
  X(int, hwloc_bitmap_isequal, (hwloc_const_bitmap_t a, hwloc_const_bitmap_t b), (a, b), 0)                  \
  X(int, hwloc_bitmap_list_asprintf, (char **strp, hwloc_const_bitmap_t bitmap), (strp, bitmap), -1)        \
  X(int, hwloc_distances_get_by_name,                                                                        \
    (hwloc_topology_t topology, const char *name, unsigned *nr, struct hwloc_distances_s **distances,        \
     unsigned long flags),                                                                                   \
    (topology, name, nr, distances, flags), -1)                                                              \
  X(int, hwloc_distances_transform,                                                                          \
    (hwloc_topology_t topology, struct hwloc_distances_s * distances, enum hwloc_distances_transform_e t,    \
     void *attr, unsigned long flags),                                                                       \
    (topology, distances, t, attr, flags), -1)

// Pointers to the library's functions; NULL until loaded.
#define CHWLOC_POINTER(type, name, parameters, arguments, failure) static type(*loaded_##name) parameters;
CHWLOC_FUNCTIONS(CHWLOC_POINTER)
static void (*loaded_hwloc_topology_destroy)(hwloc_topology_t topology);
static void (*loaded_hwloc_distances_release)(hwloc_topology_t topology, struct hwloc_distances_s *distances);

// The definitions the rest of the module links against.
#define CHWLOC_FORWARD(type, name, parameters, arguments, failure) \
  type name parameters { return loaded_##name ? loaded_##name arguments : failure; }
CHWLOC_FUNCTIONS(CHWLOC_FORWARD)
void hwloc_topology_destroy(hwloc_topology_t topology) {
  if (loaded_hwloc_topology_destroy) loaded_hwloc_topology_destroy(topology);
}
void hwloc_distances_release(hwloc_topology_t topology, struct hwloc_distances_s *distances) {
  if (loaded_hwloc_distances_release) loaded_hwloc_distances_release(topology, distances);
}

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int load_state;  // 0 not tried, 1 loaded, -1 failed
static char load_failure[512];

static int load_locked(const char *path) {
  const char *names[] = {path, "libhwloc.so.15", "libhwloc.so"};
  void *library = NULL;
  const char *tried = NULL;
  for (size_t i = path ? 0 : 1; i < (path ? 1 : 3) && library == NULL; i++) {
    tried = names[i];
    library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  }
  if (library == NULL) {
    const char *why = dlerror();
    snprintf(load_failure, sizeof load_failure, "cannot load libhwloc (%s)", why ? why : tried);
    return -1;
  }
  // The library must be hwloc 2.x: the ABI this module was compiled for.
  unsigned (*version)(void) = (unsigned (*)(void))dlsym(library, "hwloc_get_api_version");
  if (version == NULL || (version() >> 16) != (HWLOC_API_VERSION >> 16)) {
    snprintf(load_failure, sizeof load_failure, "%s is not hwloc %u.x (API version 0x%x)", tried,
             HWLOC_API_VERSION >> 16, version ? version() : 0);
    dlclose(library);
    return -1;
  }
#define CHWLOC_RESOLVE(type, name, parameters, arguments, failure)                                    \
  *(void **)(&loaded_##name) = dlsym(library, #name);                                                \
  if (loaded_##name == NULL) {                                                                       \
    snprintf(load_failure, sizeof load_failure, "%s has no %s: too old an hwloc", tried, #name);     \
    return -1;                                                                                       \
  }
  CHWLOC_FUNCTIONS(CHWLOC_RESOLVE)
  CHWLOC_RESOLVE(void, hwloc_topology_destroy, , , )
  CHWLOC_RESOLVE(void, hwloc_distances_release, , , )
  return 0;
}

int chwloc_load(const char *path, char *error, size_t error_size) {
  pthread_mutex_lock(&load_lock);
  if (load_state == 0) load_state = load_locked(path) == 0 ? 1 : -1;
  int state = load_state;
  if (state < 0 && error_size > 0) snprintf(error, error_size, "%s", load_failure);
  pthread_mutex_unlock(&load_lock);
  return state > 0 ? 0 : -1;
}
