#ifndef CHWLOC_SHIM_H
#define CHWLOC_SHIM_H

// Everything Swift sees of libhwloc comes through this header. Union members
// and function-like macros do not import cleanly, so the few accessors the
// ShardPlanHwloc module needs are written here as static inline functions that
// check the object type and NULL attributes first.
#include <hwloc.h>
#include <hwloc/distances.h>
#include <stddef.h>

/// Loads libhwloc (dlopen: `path`, or when NULL `libhwloc.so.15`, then
/// `libhwloc.so`), once per process. Returns 0 when every function this module
/// calls was found; otherwise -1 with the reason in `error` (NUL-terminated, at
/// most `error_size` bytes). While it is not loaded, the hwloc functions of
/// this module fail (-1, NULL or 0) instead of being called.
int chwloc_load(const char *path, char *error, size_t error_size);

/// The HWLOC_API_VERSION this module was compiled against (0x00020800 for 2.8 and 2.9).
static inline unsigned chwloc_compiled_api_version(void) {
  return HWLOC_API_VERSION;
}

/// Bytes of memory local to a NUMA node; 0 when the object is not a NUMA node.
static inline unsigned long long chwloc_numanode_local_memory(hwloc_obj_t obj) {
  if (obj == NULL || obj->type != HWLOC_OBJ_NUMANODE || obj->attr == NULL) {
    return 0;
  }
  return (unsigned long long)obj->attr->numanode.local_memory;
}

/// PCI identity of a PCI device or of a bridge's upstream side. Returns 0 when
/// the object carries no PCI attributes (host bridges, other objects).
static inline int chwloc_pci_attributes(hwloc_obj_t obj, unsigned *domain, unsigned *bus,
                                        unsigned *dev, unsigned *func, unsigned *class_id,
                                        unsigned *vendor_id, unsigned *device_id,
                                        float *linkspeed) {
  if (obj == NULL || obj->attr == NULL) return 0;
  struct hwloc_pcidev_attr_s *pci = NULL;
  if (obj->type == HWLOC_OBJ_PCI_DEVICE) {
    pci = &obj->attr->pcidev;
  } else if (obj->type == HWLOC_OBJ_BRIDGE &&
             obj->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_PCI) {
    pci = &obj->attr->bridge.upstream.pci;
  }
  if (pci == NULL) return 0;
  *domain = pci->domain;
  *bus = pci->bus;
  *dev = pci->dev;
  *func = pci->func;
  *class_id = pci->class_id;
  *vendor_id = pci->vendor_id;
  *device_id = pci->device_id;
  *linkspeed = pci->linkspeed;
  return 1;
}

/// 1 when the bridge is a host bridge (upstream side is the CPU), 0 otherwise.
static inline int chwloc_bridge_is_host(hwloc_obj_t obj) {
  if (obj == NULL || obj->type != HWLOC_OBJ_BRIDGE || obj->attr == NULL) return 0;
  return obj->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST ? 1 : 0;
}

/// The 2.x OS device type enum value, or -1 when the object is not an OS device.
static inline int chwloc_osdev_type(hwloc_obj_t obj) {
  if (obj == NULL || obj->type != HWLOC_OBJ_OS_DEVICE || obj->attr == NULL) return -1;
  return (int)obj->attr->osdev.type;
}

#endif /* CHWLOC_SHIM_H */
