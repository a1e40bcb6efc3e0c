/// One host's merged facts plus what only a person or a topology file can say.
package struct HostInput: Hashable, Sendable {
  /// What the sources said about the host.
  package var facts: MachineFacts
  /// Host name; `host0`, `host1` … when nil.
  package var name: String?
  /// System memory bandwidth, bytes per second (used for CPU offload).
  package var ramBandwidthBytesPerSecond: Int64?
  /// Bytes per second per direction each GPU can send to other hosts.
  package var networkBandwidthBytesPerSecondPerGPU: Int64?
  /// One-way network latency in seconds.
  package var networkLatencySeconds: Double?
  /// A GPU model to assume for GPUs that no source names (`--gpu`).
  package var assumedGPUModel: GPUSpec?

  package init(
    facts: MachineFacts,
    name: String? = nil,
    ramBandwidthBytesPerSecond: Int64? = nil,
    networkBandwidthBytesPerSecondPerGPU: Int64? = nil,
    networkLatencySeconds: Double? = nil,
    assumedGPUModel: GPUSpec? = nil
  ) {
    self.facts = facts
    self.name = name
    self.ramBandwidthBytesPerSecond = ramBandwidthBytesPerSecond
    self.networkBandwidthBytesPerSecondPerGPU = networkBandwidthBytesPerSecondPerGPU
    self.networkLatencySeconds = networkLatencySeconds
    self.assumedGPUModel = assumedGPUModel
  }
}

