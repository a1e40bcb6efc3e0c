import Foundation

extension DeviceGraph {
  /// The graph as stable, pretty JSON (sorted keys; sizes in bytes, rates in
  /// bytes per second). The schema is documented in the README.
  public func jsonText() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(JSONForm(self))
    return String(decoding: data, as: UTF8.self) + "\n"
  }

  private struct JSONForm: Encodable {
    var schemaVersion = DeviceGraph.schemaVersion
    var name: String
    var sources: [String]
    var hosts: [Host]
    var gpus: [GPU]
    var links: [Link]
    var fastIslands: [[Int]]
    var notes: [String]
    var conflicts: [Conflict]

    init(_ graph: DeviceGraph) {
      name = graph.name
      sources = graph.sources
      hosts = graph.hosts
      gpus = graph.gpus
      links = graph.links
      fastIslands = graph.fastIslands()
      notes = graph.notes
      conflicts = graph.conflicts
    }
  }

  /// A human-readable report: hosts, GPUs, the link matrix as `nvidia-smi topo -m`
  /// shows it, bandwidths in GB/s, fast islands, NICs, notes and conflicts.
  package func tableText() -> String {
    var out = "Topology: \(name)\n"
    if !sources.isEmpty { out += "Sources: \(sources.joined(separator: ", "))\n" }
    for host in hosts {
      out += "\nHost \(host.index): \(host.name)"
      var facts: [String] = []
      if let cpu = host.cpuModel { facts.append(cpu) }
      if let count = host.cpuCount { facts.append("\(count) CPUs") }
      if let ram = host.ramBytes { facts.append("RAM \(Units.formatBytes(ram))") }
      if let bandwidth = host.ramBandwidthBytesPerSecond {
        facts.append("RAM bandwidth \(Units.formatRate(bandwidth))")
      }
      if !host.numaNodes.isEmpty {
        facts.append("\(host.numaNodes.count) NUMA node\(host.numaNodes.count == 1 ? "" : "s")")
      }
      if let network = host.networkBandwidthBytesPerSecondPerGPU {
        facts.append("network \(Units.formatRate(network)) per GPU")
      }
      if let switches = host.nvswitchCount { facts.append("\(switches) NVSwitch chips") }
      out += facts.isEmpty ? "\n" : " — " + facts.joined(separator: ", ") + "\n"
      for node in host.numaNodes where node.memoryBytes != nil || node.cpus != nil {
        var line = "  NUMA \(node.index):"
        if let memory = node.memoryBytes { line += " \(Units.formatBytes(memory))" }
        if let cpus = node.cpus { line += " CPUs \(cpus)" }
        out += line + "\n"
      }
      let hostGPUs = gpus.filter { $0.host == host.index }
      if hostGPUs.isEmpty {
        out += "  No NVIDIA GPU found (no nvidia-smi output, and no PCI device of vendor 0x10de in hwloc).\n"
        for nic in host.nics { out += "  NIC \(nic.name)\(nic.pciBusId.map { " at \($0)" } ?? "")\n" }
        continue
      }
      var rows: [[String]] = [["GPU", "Name", "Memory", "Used", "NUMA", "PCI bus id", "PCIe", "NVLink"]]
      for gpu in hostGPUs {
        rows.append([
          "\(gpu.index)", gpu.name, gpu.memoryBytes.map(Units.formatBytes) ?? "?",
          gpu.memoryUsedBytes.map(Units.formatBytes) ?? "-", gpu.numaNode.map(String.init) ?? "-",
          gpu.pciBusId?.description ?? "-",
          gpu.pcieGeneration.map { "Gen\($0) x\(gpu.pcieWidth ?? 16)" } ?? "-",
          gpu.nvlinkCount.map { count in
            "\(count) × \(gpu.nvlinkBytesPerSecondPerLink.map(Units.formatRate) ?? "?")"
          } ?? "-",
        ])
        if gpu.migEnabled == true {
          rows.append(["", "  MIG: \(gpu.migInstances.count) instances", "", "", "", "", "", ""])
        }
      }
      out += Self.columns(rows, indent: "  ")
      // Link matrix.
      let ids = hostGPUs.map(\.index)
      var kinds: [[String]] = [[""] + ids.map { "GPU\($0)" }]
      var rates: [[String]] = [[""] + ids.map { "GPU\($0)" }]
      for a in ids {
        var kindRow = ["GPU\(a)"]
        var rateRow = ["GPU\(a)"]
        for b in ids {
          guard let link = link(a, b) else {
            kindRow.append("X")
            rateRow.append("-")
            continue
          }
          var cell = link.kind.rawValue.uppercased()
          if let count = link.nvlinkCount { cell = "NV\(count)" + (link.kind == .nvswitch ? "*" : "") }
          if link.peerToPeer == false { cell += "†" }
          kindRow.append(cell)
          rateRow.append(Units.formatDecimal(Double(link.bandwidthBytesPerSecond) / 1e9, places: 1))
        }
        kinds.append(kindRow)
        rates.append(rateRow)
      }
      out += "\n  Links (as nvidia-smi topo -m; * through NVSwitch, † no peer-to-peer):\n"
      out += Self.columns(kinds, indent: "  ")
      out += "\n  Bandwidth per direction, GB/s:\n"
      out += Self.columns(rates, indent: "  ")
      for nic in host.nics {
        var line = "  NIC \(nic.name)"
        if let bandwidth = nic.bandwidthBytesPerSecond { line += " \(Units.formatRate(bandwidth))" }
        if let numa = nic.numaNode { line += " NUMA \(numa)" }
        let closest = nic.closestGPUs
        if !closest.isEmpty, let kind = nic.pathToGPU[closest[0]] {
          line += " — closest GPUs \(closest.map(String.init).joined(separator: ",")) (\(kind.rawValue.uppercased()))"
        }
        out += line + "\n"
      }
    }
    if hosts.count > 1, let network = links.first(where: { $0.kind == .network }) {
      out += "\nBetween hosts: \(Units.formatRate(network.bandwidthBytesPerSecond)) per GPU (\(network.basis))"
      if let latency = network.latencySeconds { out += ", latency \(Units.formatDecimal(latency * 1e6, places: 1)) µs" }
      out += "\n"
    }
    let islands = fastIslands()
    if !islands.isEmpty {
      out += "\nFast islands (every pair on NVLink): "
      out += islands.map { "[\($0.map(String.init).joined(separator: ","))]" }.joined(separator: " ") + "\n"
    }
    if !notes.isEmpty {
      out += "\nNotes:\n" + notes.map { "  - \($0)\n" }.joined()
    }
    if !conflicts.isEmpty {
      out += "\nConflicts between sources (first kept):\n"
      out += conflicts.map { "  - \($0.subject): kept \($0.kept); ignored \($0.ignored)\n" }.joined()
    }
    return out
  }

  /// The graph for Graphviz: one cluster per host, an edge per GPU pair inside a
  /// host (NVLink bold), and one edge per pair of hosts for the network.
  package func dotText() -> String {
    var out = "graph \"\(Self.dotEscape(name))\" {\n  node [shape=box];\n"
    for host in hosts {
      out += "  subgraph cluster_host\(host.index) {\n    label=\"\(Self.dotEscape(host.name))\";\n"
      for gpu in gpus where gpu.host == host.index {
        let memory = gpu.memoryBytes.map { "\\n" + Units.formatBytes($0) } ?? ""
        out += "    gpu\(gpu.index) [label=\"GPU\(gpu.index)\\n\(Self.dotEscape(gpu.name))\(memory)\"];\n"
      }
      out += "  }\n"
    }
    for link in links where link.kind != .network {
      let style = link.kind.isNVLink ? ", style=bold" : ", style=dashed"
      let label =
        (link.nvlinkCount.map { "NV\($0)" } ?? link.kind.rawValue.uppercased())
        + " \(Units.formatRate(link.bandwidthBytesPerSecond))"
      out += "  gpu\(link.from) -- gpu\(link.to) [label=\"\(label)\"\(style)];\n"
    }
    for a in hosts {
      for b in hosts where b.index > a.index {
        guard let first = gpus.first(where: { $0.host == a.index }),
          let second = gpus.first(where: { $0.host == b.index }),
          let link = link(first.index, second.index)
        else { continue }
        out +=
          "  gpu\(first.index) -- gpu\(second.index) [label=\"network \(Units.formatRate(link.bandwidthBytesPerSecond)) per GPU\", ltail=cluster_host\(a.index), lhead=cluster_host\(b.index), style=dotted];\n"
      }
    }
    return out + "}\n"
  }

  /// The graph as a topology file that `shardplan topology FILE` reads back:
  /// GPUs by catalog model where known, links as a `topo -m` matrix per host.
  /// Measured NVLink rates and explicit bandwidths are written as link groups.
  package func topologyYAMLText() -> String {
    var out = "# Written by shardplan topology --format yaml from: \(sources.joined(separator: ", "))\n"
    out += "name: \(Self.yamlScalar(name))\nhosts:\n"
    for host in hosts {
      out += "  - name: \(Self.yamlScalar(host.name))\n"
      if let cpu = host.cpuModel { out += "    cpu: \(Self.yamlScalar(cpu))\n" }
      if let ram = host.ramBytes { out += "    ram: \(ram / Units.mebibyte) MiB\n" }
      if let bandwidth = host.ramBandwidthBytesPerSecond { out += "    ramBandwidth: \(bandwidth) B/s\n" }
      if host.numaNodes.count > 1 { out += "    numaNodes: \(host.numaNodes.count)\n" }
      let hostGPUs = gpus.filter { $0.host == host.index }
      out += "    gpus:\n"
      for gpu in hostGPUs {
        if let model = gpu.model {
          out += "      - model: \(model)\n"
        } else {
          out += "      - name: \(Self.yamlScalar(gpu.name))\n"
        }
        if let memory = gpu.memoryBytes { out += "        memory: \(memory / Units.mebibyte) MiB\n" }
        if let used = gpu.memoryUsedBytes, used > 0 { out += "        memoryUsed: \(used / Units.mebibyte) MiB\n" }
        if let reserved = gpu.memoryReservedBytes, reserved > 0 {
          out += "        memoryReserved: \(reserved / Units.mebibyte) MiB\n"
        }
        if gpu.model == nil, let bandwidth = gpu.memoryBandwidthBytesPerSecond {
          out += "        memoryBandwidth: \(bandwidth) B/s\n"
        }
        if let numa = gpu.numaNode { out += "        numaNode: \(numa)\n" }
        if let generation = gpu.pcieGeneration { out += "        pcieGeneration: \(generation)\n" }
      }
      if hostGPUs.count > 1 {
        out += "    links:\n      matrix: |\n"
        let ids = hostGPUs.map(\.index)
        out += "        " + ids.map { "GPU\($0 - ids[0])" }.joined(separator: " ") + "\n"
        for a in ids {
          var row = "        GPU\(a - ids[0])"
          for b in ids {
            guard let link = link(a, b) else {
              row += " X"
              continue
            }
            row += " " + (link.nvlinkCount.map { "NV\($0)" } ?? link.kind.rawValue.uppercased())
          }
          out += row + "\n"
        }
        let hostIDs = Set(ids)
        let explicit = links.filter { link in hostIDs.contains(link.from) && link.kind.isNVLink }
        if !explicit.isEmpty {
          out += "      groups:\n"
          let allPairs = ids.count * (ids.count - 1) / 2
          if explicit.count == allPairs, let first = explicit.first,
            explicit.allSatisfy({
              $0.kind == first.kind && $0.nvlinkCount == first.nvlinkCount
                && $0.bandwidthBytesPerSecond == first.bandwidthBytesPerSecond
            })
          {
            // One fabric joins every pair (NVSwitch): one group says it.
            out +=
              "        - {kind: \(first.kind.rawValue), gpus: all, links: \(first.nvlinkCount ?? 1), bandwidth: \(first.bandwidthBytesPerSecond) B/s}\n"
          } else {
            for link in explicit {
              out +=
                "        - {kind: \(link.kind.rawValue), gpus: [\(link.from - ids[0]), \(link.to - ids[0])], links: \(link.nvlinkCount ?? 1), bandwidth: \(link.bandwidthBytesPerSecond) B/s}\n"
            }
          }
        }
        let pcie = links.filter { link in hostIDs.contains(link.from) && link.kind.isPCIe }
        if let first = pcie.first, let p2p = first.peerToPeer, pcie.allSatisfy({ $0.peerToPeer == p2p }) {
          out += "      p2p: \(p2p)\n"
        }
      }
      if let network = host.networkBandwidthBytesPerSecondPerGPU {
        out += "    network:\n      bandwidthPerGPU: \(network) B/s\n"
        if let latency = host.networkLatencySeconds {
          out += "      latency: \(Units.formatDecimal(latency * 1e9, places: 0)) ns\n"
        }
      }
    }
    return out
  }

  static func yamlScalar(_ text: String) -> String {
    let plain = text.allSatisfy { $0.isLetter || $0.isNumber || " -_.()/+".contains($0) }
    if plain, let first = text.first, first.isLetter || first.isNumber { return text }
    return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
  }

  static func dotEscape(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
  }

  /// Left-aligned columns separated by two spaces.
  static func columns(_ rows: [[String]], indent: String) -> String {
    guard let width = rows.map(\.count).max() else { return "" }
    var widths = [Int](repeating: 0, count: width)
    for row in rows {
      for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    return rows.map { row in
      var line = indent
      for (index, cell) in row.enumerated() {
        line += cell
        if index < row.count - 1 { line += String(repeating: " ", count: widths[index] - cell.count + 2) }
      }
      return line.trimmingWhitespaceAtEnd() + "\n"
    }.joined()
  }
}

