internal import Yams

/// shardplan's own topology file: YAML describing hosts, GPUs, links, network
/// and memory. The format is documented in the README ("Topology files").
package enum TopologyFile {
  /// The parsed file: a name and one ``HostInput`` per host.
  package struct Contents: Hashable, Sendable {
    package var name: String
    package var description: String?
    package var hosts: [HostInput]
  }

  static let topKeys = ["name", "description", "hosts", "network"]
  static let hostKeys = [
    "name", "count", "cpu", "ram", "ramBandwidth", "numaNodes", "gpus", "links", "network", "capture",
  ]
  static let gpuKeys = [
    "model", "name", "count", "memory", "memoryUsed", "memoryReserved", "memoryBandwidth", "bf16TFLOPS", "numaNode",
    "pcieGeneration", "pcieLanes",
  ]
  static let linkKeys = ["default", "p2p", "matrix", "groups"]
  static let groupKeys = ["kind", "gpus", "links", "bandwidth"]
  static let networkKeys = ["bandwidthPerGPU", "latency"]

  /// True when `text` is a YAML document with a top-level `hosts:` key.
  package static func looksLikeTopologyFile(_ text: String) -> Bool {
    text.textLines().contains { $0.hasPrefix("hosts:") }
  }

  /// Reads a topology file.
  ///
  /// - Parameter captureReader: reads a capture file named by a host's `capture:`
  ///   list (a path already resolved against the topology file's folder) into
  ///   facts; ``TopologyLoader`` passes one that knows every input kind.
  /// - Throws: ``InputError`` with the file and line of the first problem.
  /// Size limits of one topology: every GPU pair gets a link, so the graph grows
  /// with the square of the GPU count.
  package static let maxHosts = 256
  /// GPUs one host may list.
  package static let maxGPUsPerHost = 64
  /// GPUs of all hosts together.
  package static let maxGPUs = 2048

  package static func read(
    _ text: String,
    source: String,
    captureReader: ((String) throws -> MachineFacts)? = nil
  ) throws -> Contents {
    let root = try YAMLMapping.document(text, source: source, context: "the topology file")
    try root.checkKeys(topKeys)
    let name = try root.string("name") ?? source
    let sharedNetwork = try root.mapping("network", context: "network")
    let hostEntries = try root.mappings("hosts", context: "a host")
    guard !hostEntries.isEmpty else {
      throw root.error("hosts", "no hosts", expected: "a list of hosts, each with gpus")
    }
    var hosts: [HostInput] = []
    var gpus = 0
    for entry in hostEntries {
      try entry.checkKeys(hostKeys)
      let repeatCount = try entry.int("count", range: 1...maxHosts) ?? 1
      guard hosts.count + repeatCount <= maxHosts else {
        throw entry.error("count", "more than \(maxHosts) hosts", expected: "at most \(maxHosts) hosts in one topology")
      }
      let template = try readHost(entry, sharedNetwork: sharedNetwork, captureReader: captureReader)
      gpus += template.facts.gpus.count * repeatCount
      guard gpus <= maxGPUs else {
        throw entry.error(
          "gpus",
          "more than \(maxGPUs) GPUs in all",
          expected: "at most \(maxGPUs) GPUs in one topology (\(maxHosts) hosts, \(maxGPUsPerHost) per host)",
          fix: "Plan a part of the cluster: the layouts shardplan writes span at most a few nodes"
        )
      }
      let baseName = try entry.string("name") ?? "host"
      for copy in 0..<repeatCount {
        var host = template
        host.name = repeatCount > 1 ? "\(baseName)\(copy)" : (try entry.string("name")) ?? "host\(hosts.count)"
        host.facts.hostName = host.name
        hosts.append(host)
      }
    }
    return Contents(name: name, description: try root.string("description"), hosts: hosts)
  }

  private static func readNetwork(_ mapping: YAMLMapping?) throws -> (Int64?, Double?) {
    guard let mapping else { return (nil, nil) }
    try mapping.checkKeys(networkKeys)
    return (try mapping.rate("bandwidthPerGPU"), try mapping.seconds("latency"))
  }

  private static func readHost(
    _ entry: YAMLMapping,
    sharedNetwork: YAMLMapping?,
    captureReader: ((String) throws -> MachineFacts)?
  ) throws -> HostInput {
    if entry.has("capture") {
      return try readCapturedHost(entry, sharedNetwork: sharedNetwork, captureReader: captureReader)
    }
    var facts = MachineFacts(sources: [entry.source])
    facts.cpuModel = try entry.string("cpu")
    facts.ramBytes = try entry.bytes("ram")
    let numaCount = try entry.int("numaNodes", range: 1...64) ?? 1
    facts.numaNodes = (0..<numaCount).map { NUMANode(index: $0) }
    let gpuEntries = try entry.mappings("gpus", context: "a GPU entry")
    guard gpuEntries.count <= TopologyFile.maxGPUsPerHost else {
      throw entry.error(
        "gpus",
        "\(gpuEntries.count) GPU entries on one host",
        expected: "at most \(TopologyFile.maxGPUsPerHost) GPUs per host",
        fix: "List each host's own GPUs; use more hosts (with count:) for a cluster"
      )
    }
    for gpuEntry in gpuEntries {
      try gpuEntry.checkKeys(gpuKeys)
      let model = try gpuEntry.string("model")
      var spec: GPUSpec?
      if let model {
        spec = GPUCatalog.spec(named: model)
        guard spec != nil else {
          throw gpuEntry.error(
            "model",
            "unknown GPU model '\(model)'",
            expected: "a catalog id such as \(GPUCatalog.all.prefix(4).map(\.id).joined(separator: ", "))",
            fix: "Run `shardplan gpus` for the list, or give memory, memoryBandwidth and bf16TFLOPS explicitly"
          )
        }
      }
      let explicitMemory = try gpuEntry.bytes("memory")
      guard spec != nil || explicitMemory != nil else {
        throw InputError(
          .malformed,
          source: entry.source,
          line: gpuEntry.line,
          message: "GPU entry has neither 'model' nor 'memory'",
          expected: "model: ID, or memory: SIZE (with memoryBandwidth and bf16TFLOPS)"
        )
      }
      let count = try gpuEntry.int("count", range: 1...1024) ?? 1
      var gpu = GPUFacts()
      gpu.model = spec?.id
      gpu.name = try gpuEntry.string("name") ?? spec?.name
      gpu.memoryTotalBytes = explicitMemory
      gpu.memoryUsedBytes = try gpuEntry.bytes("memoryUsed")
      gpu.memoryReservedBytes = try gpuEntry.bytes("memoryReserved")
      gpu.memoryBandwidthBytesPerSecond = try gpuEntry.rate("memoryBandwidth")
      gpu.bf16TFLOPS = try gpuEntry.double("bf16TFLOPS", range: 0...1_000_000)
      gpu.numaNode = try gpuEntry.int("numaNode", range: 0...63)
      gpu.pcieGeneration = try gpuEntry.int("pcieGeneration", range: 1...6)
      gpu.pcieWidth = try gpuEntry.int("pcieLanes", range: 1...32)
      if let memory = gpu.memoryTotalBytes ?? spec?.memoryBytes, let used = gpu.memoryUsedBytes, used > memory {
        throw gpuEntry.error("memoryUsed", "memoryUsed is larger than the card's memory")
      }
      if let memory = gpu.memoryTotalBytes ?? spec?.memoryBytes,
        (gpu.memoryReservedBytes ?? 0) + (gpu.memoryUsedBytes ?? 0) > memory
      {
        throw gpuEntry.error(
          "memoryReserved",
          "memoryReserved and memoryUsed together are larger than the card's memory",
          expected: "the driver's reserved memory as nvidia-smi -q prints it (FB Memory Usage: Reserved), within memory"
        )
      }
      guard facts.gpus.count + count <= TopologyFile.maxGPUsPerHost else {
        throw gpuEntry.error(
          "count",
          "the host would have \(facts.gpus.count + count) GPUs",
          expected: "at most \(TopologyFile.maxGPUsPerHost) GPUs per host"
        )
      }
      for _ in 0..<count {
        gpu.index = facts.gpus.count
        facts.gpus.append(gpu)
      }
    }
    guard !facts.gpus.isEmpty || entry.has("gpus") else {
      throw InputError(
        .malformed,
        source: entry.source,
        line: entry.line,
        message: "host has no 'gpus'",
        expected: "gpus: [ {model: …, count: …} ]"
      )
    }
    try readLinks(try entry.mapping("links", context: "links"), into: &facts, source: entry.source)
    return try hostInput(facts, entry, sharedNetwork: sharedNetwork)
  }

  /// The host with what only the file says: RAM bandwidth and the network (the
  /// host's own, else the file's shared one).
  private static func hostInput(
    _ facts: MachineFacts,
    _ entry: YAMLMapping,
    sharedNetwork: YAMLMapping?
  ) throws -> HostInput {
    let (hostBandwidth, hostLatency) = try readNetwork(try entry.mapping("network", context: "network"))
    let (sharedBandwidth, sharedLatency) = try readNetwork(sharedNetwork)
    return HostInput(
      facts: facts,
      name: nil,
      ramBandwidthBytesPerSecond: try entry.rate("ramBandwidth"),
      networkBandwidthBytesPerSecondPerGPU: hostBandwidth ?? sharedBandwidth,
      networkLatencySeconds: hostLatency ?? sharedLatency
    )
  }

  /// A host described by capture files (`capture: [topo.txt, query.csv]`), with
  /// the file's cpu, ram, ramBandwidth and network on top.
  private static func readCapturedHost(
    _ entry: YAMLMapping,
    sharedNetwork: YAMLMapping?,
    captureReader: ((String) throws -> MachineFacts)?
  ) throws -> HostInput {
    for key in ["gpus", "links", "numaNodes"] where entry.has(key) {
      throw entry.error(
        key,
        "'\(key)' and 'capture' in one host",
        expected: "either captured outputs or a description",
        fix: "Remove '\(key)': the captured files describe the GPUs and links"
      )
    }
    guard let (node, line) = entry.node("capture") else { throw entry.error("capture", "no capture list") }
    var paths: [String] = []
    switch node {
    case .scalar(let scalar): paths = [scalar.string]
    case .sequence(let sequence):
      for item in sequence {
        guard case .scalar(let scalar) = item else {
          throw entry.error("capture", "an entry of 'capture' is not a file name")
        }
        paths.append(scalar.string)
      }
    default: throw entry.error("capture", "'capture' is not a list of files")
    }
    guard let captureReader else {
      throw InputError(
        .unreadable,
        source: entry.source,
        line: line,
        field: "capture",
        message: "capture files cannot be read here",
        fix: "Read the topology file from disk with TopologyLoader"
      )
    }
    let folder = entry.source.split(separator: "/", omittingEmptySubsequences: false).dropLast()
      .joined(separator: "/")
    var parts: [MachineFacts] = []
    for path in paths {
      let resolved = path.hasPrefix("/") || folder.isEmpty ? path : "\(folder)/\(path)"
      parts.append(try captureReader(resolved))
    }
    var facts = FactsMerger.merge(parts)
    if let cpu = try entry.string("cpu") { facts.cpuModel = cpu }
    if let ram = try entry.bytes("ram") { facts.ramBytes = ram }
    return try hostInput(facts, entry, sharedNetwork: sharedNetwork)
  }

  private static func readLinks(_ links: YAMLMapping?, into facts: inout MachineFacts, source: String) throws {
    let count = facts.gpus.count
    guard let links else {
      if count > 1 {
        facts.notes.append("\(source): no links given for a host with \(count) GPUs; PCIe PHB assumed between them")
        for i in 0..<count { for j in (i + 1)..<count { facts.pairs[GPUPair(i, j)] = .pcie(.phb) } }
      }
      return
    }
    try links.checkKeys(linkKeys)
    if let matrix = try links.string("matrix") {
      let parsed: MachineFacts
      do {
        parsed = try NvidiaSmiText.read(matrix, source: "\(source) (links.matrix)")
      } catch let error as InputError {
        var shifted = error
        if let line = error.line, let base = links.node("matrix")?.1 { shifted.line = base + line }
        shifted.source = source
        throw shifted
      }
      guard parsed.gpus.count == count else {
        throw links.error(
          "matrix",
          "matrix has \(parsed.gpus.count) GPUs but the host lists \(count)",
          expected: "one row and one column per GPU"
        )
      }
      facts.pairs = parsed.pairs
      facts.peerToPeer.merge(parsed.peerToPeer) { a, _ in a }
      for (index, gpu) in parsed.gpus.enumerated() where gpu.numaNode != nil && facts.gpus[index].numaNode == nil {
        facts.gpus[index].numaNode = gpu.numaNode
      }
    }
    for group in try links.mappings("groups", context: "a link group") {
      try group.checkKeys(groupKeys)
      let kindText = try group.requiredString("kind")
      guard kindText == "nvlink" || kindText == "nvswitch" else {
        throw group.error("kind", "unknown link group kind '\(kindText)'", expected: "nvlink or nvswitch")
      }
      let members: [Int]
      if case .scalar(let scalar)? = group.node("gpus")?.0, scalar.string == "all" {
        members = Array(0..<count)
      } else {
        guard let list = try group.ints("gpus"), list.count >= 2 else {
          throw group.error("gpus", "a link group needs at least two GPUs", expected: "a list such as [0, 1] or all")
        }
        members = list
      }
      if let outside = members.first(where: { $0 >= count }) {
        throw group.error("gpus", "GPU \(outside) is not on this host", expected: "indices 0 to \(count - 1)")
      }
      guard let linkCount = try group.int("links", range: 1...64) else {
        throw group.error("links", "link group has no 'links' count", expected: "links: N (NVLinks per pair)")
      }
      let bandwidth = try group.rate("bandwidth")
      for (position, a) in members.enumerated() {
        if kindText == "nvswitch" {
          facts.gpus[a].nvlinkTargets = [NVLinkTarget(target: nil, count: linkCount, isSwitch: true)]
        }
        for b in members[(position + 1)...] where a != b {
          facts.pairs[GPUPair(a, b)] = .nvlink(linkCount)
          if let bandwidth { facts.linkBandwidthOverrides[GPUPair(a, b)] = bandwidth }
        }
      }
    }
    if let defaultText = try links.string("default") {
      guard let cell = TopoCell(code: defaultText.uppercased()), case .pcie = cell else {
        throw links.error("default", "'\(defaultText)' is not a PCIe path kind", expected: "pix, pxb, phb, node or sys")
      }
      for i in 0..<count {
        for j in (i + 1)..<max(i + 1, count) where facts.pairs[GPUPair(i, j)] == nil {
          facts.pairs[GPUPair(i, j)] = cell
        }
      }
    }
    if let p2p = try links.bool("p2p") {
      for i in 0..<count {
        for j in (i + 1)..<max(i + 1, count) {
          if case .pcie = facts.pairs[GPUPair(i, j)] {
            facts.peerToPeer[GPUPair(i, j)] = p2p ? .ok : .notSupported
          }
        }
      }
    }
  }
}
