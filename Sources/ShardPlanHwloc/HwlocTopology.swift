internal import CHwloc
import Foundation
package import ShardPlan

/// Reads machines through libhwloc: this machine live (with I/O discovery, so
/// PCI devices and bridges are seen) or an hwloc XML export (v1 or v2 format),
/// imported by libhwloc itself.
///
/// Debian's hwloc has no NVML or CUDA plugin, so NVIDIA GPUs appear as PCI devices
/// of vendor 0x10de: their model comes from the PCI device id (``GPUCatalog``) or
/// from `nvidia-smi`, joined on the PCI bus id. Pair kinds (PIX, PXB, PHB, NODE,
/// SYS) are derived from the PCI tree the way `nvidia-smi topo -m` defines them.
/// NVLink bandwidth comes from hwloc's `NVLinkBandwidth` distances when a file
/// has them, after merging NVSwitch ports and closing transitively.
///
/// Two fields of hwloc are not used, on purpose: GPU PCIe link speeds (hwloc 2.9's
/// NVML backend overwrites them with a wrong value, fixed in 2.11, and idle GPUs
/// down-train their link anyway), and NVLink data for NVLink 3 and newer written
/// by hwloc before 2.12, which does not recognise those generations and leaves the
/// links out (hwloc issue #658).
///
/// Related hwloc documentation: <https://www.open-mpi.org/projects/hwloc/doc/>
package enum HwlocTopology {
  /// Why libhwloc could not be loaded, or nil when it was. It is loaded once, at
  /// first use, from `SHARDPLAN_LIBHWLOC` when set (a path), else as
  /// `libhwloc.so.15` (Debian's libhwloc15) or `libhwloc.so`.
  package static let loadFailure: String? = {
    var error = [CChar](repeating: 0, count: 512)
    let path = ProcessInfo.processInfo.environment["SHARDPLAN_LIBHWLOC"].flatMap { $0.isEmpty ? nil : $0 }
    let status = path.map { chwloc_load($0, &error, error.count) } ?? chwloc_load(nil, &error, error.count)
    return status == 0 ? nil : String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }()

  /// The libhwloc API version this process runs with, `major.minor.patch`, or
  /// `not installed`.
  package static var runtimeAPIVersion: String {
    guard loadFailure == nil else { return "not installed" }
    let version = hwloc_get_api_version()
    return "\(version >> 16).\((version >> 8) & 0xff).\(version & 0xff)"
  }

  /// Discovers this machine: CPUs, NUMA nodes, memory, PCI GPUs, NICs, NVSwitches.
  /// Without libhwloc, no facts but a note saying what is then missing (the
  /// GPUs and their links still come from nvidia-smi).
  ///
  /// - Throws: ``HwlocError`` when libhwloc fails.
  package static func discoverLocal() throws -> MachineFacts {
    if let loadFailure {
      var facts = MachineFacts(sources: [])
      facts.notes.append(
        "hwloc: \(loadFailure), so CPUs, NUMA nodes, host memory and the PCIe tree are not read (GPU pairs come from nvidia-smi topo -m alone); install libhwloc (Debian: apt-get install libhwloc15)"
      )
      return facts
    }
    let handle = try TopologyHandle(xmlPath: nil, source: "hwloc (this machine)")
    return handle.facts(source: "hwloc (this machine)")
  }

  /// Imports an hwloc XML export.
  ///
  /// - Throws: ``InputError`` (`unsupportedVersion`) for hwloc 3.x XML, which
  ///   libhwloc 2.x cannot import; ``HwlocError`` when libhwloc rejects the file.
  package static func readXML(path: String) throws -> MachineFacts {
    let head: String
    do {
      let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
      defer { try? handle.close() }
      head = String(decoding: try handle.read(upToCount: 4096) ?? Data(), as: UTF8.self)
    } catch {
      throw InputError(.unreadable, source: path, message: "cannot read the file", fix: "Check the path")
    }
    if let loadFailure {
      throw InputError(
        .unreadable,
        source: path,
        message: "an hwloc XML is imported by libhwloc: \(loadFailure)",
        fix: "Install libhwloc (Debian: apt-get install libhwloc15), or give nvidia-smi outputs or a topology YAML"
      )
    }
    try checkVersion(head: head, source: path)
    let handle = try TopologyHandle(xmlPath: path, source: path)
    return handle.facts(source: path)
  }

  /// Rejects XML written by hwloc 3.x, which libhwloc 2.x cannot import.
  static func checkVersion(head: String, source: String) throws {
    guard let range = head.range(of: "<topology") else { return }
    let tag = head[range.upperBound...].prefix(while: { $0 != ">" })
    guard let versionRange = tag.range(of: "version=\"") else { return }
    let version = tag[versionRange.upperBound...].prefix(while: { $0 != "\"" })
    let major = Int(version.split(separator: ".").first ?? "") ?? 0
    let runtimeMajor = Int(hwloc_get_api_version() >> 16)
    if major > runtimeMajor {
      let line = head[..<range.lowerBound].filter { $0 == "\n" }.count + 1
      throw InputError(
        .unsupportedVersion,
        source: source,
        line: line,
        field: "topology version",
        message: "hwloc XML version \(version) is newer than this libhwloc (\(runtimeAPIVersion)) can import",
        expected: "hwloc XML version 2.x or 1.x",
        fix: "Export it again with `lstopo --of xml --export-xml-flags v2 FILE` (hwloc 3) or with hwloc 2.x"
      )
    }
  }
}