extension NIC {
  private enum CodingKeys: String, CodingKey {
    case name, pciBusId, numaNode, bandwidthBytesPerSecond, pathToGPU
  }

  /// `pathToGPU` is written as an object keyed by GPU index (`{"0": "pxb"}`).
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encodeIfPresent(pciBusId, forKey: .pciBusId)
    try container.encodeIfPresent(numaNode, forKey: .numaNode)
    try container.encodeIfPresent(bandwidthBytesPerSecond, forKey: .bandwidthBytesPerSecond)
    try container.encode(
      Dictionary(uniqueKeysWithValues: pathToGPU.map { (String($0.key), $0.value) }),
      forKey: .pathToGPU
    )
  }

  /// Decodes the value from its JSON form.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let paths = try container.decodeIfPresent([String: LinkKind].self, forKey: .pathToGPU) ?? [:]
    self.init(
      name: try container.decode(String.self, forKey: .name),
      pciBusId: try container.decodeIfPresent(PCIBusID.self, forKey: .pciBusId),
      numaNode: try container.decodeIfPresent(Int.self, forKey: .numaNode),
      bandwidthBytesPerSecond: try container.decodeIfPresent(Int64.self, forKey: .bandwidthBytesPerSecond),
      pathToGPU: Dictionary(uniqueKeysWithValues: paths.compactMap { key, value in Int(key).map { ($0, value) } })
    )
  }
}

extension String {
  func trimmingWhitespaceAtEnd() -> String {
    var copy = self
    while copy.last == " " { copy.removeLast() }
    return copy
  }
}