/// Turns facts into a ``DeviceGraph``: names GPUs from the catalog and gives
/// every GPU pair a kind and a bandwidth.
///
/// The bandwidth model, per direction:
/// - NVLink: links × per-link rate. The rate is the one `nvidia-smi nvlink -s`
///   printed when it was read (the smaller of the two GPUs'), else the nominal
///   rate of the GPU's NVLink generation (``NVLinkRates``).
/// - A pair is `nvswitch` rather than `nvlink` when the links run through NVSwitch
///   chips: NCCL or hwloc shows NVSwitch devices, or a GPU's `NV#` counts summed
///   over its peers exceed the links the GPU has (an H100 with `NV18` to seven
///   peers cannot have 126 direct links; NVIDIA GPUs have at most 18).
/// - PCIe: the slower endpoint's link (generation × lanes, ``PCIeRates``) when
///   CUDA peer-to-peer works; half of it when it does not, since data is staged
///   through host memory and crosses the host link twice (measured: 3× RTX 4090
///   Gen4 x16 without P2P reached 12.9 GB/s per direction against 31.5 raw,
///   tinygrad#6). `sys` pairs are further capped by the CPU-to-CPU link, with
///   NCCL's figures (`src/graph/topo.h`): 16 GB/s for AMD, 10 GB/s for Intel
///   before Sapphire Rapids, 22 GB/s for Sapphire Rapids and later.
/// - Hosts: the smaller of the two hosts' per-GPU network bandwidth.
package enum DeviceGraphBuilder {
  /// Fallback NVLink per-link rate when the GPU generation is unknown.
  static let unknownNVLinkRate: Int64 = NVLinkRates.generation4
  /// Fallback network bandwidth per GPU: 100 Gb/s.
  static let unknownNetworkBandwidth: Int64 = 12_500_000_000

  /// Builds a graph from the hosts' facts.
  ///
  /// - Complexity: O(g²) for g GPUs in total.
  package static func build(name: String, hosts inputs: [HostInput]) -> DeviceGraph {
    var hosts: [Host] = []
    var gpus: [GPU] = []
    var links: [Link] = []
    var notes: [String] = []
    var conflicts: [Conflict] = []
    var sources: [String] = []
    var firstGPUOfHost: [Int] = []

    for (hostIndex, input) in inputs.enumerated() {
      var facts = input.facts
      notes.append(contentsOf: facts.notes)
      for source in facts.sources where !sources.contains(source) { sources.append(source) }
      let base = gpus.count
      firstGPUOfHost.append(base)
      let hostName = input.name ?? facts.hostName ?? "host\(hostIndex)"
      let prefix = inputs.count > 1 ? "\(hostName): " : ""
      conflicts.append(
        contentsOf: facts.conflicts.map { Conflict(subject: prefix + $0.subject, kept: $0.kept, ignored: $0.ignored) }
      )

      // GPUs: the catalog model from the forced id, the product name, the PCI
      // device id, or --gpu; a GPU that no source names takes the model of its
      // named siblings when they all agree (`nvidia-smi nvlink -s -i 0` shows GPU0 only).
      var specs: [GPUSpec?] = facts.gpus.map { gpuFacts in
        if let model = gpuFacts.model, let spec = GPUCatalog.spec(named: model) { return spec }
        if let name = gpuFacts.name, let spec = GPUCatalog.spec(matchingProductName: name) { return spec }
        if let id = gpuFacts.pciDeviceID { return GPUCatalog.spec(pciDeviceID: id) }
        return nil
      }
      let namedModels = Set(specs.compactMap { $0?.id })
      let unnamed = facts.gpus.indices.filter { specs[$0] == nil && facts.gpus[$0].name == nil }
      if !unnamed.isEmpty {
        if namedModels.count == 1, let sibling = specs.compactMap({ $0 }).first {
          for position in unnamed { specs[position] = sibling }
          notes.append(
            "\(prefix)\(gpuList(unnamed)): not named by the sources; assumed \(sibling.name) like the other GPUs of the host"
          )
        } else if let assumed = input.assumedGPUModel {
          for position in unnamed { specs[position] = assumed }
          notes.append("\(prefix)\(gpuList(unnamed)): not named by the sources; assumed \(assumed.name) (--gpu)")
        }
      }
      let unknown = facts.gpus.indices.filter { specs[$0] == nil }
      if !unknown.isEmpty {
        let names = Set(unknown.compactMap { facts.gpus[$0].name }).sorted()
        var missing: [String] = []
        if unknown.contains(where: { facts.gpus[$0].memoryTotalBytes == nil }) { missing.append("memory") }
        if unknown.contains(where: { facts.gpus[$0].pcieGeneration == nil }) { missing.append("PCIe generation") }
        if unknown.contains(where: { facts.gpus[$0].memoryBandwidthBytesPerSecond == nil }) {
          missing.append("memory bandwidth")
        }
        let what =
          names.isEmpty ? "model not in the sources" : "'\(names.joined(separator: "', '"))' not in the catalog"
        notes.append(
          "\(prefix)\(gpuList(unknown)): \(what)"
            + (missing.isEmpty
              ? ""
              : "; \(missing.joined(separator: ", ")) unknown (pass --gpu MODEL, or add a --query-gpu capture)")
        )
      }
      // A model's links all run at one rate: a rate nvidia-smi printed for one GPU
      // (`nvlink -s -i 0`) holds for its siblings of the same model.
      var measuredRate: [String: Int64] = [:]
      for (position, gpuFacts) in facts.gpus.enumerated() {
        if let id = specs[position]?.id, let rate = gpuFacts.nvlinkRates.min() {
          measuredRate[id] = min(measuredRate[id] ?? rate, rate)
        }
      }
      for (position, gpuFacts) in facts.gpus.enumerated() {
        let spec = specs[position]
        let rates = gpuFacts.nvlinkRates
        let targetLinks = gpuFacts.nvlinkTargets.reduce(0) { $0 + $1.count }
        let nvlinkCount = !rates.isEmpty ? rates.count : (targetLinks > 0 ? targetLinks : spec?.nvlink?.links)
        let memory = gpuFacts.memoryTotalBytes ?? spec?.memoryBytes
        var used = gpuFacts.memoryUsedBytes
        if used == nil, let total = gpuFacts.memoryTotalBytes, let free = gpuFacts.memoryFreeBytes {
          // NVML's total is reserved + used + free (nvmlMemory_v2_t).
          used = max(0, total - free - (gpuFacts.memoryReservedBytes ?? 0))
        }
        gpus.append(
          GPU(
            index: base + position,
            host: hostIndex,
            localIndex: position,
            name: gpuFacts.name ?? spec?.name ?? "unknown GPU",
            model: spec?.id,
            memoryBytes: memory,
            memoryUsedBytes: used,
            memoryReservedBytes: gpuFacts.memoryReservedBytes.map { min(max($0, 0), memory ?? $0) },
            memoryBandwidthBytesPerSecond: gpuFacts.memoryBandwidthBytesPerSecond
              ?? spec?.memoryBandwidthBytesPerSecond,
            bf16TFLOPS: gpuFacts.bf16TFLOPS ?? spec?.tflops.bf16,
            pciBusId: gpuFacts.pciBusId,
            numaNode: gpuFacts.numaNode,
            cpuAffinity: gpuFacts.cpuAffinity,
            uuid: gpuFacts.uuid,
            computeCapability: gpuFacts.computeCapability ?? spec?.computeCapability,
            pcieGeneration: gpuFacts.pcieGeneration ?? spec?.pcieGeneration,
            pcieWidth: gpuFacts.pcieWidth ?? spec?.pcieLanes,
            nvlinkCount: nvlinkCount,
            nvlinkBytesPerSecondPerLink: rates.min() ?? spec.flatMap { measuredRate[$0.id] }
              ?? spec?.nvlink?.bytesPerSecondPerLink,
            migEnabled: gpuFacts.migEnabled,
            migInstances: gpuFacts.migInstances
          )
        )
        if gpuFacts.migEnabled == true {
          notes.append(
            "\(prefix)GPU\(position) is in MIG mode (\(gpuFacts.migInstances.count) instances): MIG instances have no NVLink or peer-to-peer"
          )
        }
      }

      // Which GPUs reach their peers through NVSwitch.
      let count = facts.gpus.count
      var switched =
        !facts.nvswitches.isEmpty
        || facts.gpus.contains { $0.nvlinkTargets.contains(where: \.isSwitch) }
      if !switched {
        for i in 0..<count {
          var sum = 0
          var peers = 0
          for j in 0..<count where j != i {
            if case .nvlink(let n) = facts.pairs[GPUPair(i, j)] {
              sum += n
              peers += 1
            }
          }
          let linksOfGPU = gpus[base + i].nvlinkCount ?? 18
          if peers >= 2 && sum > linksOfGPU {
            switched = true
            let has = gpus[base + i].nvlinkCount.map { "has \($0)" } ?? "an NVIDIA GPU has at most 18"
            notes.append(
              "\(prefix)GPU\(i) shows \(sum) NVLinks over \(peers) peers but \(has): the links run through NVSwitch"
            )
            break
          }
        }
      }

      // No link information at all: SXM GPUs of one model sit on an HGX board with
      // NVSwitch (or a full mesh); anything else is assumed to share a host bridge.
      let hasLinkInfo =
        !facts.pairs.isEmpty || !facts.nvlinkBandwidth.isEmpty || facts.gpus.contains { !$0.nvlinkTargets.isEmpty }
      if count > 1 && !hasLinkInfo {
        let models = Set(specs.map { $0?.id })
        if models.count == 1, let spec = specs.first ?? nil, let nvlink = spec.nvlink, !nvlink.bridgeOnly {
          for i in 0..<count { for j in (i + 1)..<count { facts.pairs[GPUPair(i, j)] = .nvlink(nvlink.links) } }
          switched = count > 2
          notes.append(
            "\(prefix)no link information in the sources (add `nvidia-smi topo -m`): \(spec.name) GPUs assumed to reach each other with all \(nvlink.links) NVLinks\(count > 2 ? " through NVSwitch (HGX board)" : "")"
          )
        } else {
          notes.append(
            "\(prefix)no link information in the sources (add `nvidia-smi topo -m`): PCIe PHB assumed between GPUs"
          )
        }
      }
      if count > 1, hasLinkInfo, facts.nvlinkBandwidth.isEmpty,
        facts.pairs.values.allSatisfy({ if case .pcie = $0 { true } else { false } }),
        let nvlink = specs.first??.nvlink, !nvlink.bridgeOnly
      {
        notes.append(
          "\(prefix)the sources show only PCIe paths, but \(specs.first??.name ?? "these") GPUs normally have \(nvlink.links) NVLinks: hwloc without its NVML plugin cannot see them; add `nvidia-smi topo -m` to read them"
        )
      }
      let cpuCap = interSocketBandwidth(cpuModel: facts.cpuModel)
      for i in 0..<count {
        for j in (i + 1)..<max(i + 1, count) {
          let pair = GPUPair(i, j)
          let a = gpus[base + i]
          let b = gpus[base + j]
          let override = facts.linkBandwidthOverrides[pair]
          var scratch: [String] = []
          var link = pairLink(
            facts: facts,
            pair: pair,
            a: a,
            b: b,
            specA: specs[i],
            specB: specs[j],
            switched: switched,
            interSocket: cpuCap,
            notes: &scratch,
            prefix: prefix
          )
          // Assumptions about a rate that the file gives explicitly are moot.
          if override == nil { notes.append(contentsOf: scratch) }
          if let override {
            link.bandwidthBytesPerSecond = override
            link.basis = "given in the topology file"
          }
          links.append(link)
        }
      }

      // NICs with global GPU indices.
      let nics = facts.nics.map { nic in
        NIC(
          name: nic.name,
          pciBusId: nic.pciBusId,
          numaNode: nic.numaNode,
          bandwidthBytesPerSecond: nic.bandwidthBytesPerSecond,
          pathToGPU: Dictionary(uniqueKeysWithValues: nic.pathToGPU.map { (base + $0.key, $0.value) })
        )
      }
      var networkPerGPU = input.networkBandwidthBytesPerSecondPerGPU
      if networkPerGPU == nil, !nics.isEmpty, count > 0, inputs.count > 1 {
        let total = nics.compactMap(\.bandwidthBytesPerSecond).reduce(0, +)
        if total > 0 { networkPerGPU = total / Int64(count) }
      }
      hosts.append(
        Host(
          index: hostIndex,
          name: hostName,
          cpuModel: facts.cpuModel,
          cpuCount: facts.cpuCount,
          ramBytes: facts.ramBytes ?? sumOfNUMAMemory(facts.numaNodes),
          ramBandwidthBytesPerSecond: input.ramBandwidthBytesPerSecond,
          numaNodes: facts.numaNodes,
          nics: nics,
          networkBandwidthBytesPerSecondPerGPU: networkPerGPU,
          networkLatencySeconds: input.networkLatencySeconds,
          nvswitchCount: facts.nvswitches.isEmpty ? nil : facts.nvswitches.count
        )
      )
    }

    // Pairs across hosts.
    if hosts.count > 1 {
      var warned = false
      for a in gpus {
        for b in gpus where b.index > a.index && b.host != a.host {
          let rates = [hosts[a.host], hosts[b.host]].map(\.networkBandwidthBytesPerSecondPerGPU)
          var bandwidth = rates.compactMap { $0 }.min()
          var basis = "network between \(hosts[a.host].name) and \(hosts[b.host].name), per GPU"
          if bandwidth == nil {
            bandwidth = unknownNetworkBandwidth
            basis = "network bandwidth not given; assumed 100 Gb/s per GPU"
            if !warned {
              notes.append("network bandwidth between hosts not given; assumed 100 Gb/s per GPU")
              warned = true
            }
          }
          let latency = [hosts[a.host].networkLatencySeconds, hosts[b.host].networkLatencySeconds].compactMap { $0 }
            .max()
          links.append(
            Link(
              from: a.index,
              to: b.index,
              kind: .network,
              peerToPeer: false,
              bandwidthBytesPerSecond: bandwidth ?? unknownNetworkBandwidth,
              latencySeconds: latency,
              basis: basis
            )
          )
        }
      }
    }
    return DeviceGraph(
      name: name,
      hosts: hosts,
      gpus: gpus,
      links: links,
      notes: deduplicated(notes),
      conflicts: conflicts,
      sources: sources
    )
  }

  /// `GPU1–GPU7` or `GPU0, GPU3`.
  static func gpuList(_ positions: [Int]) -> String {
    guard let first = positions.first, let last = positions.last else { return "" }
    if positions.count > 2, last - first + 1 == positions.count { return "GPU\(first)–GPU\(last)" }
    return positions.map { "GPU\($0)" }.joined(separator: ", ")
  }

  private static func deduplicated(_ notes: [String]) -> [String] {
    var seen: Set<String> = []
    return notes.filter { seen.insert($0).inserted }
  }

  private static func sumOfNUMAMemory(_ nodes: [NUMANode]) -> Int64? {
    let sizes = nodes.compactMap(\.memoryBytes)
    return sizes.isEmpty || sizes.count != nodes.count ? nil : sizes.reduce(0, +)
  }

  /// NCCL's inter-CPU bandwidth figures (`src/graph/topo.h`), bytes per second.
  static func interSocketBandwidth(cpuModel: String?) -> Int64 {
    guard let model = cpuModel?.lowercased() else { return 10_000_000_000 }
    if model.contains("amd") || model.contains("epyc") || model.contains("ryzen") { return 16_000_000_000 }
    // Sapphire Rapids (4th gen Xeon Scalable, model numbers x4xx) and later.
    let words = model.split(whereSeparator: { $0 == " " || $0 == "-" })
    if model.contains("xeon"), let number = words.first(where: { $0.count == 4 && Int($0) != nil }) {
      let generation = Array(number)[1]
      if generation >= "4" { return 22_000_000_000 }
    }
    return 10_000_000_000
  }

  private static func pairLink(
    facts: MachineFacts,
    pair: GPUPair,
    a: GPU,
    b: GPU,
    specA: GPUSpec?,
    specB: GPUSpec?,
    switched: Bool,
    interSocket: Int64,
    notes: inout [String],
    prefix: String
  ) -> Link {
    let cell = facts.pairs[pair]
    // NVLink through NCCL's switch targets, or hwloc's NVLinkBandwidth, when topo -m is absent.
    var nvlinkCount: Int?
    if case .nvlink(let n) = cell {
      nvlinkCount = n
    } else if cell == nil {
      let linksA = facts.gpus[pair.low].nvlinkTargets.filter(\.isSwitch).reduce(0) { $0 + $1.count }
      let linksB = facts.gpus[pair.high].nvlinkTargets.filter(\.isSwitch).reduce(0) { $0 + $1.count }
      if linksA > 0 && linksB > 0 { nvlinkCount = min(linksA, linksB) }
      // Direct NCCL links to the peer's bus id.
      if nvlinkCount == nil, let peer = facts.gpus[pair.high].pciBusId {
        let direct = facts.gpus[pair.low].nvlinkTargets.filter { $0.target == peer }.reduce(0) { $0 + $1.count }
        if direct > 0 { nvlinkCount = direct }
      }
    }
    let generation = specA?.nvlink?.generation ?? specB?.nvlink?.generation
    if let count = nvlinkCount {
      let measured = [a.nvlinkBytesPerSecondPerLink, b.nvlinkBytesPerSecondPerLink].compactMap { $0 }.min()
      var rate = measured ?? unknownNVLinkRate
      var basis: String
      let fromNvidiaSmi = facts.gpus.contains { !$0.nvlinkRates.isEmpty }
      if fromNvidiaSmi {
        basis = "\(count) links × \(Units.formatRate(rate)) per link (nvidia-smi nvlink -s)"
      } else if let measured {
        rate = measured
        basis =
          "\(count) links × \(Units.formatRate(rate)) per link (NVLink \(generation.map(String.init) ?? "?") nominal)"
      } else {
        basis = "\(count) links × 25 GB/s per link (GPU model unknown; NVLink 2–4 nominal rate assumed)"
        notes.append("\(prefix)NVLink generation unknown for some GPUs; assumed 25 GB/s per link (NVLink 2–4)")
      }
      // hwloc's NVLinkBandwidth distances, when present, are the measured figure.
      let hwloc = fromNvidiaSmi ? nil : facts.nvlinkBandwidth[pair]
      return Link(
        from: a.index,
        to: b.index,
        kind: switched ? .nvswitch : .nvlink,
        nvlinkCount: count,
        nvlinkGeneration: generation,
        peerToPeer: true,
        bandwidthBytesPerSecond: hwloc ?? Int64(count) * rate,
        basis: hwloc == nil ? basis : "hwloc NVLinkBandwidth distance"
      )
    }
    if let hwloc = facts.nvlinkBandwidth[pair] {
      // hwloc's NVLinkBandwidth says the pair is on NVLink even where its PCI
      // tree gave a PCIe class. Links = bandwidth ÷ the generation's per-link rate.
      let perLink = generation.flatMap(NVLinkRates.bytesPerSecond(generation:))
      let links = perLink.map { Int(((Double(hwloc) / Double($0))).rounded()) }
      return Link(
        from: a.index,
        to: b.index,
        kind: switched ? .nvswitch : .nvlink,
        nvlinkCount: links,
        nvlinkGeneration: generation,
        peerToPeer: true,
        bandwidthBytesPerSecond: hwloc,
        basis: "hwloc NVLinkBandwidth distance"
      )
    }

    // PCIe.
    var kind: LinkKind
    var assumedKind = false
    if case .pcie(let known) = cell {
      kind = known
    } else if let numaA = a.numaNode, let numaB = b.numaNode {
      kind = numaA == numaB ? .node : .sys
      assumedKind = true
    } else {
      kind = .phb
      assumedKind = true
    }
    func hostLink(_ gpu: GPU) -> (Int64, String)? {
      guard let generation = gpu.pcieGeneration else { return nil }
      let lanes = gpu.pcieWidth ?? 16
      return PCIeRates.bytesPerSecond(generation: generation, lanes: lanes).map { ($0, "Gen\(generation) x\(lanes)") }
    }
    var pcie: (Int64, String)
    if let la = hostLink(a), let lb = hostLink(b) {
      pcie = la.0 <= lb.0 ? la : lb
    } else if let known = hostLink(a) ?? hostLink(b) {
      pcie = known
    } else {
      pcie = (PCIeRates.bytesPerSecond(generation: 4, lanes: 16) ?? 0, "Gen4 x16 assumed")
    }
    let status = facts.peerToPeer[pair]
    var peerToPeer: Bool?
    var p2pBasis: String
    if let status {
      peerToPeer = status.isSupported
      p2pBasis = "topo -p2p \(status.rawValue)"
    } else if let specA, let specB {
      peerToPeer = specA.peerToPeerOverPCIe && specB.peerToPeerOverPCIe && specA.id == specB.id
      p2pBasis =
        peerToPeer == true
        ? "P2P assumed for \(specA.segment.rawValue) cards"
        : (specA.id != specB.id
          ? "no P2P between different models" : "stock driver has no PCIe P2P on \(specA.segment.rawValue) cards")
    } else {
      peerToPeer = nil
      p2pBasis = "P2P unknown, assumed to work"
    }
    var bandwidth = pcie.0
    var basis = "PCIe \(pcie.1)"
    if peerToPeer == false {
      bandwidth /= 2
      basis += ", staged through host memory (\(p2pBasis)): half the link"
    } else {
      basis += " (\(p2pBasis))"
    }
    if kind == .sys, interSocket < bandwidth {
      bandwidth = interSocket
      basis += ", capped by the CPU-to-CPU link at \(Units.formatRate(interSocket)) (NCCL model)"
    }
    if assumedKind {
      basis += "; path kind \(kind.rawValue.uppercased()) assumed (no topo -m or hwloc PCI tree)"
    }
    return Link(
      from: a.index,
      to: b.index,
      kind: kind,
      peerToPeer: peerToPeer,
      bandwidthBytesPerSecond: bandwidth,
      basis: basis
    )
  }
}