/// Owns one loaded hwloc topology and destroys it on every path.
private struct TopologyHandle: ~Copyable {
  // hwloc_topology_t is an opaque pointer; it never leaves this type.
  private let raw: OpaquePointer

  init(xmlPath: String?, source: String) throws {
    var topology: hwloc_topology_t?
    guard hwloc_topology_init(&topology) == 0, let topology else {
      throw HwlocError(function: "hwloc_topology_init", errno: errno, source: source)
    }
    var loaded = false
    defer { if !loaded { hwloc_topology_destroy(topology) } }
    // I/O objects are dropped by default in the library; keep PCI devices and bridges.
    _ = hwloc_topology_set_io_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_ALL)
    if let xmlPath {
      guard hwloc_topology_set_xml(topology, xmlPath) == 0 else {
        throw HwlocError(function: "hwloc_topology_set_xml", errno: errno, source: source)
      }
    }
    guard hwloc_topology_load(topology) == 0 else {
      throw HwlocError(function: "hwloc_topology_load", errno: errno, source: source)
    }
    loaded = true
    raw = topology
  }

  deinit { hwloc_topology_destroy(raw) }

  // MARK: Reading

  func facts(source: String) -> MachineFacts {
    var facts = MachineFacts(sources: [source])
    facts.cpuCount = Int(hwloc_get_nbobjs_by_type(raw, HWLOC_OBJ_PU))
    if let root = hwloc_get_root_obj(raw) {
      facts.hostName = info(root, "HostName")
      if let product = info(root, "DMIProductName"), !product.lowercased().contains("to be filled") {
        facts.notes.append("\(source): machine is '\(product)'")
      }
    }
    var previous: hwloc_obj_t?
    while let package = hwloc_get_next_obj_by_type(raw, HWLOC_OBJ_PACKAGE, previous) {
      if facts.cpuModel == nil {
        facts.cpuModel = info(package, "CPUModel")?.trimmingCharacters(in: .whitespaces)
      }
      previous = package
    }
    previous = nil
    var ram: Int64 = 0
    while let node = hwloc_get_next_obj_by_type(raw, HWLOC_OBJ_NUMANODE, previous) {
      let memory = Int64(clamping: chwloc_numanode_local_memory(node))
      ram += memory
      facts.numaNodes.append(
        NUMANode(index: Int(node.pointee.os_index), memoryBytes: memory, cpus: cpuList(node.pointee.cpuset))
      )
      previous = node
    }
    facts.numaNodes.sort { $0.index < $1.index }
    if ram > 0 { facts.ramBytes = ram }

    // PCI devices.
    var gpuObjects: [(busId: PCIBusID, object: hwloc_obj_t, gpu: GPUFacts)] = []
    previous = nil
    while let device = hwloc_get_next_pcidev(raw, previous) {
      previous = device
      guard let pci = pciAttributes(device) else { continue }
      let baseClass = pci.classID >> 8
      if subtype(device) == "NVSwitch" || (pci.vendorID == 0x10de && pci.classID == 0x0680) {
        facts.nvswitches.insert(pci.busId)
      } else if pci.vendorID == 0x10de && baseClass == 0x03 {
        var gpu = GPUFacts()
        gpu.pciBusId = pci.busId
        gpu.pciDeviceID = UInt16(truncatingIfNeeded: pci.deviceID)
        let locality = hwloc_get_non_io_ancestor_obj(raw, device)
        if let locality {
          gpu.cpuAffinity = cpuList(locality.pointee.cpuset)
          let first = hwloc_bitmap_first(locality.pointee.nodeset)
          if first >= 0, hwloc_bitmap_weight(locality.pointee.nodeset) == 1 { gpu.numaNode = Int(first) }
        }
        for child in osDevices(of: device) {
          if let model = info(child, "GPUModel"), gpu.name == nil { gpu.name = model }
          if let uuid = info(child, "NVIDIAUUID") { gpu.uuid = uuid }
          if let kib = info(child, "CUDAGlobalMemorySize").flatMap({ Int64($0) }) { gpu.memoryTotalBytes = kib * 1024 }
        }
        if gpu.name == nil, let spec = GPUCatalog.spec(pciDeviceID: UInt16(truncatingIfNeeded: pci.deviceID)) {
          gpu.name = spec.name
        }
        gpuObjects.append((pci.busId, device, gpu))
      } else if baseClass == 0x02 {
        // Network (0x0200 Ethernet, 0x0207 InfiniBand).
        let names = osDevices(of: device).compactMap { $0.pointee.name.map { String(cString: $0) } }
        guard
          let name = names.first(where: { $0.hasPrefix("mlx") || $0.hasPrefix("hfi") || $0.hasPrefix("bnxt") })
            ?? names.first
        else { continue }
        var nic = NICFacts(name: name)
        nic.pciBusId = pci.busId
        if let locality = hwloc_get_non_io_ancestor_obj(raw, device) {
          let first = hwloc_bitmap_first(locality.pointee.nodeset)
          if first >= 0 { nic.numaNode = Int(first) }
        }
        facts.nics.append(nic)
      }
    }
    // nvidia-smi numbers GPUs in PCI bus order; do the same.
    gpuObjects.sort { $0.busId < $1.busId }
    facts.gpus = gpuObjects.enumerated().map { offset, entry in
      var gpu = entry.gpu
      gpu.index = offset
      return gpu
    }
    if !gpuObjects.isEmpty {
      facts.notes.append(
        "\(source): PCIe link speeds of GPUs from hwloc are not used (hwloc 2.9 overwrites them; idle GPUs down-train); PCIe generation comes from nvidia-smi or the GPU catalog"
      )
    }
    // Pair kinds from the PCI tree.
    for i in 0..<gpuObjects.count {
      for j in (i + 1)..<max(i + 1, gpuObjects.count) {
        facts.pairs[GPUPair(i, j)] = .pcie(pathKind(gpuObjects[i].object, gpuObjects[j].object))
      }
    }
    for nicIndex in facts.nics.indices {
      guard let busId = facts.nics[nicIndex].pciBusId,
        let nicObject = hwloc_get_pcidev_by_busid(
          raw,
          UInt32(busId.domain),
          UInt32(busId.bus),
          UInt32(busId.device),
          UInt32(busId.function)
        )
      else { continue }
      for (gpuIndex, entry) in gpuObjects.enumerated() {
        facts.nics[nicIndex].pathToGPU[gpuIndex] = pathKind(entry.object, nicObject)
      }
    }
    readNVLinkBandwidth(gpuObjects: gpuObjects.map(\.object), into: &facts)
    return facts
  }

  /// The `nvidia-smi topo -m` class of the path between two PCI devices.
  private func pathKind(_ a: hwloc_obj_t, _ b: hwloc_obj_t) -> LinkKind {
    let chainA = ancestors(a)
    let chainB = ancestors(b)
    guard let common = chainA.first(where: { candidate in chainB.contains(where: { $0 == candidate }) }) else {
      return .sys
    }
    if common.pointee.type == HWLOC_OBJ_BRIDGE {
      if chwloc_bridge_is_host(common) == 1 { return .phb }
      let depthA = chainA.firstIndex(where: { $0 == common }) ?? 0
      let depthB = chainB.firstIndex(where: { $0 == common }) ?? 0
      // chain[0] is the device itself; one bridge between device and the switch's
      // upstream port on each side is "a single PCIe bridge" in nvidia-smi's terms.
      return depthA <= 2 && depthB <= 2 ? .pix : .pxb
    }
    // The common ancestor is a CPU-side object: same NUMA node or not.
    let localA = hwloc_get_non_io_ancestor_obj(raw, a)
    let localB = hwloc_get_non_io_ancestor_obj(raw, b)
    if let localA, let localB, hwloc_bitmap_isequal(localA.pointee.nodeset, localB.pointee.nodeset) != 0 {
      return .node
    }
    return .sys
  }

  /// The object and its ancestors, nearest first.
  private func ancestors(_ object: hwloc_obj_t) -> [hwloc_obj_t] {
    var chain: [hwloc_obj_t] = [object]
    var current = object.pointee.parent
    while let next = current {
      chain.append(next)
      current = next.pointee.parent
    }
    return chain
  }

  private func readNVLinkBandwidth(gpuObjects: [hwloc_obj_t], into facts: inout MachineFacts) {
    var count: UInt32 = 1
    var distances: UnsafeMutablePointer<hwloc_distances_s>?
    guard hwloc_distances_get_by_name(raw, "NVLinkBandwidth", &count, &distances, 0) == 0, count >= 1,
      let distances
    else { return }
    defer { hwloc_distances_release(raw, distances) }
    // GPU↔NVSwitch-port links become GPU↔GPU: merge the switch ports, then close transitively.
    // Only where switches exist: on machines without them (POWER8 CPU-NVLink) the
    // closure would invent GPU↔GPU paths through the CPU's NVLink ports.
    if !facts.nvswitches.isEmpty {
      _ = hwloc_distances_transform(raw, distances, HWLOC_DISTANCES_TRANSFORM_MERGE_SWITCH_PORTS, nil, 0)
      _ = hwloc_distances_transform(raw, distances, HWLOC_DISTANCES_TRANSFORM_TRANSITIVE_CLOSURE, nil, 0)
    }
    let n = Int(distances.pointee.nbobjs)
    guard let objects = distances.pointee.objs, let values = distances.pointee.values else { return }
    // Map each distance object (an OS device or a PCI device) to a GPU position.
    func gpuPosition(_ object: hwloc_obj_t?) -> Int? {
      var current = object
      while let candidate = current {
        if let index = gpuObjects.firstIndex(where: { $0 == candidate }) { return index }
        current = candidate.pointee.type == HWLOC_OBJ_OS_DEVICE ? candidate.pointee.parent : nil
      }
      return nil
    }
    let positions = (0..<n).map { gpuPosition(objects[$0]) }
    for i in 0..<n {
      for j in 0..<n where i != j {
        guard let a = positions[i], let b = positions[j], a != b else { continue }
        let megabytesPerSecond = values[i * n + j]
        guard megabytesPerSecond > 0 else { continue }
        let pair = GPUPair(a, b)
        let bytes = Int64(clamping: megabytesPerSecond) * 1_000_000
        facts.nvlinkBandwidth[pair] = min(facts.nvlinkBandwidth[pair] ?? bytes, bytes)
      }
    }
    if !facts.nvlinkBandwidth.isEmpty {
      facts.notes.append("NVLink bandwidth from hwloc's NVLinkBandwidth distances (switch ports merged)")
    }
  }

  // MARK: Small accessors

  private struct PCIAttributes {
    var busId: PCIBusID
    var classID: UInt32
    var vendorID: UInt32
    var deviceID: UInt32
  }

  private func pciAttributes(_ object: hwloc_obj_t) -> PCIAttributes? {
    var domain: UInt32 = 0
    var bus: UInt32 = 0
    var device: UInt32 = 0
    var function: UInt32 = 0
    var classID: UInt32 = 0
    var vendorID: UInt32 = 0
    var deviceID: UInt32 = 0
    var speed: Float = 0
    guard chwloc_pci_attributes(object, &domain, &bus, &device, &function, &classID, &vendorID, &deviceID, &speed) == 1
    else { return nil }
    return PCIAttributes(
      busId: PCIBusID(
        domain: domain,
        bus: UInt8(truncatingIfNeeded: bus),
        device: UInt8(truncatingIfNeeded: device),
        function: UInt8(truncatingIfNeeded: function)
      ),
      classID: classID,
      vendorID: vendorID,
      deviceID: deviceID
    )
  }

  private func osDevices(of object: hwloc_obj_t) -> [hwloc_obj_t] {
    var children: [hwloc_obj_t] = []
    var child = object.pointee.io_first_child
    while let current = child {
      if current.pointee.type == HWLOC_OBJ_OS_DEVICE { children.append(current) }
      child = current.pointee.next_sibling
    }
    return children
  }

  private func info(_ object: hwloc_obj_t, _ name: String) -> String? {
    hwloc_obj_get_info_by_name(object, name).map { String(cString: $0) }
  }

  private func subtype(_ object: hwloc_obj_t) -> String? {
    object.pointee.subtype.map { String(cString: $0) }
  }

  private func cpuList(_ set: hwloc_const_cpuset_t?) -> String? {
    guard let set else { return nil }
    var text: UnsafeMutablePointer<CChar>?
    guard hwloc_bitmap_list_asprintf(&text, set) >= 0, let text else { return nil }
    defer { free(text) }
    let list = String(cString: text)
    return list.isEmpty ? nil : list
  }
}
