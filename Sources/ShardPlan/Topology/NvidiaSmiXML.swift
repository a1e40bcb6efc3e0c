/// `nvidia-smi -q -x`: the XML report (`<nvidia_smi_log>`, DTD `nvsmi_device_vNN.dtd`).
package enum NvidiaSmiXML {
  /// Reads name, UUID, memory total / used / free / reserved, PCI bus id, PCIe
  /// generation and width (maximum), MIG mode and instances, and NUMA node.
  ///
  /// - Throws: ``InputError`` naming `source` and the line.
  package static func read(_ text: String, source: String) throws -> MachineFacts {
    let root = try XMLTree.parse(text, source: source)
    guard root.name == "nvidia_smi_log" else {
      throw InputError(
        .unrecognized,
        source: source,
        line: root.line,
        message: "XML root is <\(root.name)>",
        expected: "<nvidia_smi_log> from nvidia-smi -q -x"
      )
    }
    var facts = MachineFacts(sources: [source])
    for (position, element) in root.children(named: "gpu").enumerated() {
      var gpu = GPUFacts(index: position)
      gpu.name = element.text(at: ["product_name"])
      gpu.uuid = element.text(at: ["uuid"])
      if let busText = element.text(at: ["pci", "pci_bus_id"]) ?? element[attribute: "id"] {
        guard let busId = PCIBusID(busText) else {
          throw InputError(
            .malformed,
            source: source,
            line: element.line,
            field: "pci_bus_id",
            message: "'\(busText)' is not a PCI bus id",
            expected: "00000000:18:00.0"
          )
        }
        gpu.pciBusId = busId
      }
      gpu.memoryTotalBytes = element.text(at: ["fb_memory_usage", "total"]).flatMap(NvidiaSmiQueryText.mebibytes)
      gpu.memoryUsedBytes = element.text(at: ["fb_memory_usage", "used"]).flatMap(NvidiaSmiQueryText.mebibytes)
      gpu.memoryFreeBytes = element.text(at: ["fb_memory_usage", "free"]).flatMap(NvidiaSmiQueryText.mebibytes)
      gpu.memoryReservedBytes = element.text(at: ["fb_memory_usage", "reserved"]).flatMap(
        NvidiaSmiQueryText.mebibytes
      )
      gpu.pcieGeneration = element.text(at: ["pci", "pci_gpu_link_info", "pcie_gen", "max_link_gen"]).flatMap {
        Int($0)
      }
      gpu.pcieWidth = element.text(at: ["pci", "pci_gpu_link_info", "link_widths", "max_link_width"]).flatMap {
        Int($0.trimmingCharacters(in: "x"))
      }
      if let mode = element.text(at: ["mig_mode", "current_mig"]), mode != "N/A" {
        gpu.migEnabled = mode == "Enabled"
      }
      gpu.numaNode = (element.text(at: ["numa_node_id"]) ?? element.text(at: ["gpu_numa_id"])).flatMap { Int($0) }
      for device in element.child("mig_devices")?.children(named: "mig_device") ?? [] {
        gpu.migInstances.append(
          MIGInstance(
            index: device.text(at: ["index"]).flatMap { Int($0) } ?? gpu.migInstances.count,
            memoryBytes: device.text(at: ["fb_memory_usage", "total"]).flatMap(NvidiaSmiQueryText.mebibytes),
            multiprocessors: device.text(at: ["device_attributes", "shared", "multiprocessor_count"]).flatMap {
              Int($0)
            }
          )
        )
      }
      facts.gpus.append(gpu)
    }
    guard !facts.gpus.isEmpty else {
      throw InputError(
        .malformed,
        source: source,
        line: root.line,
        message: "nvidia-smi XML report lists no <gpu>",
        expected: "at least one <gpu> element",
        fix: "Capture `nvidia-smi -q -x` on a machine with GPUs"
      )
    }
    return facts
  }
}

