/// Joins facts about one machine from several sources.
///
/// GPUs are matched by PCI bus id when both sides know it, otherwise by
/// `nvidia-smi` index (PCI bus order). When two sources give different values
/// for the same identity field (name, UUID, bus id, total memory, NUMA node,
/// PCIe generation, compute capability, a `topo -m` cell), the first source's
/// value is kept and a ``Conflict`` records both. Live readings (memory used and
/// free) are taken from the first source that has them without a conflict,
/// since they change from one capture to the next.
package enum FactsMerger {
  /// Merges `parts` in order.
  /// - Complexity: O(g² · p) for g GPUs and p parts.
  package static func merge(_ parts: [MachineFacts]) -> MachineFacts {
    guard var merged = parts.first else { return MachineFacts() }
    for part in parts.dropFirst() {
      merge(part, into: &merged)
    }
    return merged
  }

  private static func merge(_ other: MachineFacts, into merged: inout MachineFacts) {
    let earlier = merged.sources.joined(separator: ", ")
    let later = other.sources.joined(separator: ", ")
    func note(_ subject: String, _ kept: String, _ ignored: String) {
      merged.conflicts.append(
        Conflict(subject: subject, kept: "\(kept) (from \(earlier))", ignored: "\(ignored) (from \(later))")
      )
    }
    // Map other's GPU positions to merged positions.
    var mapping: [Int: Int] = [:]
    for (position, gpu) in other.gpus.enumerated() {
      if let busId = gpu.pciBusId, let match = merged.gpus.firstIndex(where: { $0.pciBusId == busId }) {
        mapping[position] = match
      }
    }
    let mergedHasBusIds = merged.gpus.contains { $0.pciBusId != nil }
    let otherHasBusIds = other.gpus.contains { $0.pciBusId != nil }
    for (position, gpu) in other.gpus.enumerated() where mapping[position] == nil {
      let index = gpu.index ?? position
      if mergedHasBusIds && otherHasBusIds {
        // Both know bus ids and this one matched none: a GPU the first sources lack.
        merged.gpus.append(gpu)
        mapping[position] = merged.gpus.count - 1
      } else if index < merged.gpus.count, !mapping.values.contains(index) {
        mapping[position] = index
      } else {
        merged.gpus.append(gpu)
        mapping[position] = merged.gpus.count - 1
      }
    }
    if !merged.gpus.isEmpty, !other.gpus.isEmpty, merged.gpus.count != other.gpus.count {
      let counts = (merged.gpus.count, other.gpus.count)
      merged.notes.append(
        "\(later) describes \(counts.1) GPUs where earlier sources describe \(counts.0); GPUs were joined by \(otherHasBusIds && mergedHasBusIds ? "PCI bus id" : "index")"
      )
    }
    for (position, gpu) in other.gpus.enumerated() {
      guard let target = mapping[position], target < merged.gpus.count else { continue }
      var existing = merged.gpus[target]
      let label = "GPU \(target)"
      func field<T: Equatable>(_ keyPath: WritableKeyPath<GPUFacts, T?>, _ name: String, _ show: (T) -> String) {
        guard let incoming = gpu[keyPath: keyPath] else { return }
        if let current = existing[keyPath: keyPath] {
          if current != incoming { note("\(label) \(name)", show(current), show(incoming)) }
        } else {
          existing[keyPath: keyPath] = incoming
        }
      }
      field(\.name, "name") { $0 }
      field(\.uuid, "UUID") { $0 }
      field(\.pciBusId, "PCI bus id") { $0.description }
      field(\.memoryTotalBytes, "total memory") { "\($0 / Units.mebibyte) MiB" }
      field(\.numaNode, "NUMA node") { "\($0)" }
      field(\.pcieGeneration, "PCIe generation") { "Gen\($0)" }
      field(\.pcieWidth, "PCIe width") { "x\($0)" }
      field(\.computeCapability, "compute capability") { $0 }
      field(\.migEnabled, "MIG mode") { $0 ? "enabled" : "disabled" }
      field(\.model, "model") { $0 }
      field(\.pciDeviceID, "PCI device id") { "0x" + String($0, radix: 16) }
      existing.memoryUsedBytes = existing.memoryUsedBytes ?? gpu.memoryUsedBytes
      existing.memoryFreeBytes = existing.memoryFreeBytes ?? gpu.memoryFreeBytes
      existing.memoryReservedBytes = existing.memoryReservedBytes ?? gpu.memoryReservedBytes
      existing.cpuAffinity = existing.cpuAffinity ?? gpu.cpuAffinity
      existing.memoryNUMANode = existing.memoryNUMANode ?? gpu.memoryNUMANode
      existing.memoryBandwidthBytesPerSecond =
        existing.memoryBandwidthBytesPerSecond ?? gpu.memoryBandwidthBytesPerSecond
      existing.bf16TFLOPS = existing.bf16TFLOPS ?? gpu.bf16TFLOPS
      if existing.migInstances.isEmpty { existing.migInstances = gpu.migInstances }
      if existing.nvlinkRates.isEmpty { existing.nvlinkRates = gpu.nvlinkRates }
      if existing.nvlinkTargets.isEmpty { existing.nvlinkTargets = gpu.nvlinkTargets }
      if existing.index == nil { existing.index = target }
      merged.gpus[target] = existing
    }
    func remap(_ pair: GPUPair) -> GPUPair? {
      guard let a = mapping[pair.low], let b = mapping[pair.high] else { return nil }
      return GPUPair(a, b)
    }
    for (pair, cell) in other.pairs.sorted(by: { $0.key < $1.key }) {
      guard let target = remap(pair) else { continue }
      if let current = merged.pairs[target] {
        if current != cell { note("GPU \(target.low)–GPU \(target.high) link", "\(current)", "\(cell)") }
      } else {
        merged.pairs[target] = cell
      }
    }
    for (pair, status) in other.peerToPeer {
      guard let target = remap(pair) else { continue }
      merged.peerToPeer[target] = merged.peerToPeer[target] ?? status
    }
    for (pair, bandwidth) in other.nvlinkBandwidth {
      guard let target = remap(pair) else { continue }
      merged.nvlinkBandwidth[target] = merged.nvlinkBandwidth[target] ?? bandwidth
    }
    for (pair, bandwidth) in other.linkBandwidthOverrides {
      guard let target = remap(pair) else { continue }
      merged.linkBandwidthOverrides[target] = merged.linkBandwidthOverrides[target] ?? bandwidth
    }
    for nic in other.nics {
      var remapped = nic
      remapped.pathToGPU = [:]
      for (gpu, kind) in nic.pathToGPU { if let target = mapping[gpu] { remapped.pathToGPU[target] = kind } }
      if let existing = merged.nics.firstIndex(where: {
        $0.name == nic.name || ($0.pciBusId != nil && $0.pciBusId == nic.pciBusId)
      }) {
        merged.nics[existing].pathToGPU.merge(remapped.pathToGPU) { old, _ in old }
        merged.nics[existing].pciBusId = merged.nics[existing].pciBusId ?? nic.pciBusId
        merged.nics[existing].numaNode = merged.nics[existing].numaNode ?? nic.numaNode
        merged.nics[existing].bandwidthBytesPerSecond =
          merged.nics[existing].bandwidthBytesPerSecond ?? nic.bandwidthBytesPerSecond
      } else {
        merged.nics.append(remapped)
      }
    }
    for node in other.numaNodes {
      if let existing = merged.numaNodes.firstIndex(where: { $0.index == node.index }) {
        merged.numaNodes[existing].memoryBytes = merged.numaNodes[existing].memoryBytes ?? node.memoryBytes
        merged.numaNodes[existing].cpus = merged.numaNodes[existing].cpus ?? node.cpus
      } else {
        merged.numaNodes.append(node)
      }
    }
    merged.numaNodes.sort { $0.index < $1.index }
    merged.hostName = merged.hostName ?? other.hostName
    merged.cpuModel = merged.cpuModel ?? other.cpuModel
    merged.cpuCount = merged.cpuCount ?? other.cpuCount
    merged.ramBytes = merged.ramBytes ?? other.ramBytes
    merged.nvswitches.formUnion(other.nvswitches)
    merged.notes.append(contentsOf: other.notes)
    merged.conflicts.append(contentsOf: other.conflicts)
    merged.sources.append(contentsOf: other.sources)
  }
}