/// NCCL's topology XML (`NCCL_TOPO_DUMP_FILE`, `NCCL_TOPO_FILE`): `<system version="1">`.
package enum NCCLTopologyXML {
  /// Reads GPUs (PCI address, PCI device id, SM version, NVLink peers), NICs
  /// (name, speed) and NUMA nodes (CPU masks). Memory is not in NCCL's XML; it
  /// comes from the catalog when the PCI device id names the model.
  ///
  /// - Throws: ``InputError`` naming `source` and the line.
  package static func read(_ text: String, source: String) throws -> MachineFacts {
    let root = try XMLTree.parse(text, source: source)
    guard root.name == "system" else {
      throw InputError(
        .unrecognized,
        source: source,
        line: root.line,
        message: "XML root is <\(root.name)>",
        expected: "<system version=\"1\"> from NCCL_TOPO_DUMP_FILE"
      )
    }
    var facts = MachineFacts(sources: [source])
    var found: [(rank: Int, gpu: GPUFacts)] = []
    for cpu in root.children(named: "cpu") {
      let numa = cpu[attribute: "numaid"].flatMap { Int($0) }
      if let numa, numa >= 0, !facts.numaNodes.contains(where: { $0.index == numa }) {
        facts.numaNodes.append(
          NUMANode(index: numa, cpus: cpu[attribute: "affinity"].flatMap(CPUList.fromHexMask))
        )
      }
      for pci in cpu.descendants(named: "pci") {
        let busId = pci[attribute: "busid"].flatMap(PCIBusID.init)
        if let gpuElement = pci.child("gpu") {
          var gpu = GPUFacts()
          gpu.pciBusId = busId
          gpu.numaNode = numa.flatMap { $0 >= 0 ? $0 : nil }
          if let sm = gpuElement[attribute: "sm"].flatMap({ Int($0) }) {
            gpu.computeCapability = "\(sm / 10).\(sm % 10)"
          }
          if let device = pci[attribute: "device"], let id = UInt16(device.dropFirst(2), radix: 16),
            let spec = GPUCatalog.spec(pciDeviceID: id)
          {
            gpu.name = spec.name
          }
          for link in gpuElement.children(named: "nvlink") {
            guard let count = link[attribute: "count"].flatMap({ Int($0) }), count > 0, count <= 64 else {
              throw InputError(
                .malformed,
                source: source,
                line: link.line,
                field: "count",
                message: "NVLink count missing or out of range",
                expected: "a count from 1 to 64"
              )
            }
            let targetClass = link[attribute: "tclass"] ?? ""
            gpu.nvlinkTargets.append(
              NVLinkTarget(
                target: link[attribute: "target"].flatMap(PCIBusID.init),
                count: count,
                isSwitch: targetClass.hasPrefix("0x0680")
              )
            )
          }
          let rank = gpuElement[attribute: "dev"].flatMap { Int($0) } ?? found.count
          found.append((rank, gpu))
        }
        for net in pci.child("nic")?.children(named: "net") ?? [] {
          var nic = NICFacts(name: net[attribute: "name"] ?? "nic\(facts.nics.count)")
          nic.pciBusId = busId
          nic.numaNode = numa
          // NCCL's speed is in Mb/s.
          nic.bandwidthBytesPerSecond = net[attribute: "speed"].flatMap { Int64($0) }.map { $0 * 1_000_000 / 8 }
          facts.nics.append(nic)
        }
      }
    }
    // nvidia-smi numbers GPUs in PCI order; NCCL's dev is the CUDA index. Keep PCI order.
    facts.gpus = found.sorted {
      ($0.gpu.pciBusId ?? PCIBusID(domain: .max, bus: 0, device: 0, function: 0), $0.rank) < (
        $1.gpu.pciBusId ?? PCIBusID(domain: .max, bus: 0, device: 0, function: 0), $1.rank
      )
    }
    .enumerated().map { offset, entry in
      var gpu = entry.gpu
      gpu.index = offset
      return gpu
    }
    let switches = Set(facts.gpus.flatMap { $0.nvlinkTargets.filter(\.isSwitch).compactMap(\.target) })
    facts.nvswitches = switches
    guard !facts.gpus.isEmpty else {
      throw InputError(
        .malformed,
        source: source,
        line: root.line,
        message: "NCCL topology lists no <gpu>",
        expected: "<pci> elements with <gpu> children"
      )
    }
    return facts
  }
}

/// Linux CPU lists (`0-27,56-83`).
package enum CPUList {
  /// Converts a comma-separated list of 32-bit hex words, most significant first
  /// (NCCL's and hwloc's cpuset form), into a cpulist. Nil for malformed input.
  package static func fromHexMask(_ mask: String) -> String? {
    let words = mask.split(separator: ",").map { $0.hasPrefix("0x") ? $0.dropFirst(2) : $0 }
    guard !words.isEmpty, words.count <= 1024 else { return nil }
    var cpus: [Int] = []
    for (offset, word) in words.reversed().enumerated() {
      guard let value = UInt32(word, radix: 16) else { return nil }
      for bit in 0..<32 where value & (1 << UInt32(bit)) != 0 { cpus.append(offset * 32 + bit) }
    }
    return format(cpus)
  }

  /// `[0, 1, 2, 5]` → `0-2,5`.
  package static func format(_ cpus: [Int]) -> String {
    var parts: [String] = []
    var index = 0
    let sorted = Array(Set(cpus)).sorted()
    while index < sorted.count {
      var end = index
      while end + 1 < sorted.count, sorted[end + 1] == sorted[end] + 1 { end += 1 }
      parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
      index = end + 1
    }
    return parts.joined(separator: ",")
  }

  /// Number of CPUs in a cpulist; nil when malformed.
  package static func count(_ list: String) -> Int? {
    var total = 0
    for part in list.split(separator: ",") {
      let bounds = part.split(separator: "-")
      guard let low = bounds.first.flatMap({ Int($0) }) else { return nil }
      let high = bounds.count > 1 ? Int(bounds[1]) : low
      guard let high, high >= low else { return nil }
      total += high - low + 1
    }
    return total
  }
}
