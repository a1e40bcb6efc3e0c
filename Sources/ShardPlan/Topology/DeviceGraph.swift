/// How two GPUs are connected, best to worst, in `nvidia-smi topo -m`'s terms.
public enum LinkKind: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
  /// Direct NVLink between the two GPUs (`NV#` with the links running GPU to GPU,
  /// or a bridge between two PCIe cards).
  case nvlink
  /// NVLink through NVSwitch chips: every GPU reaches every other with all its links.
  case nvswitch
  /// PCIe through at most one bridge (one switch).
  case pix
  /// PCIe through several bridges without crossing the host bridge.
  case pxb
  /// PCIe through the CPU's host bridge.
  case phb
  /// PCIe across host bridges inside one NUMA node.
  case node
  /// PCIe plus the link between CPU sockets or NUMA nodes (UPI, Infinity Fabric).
  case sys
  /// Different hosts: the network between them.
  case network

  /// Rank from best (0) to worst.
  package var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }

  /// True for kinds that run over PCIe.
  package var isPCIe: Bool { [.pix, .pxb, .phb, .node, .sys].contains(self) }

  /// True for NVLink kinds.
  package var isNVLink: Bool { self == .nvlink || self == .nvswitch }

  /// Orders by rank, best first.
  public static func < (lhs: LinkKind, rhs: LinkKind) -> Bool { lhs.rank < rhs.rank }
}

/// The machines, GPUs and GPU-to-GPU links that a plan is made for.
///
/// Every unordered pair of GPUs has exactly one ``Link`` in ``links``, ordered by
/// (`from`, `to`) with `from < to`. GPU indices are global across hosts: host 0's
/// GPUs first, in `nvidia-smi` order (PCI bus order), then host 1's, and so on.
public struct DeviceGraph: Hashable, Sendable, Codable {
  /// Version of this value's JSON form; bumped when a field changes meaning.
  package static let schemaVersion = 1

  /// A name for the whole graph (a bundled topology's name, or the sources read).
  public var name: String
  /// The hosts, in order.
  public var hosts: [Host]
  /// The GPUs, by global index.
  public var gpus: [GPU]
  /// One link per unordered GPU pair, sorted by (from, to).
  public var links: [Link]
  /// Facts worth knowing that are not errors: assumptions made, fields not trusted.
  package var notes: [String]
  /// Places where sources disagreed. The first source's value is kept.
  package var conflicts: [Conflict]
  /// The files or commands this graph was read from.
  package var sources: [String]

  /// Creates a graph; ``links`` are sorted into their canonical order.
  package init(
    name: String,
    hosts: [Host],
    gpus: [GPU],
    links: [Link],
    notes: [String] = [],
    conflicts: [Conflict] = [],
    sources: [String] = []
  ) {
    self.name = name
    self.hosts = hosts
    self.gpus = gpus
    self.links = links.sorted { ($0.from, $0.to) < ($1.from, $1.to) }
    self.notes = notes
    self.conflicts = conflicts
    self.sources = sources
  }

  /// The link between two distinct GPUs, or nil for an unknown index or a == b.
  ///
  /// - Complexity: O(1): links are stored in pair order.
  public func link(_ a: Int, _ b: Int) -> Link? {
    guard a != b, a >= 0, b >= 0, a < gpus.count, b < gpus.count else { return nil }
    let (low, high) = a < b ? (a, b) : (b, a)
    let n = gpus.count
    // Index of (low, high) in the row-major upper triangle.
    let index = low * (2 * n - low - 1) / 2 + (high - low - 1)
    guard index < links.count else { return nil }
    let candidate = links[index]
    if candidate.from == low && candidate.to == high { return candidate }
    return links.first { $0.from == low && $0.to == high }
  }

  /// The slowest link among all pairs of these GPUs, in bytes per second per
  /// direction; nil for fewer than two GPUs. This bounds a ring collective over
  /// the group.
  public func slowestLinkBandwidth(among group: [Int]) -> Int64? {
    slowestLink(among: group)?.bandwidthBytesPerSecond
  }

  /// The slowest link between any two GPUs of `group` (nil for fewer than two).
  package func slowestLink(among group: [Int]) -> Link? {
    var slowest: Link?
    for (position, a) in group.enumerated() {
      for b in group[(position + 1)...] {
        guard let link = link(a, b) else { continue }
        if slowest.map({ link.bandwidthBytesPerSecond < $0.bandwidthBytesPerSecond }) ?? true { slowest = link }
      }
    }
    return slowest
  }

  /// Groups of GPUs in which every pair is joined by NVLink (direct or through
  /// NVSwitch): the maximal cliques of the NVLink graph, largest first, ties by
  /// lowest GPU index. GPUs with no NVLink appear in no island.
  ///
  /// - Complexity: Bron–Kerbosch with pivoting; fast for the ≤ 72 GPUs of one
  ///   NVLink domain, exponential only on adversarial graphs.
  public func fastIslands() -> [[Int]] {
    var neighbours = [Set<Int>](repeating: [], count: gpus.count)
    for link in links where link.kind.isNVLink {
      neighbours[link.from].insert(link.to)
      neighbours[link.to].insert(link.from)
    }
    var cliques: [[Int]] = []
    func expand(_ r: Set<Int>, _ p: Set<Int>, _ x: Set<Int>) {
      if p.isEmpty && x.isEmpty {
        if r.count >= 2 { cliques.append(r.sorted()) }
        return
      }
      let pivot = p.union(x).max { neighbours[$0].intersection(p).count < neighbours[$1].intersection(p).count }
      var p = p
      var x = x
      for vertex in p.subtracting(pivot.map { neighbours[$0] } ?? []).sorted() {
        expand(r.union([vertex]), p.intersection(neighbours[vertex]), x.intersection(neighbours[vertex]))
        p.remove(vertex)
        x.insert(vertex)
      }
    }
    expand([], Set(0..<gpus.count), [])
    return cliques.sorted { a, b in
      a.count != b.count ? a.count > b.count : a.lexicographicallyPrecedes(b)
    }
  }

  /// The NICs of the GPU's host with the best path to the GPU, best first
  /// (ties by name); NICs whose path to the GPU is unknown come last.
  package func closestNICs(toGPU index: Int) -> [NIC] {
    guard index >= 0, index < gpus.count else { return [] }
    let host = hosts[gpus[index].host]
    return host.nics.sorted { a, b in
      let rankA = a.pathToGPU[index]?.rank ?? Int.max
      let rankB = b.pathToGPU[index]?.rank ?? Int.max
      return rankA != rankB ? rankA < rankB : a.name < b.name
    }
  }

  /// GPUs whose NUMA node is `numaNode` on host `host`.
  package func gpus(onHost host: Int, numaNode: Int) -> [Int] {
    gpus.filter { $0.host == host && $0.numaNode == numaNode }.map(\.index)
  }
}

/// One machine.
public struct Host: Hashable, Sendable, Codable {
  /// Position among the graph's hosts.
  package var index: Int
  /// Host name, as given or `host0`.
  public var name: String
  /// CPU model, when known (from hwloc).
  package var cpuModel: String?
  /// Logical processors, when known.
  package var cpuCount: Int?
  /// System memory in bytes, when known.
  public var ramBytes: Int64?
  /// System memory bandwidth in bytes per second, when given (used for offload).
  package var ramBandwidthBytesPerSecond: Int64?
  /// NUMA nodes, by OS index.
  package var numaNodes: [NUMANode]
  /// Network adapters.
  package var nics: [NIC]
  /// Bytes per second per direction each GPU can send to other hosts, when known.
  package var networkBandwidthBytesPerSecondPerGPU: Int64?
  /// One-way network latency in seconds, when known.
  package var networkLatencySeconds: Double?
  /// Number of NVSwitch chips seen (hwloc, NCCL), when known.
  package var nvswitchCount: Int?

  package init(
    index: Int,
    name: String,
    cpuModel: String? = nil,
    cpuCount: Int? = nil,
    ramBytes: Int64? = nil,
    ramBandwidthBytesPerSecond: Int64? = nil,
    numaNodes: [NUMANode] = [],
    nics: [NIC] = [],
    networkBandwidthBytesPerSecondPerGPU: Int64? = nil,
    networkLatencySeconds: Double? = nil,
    nvswitchCount: Int? = nil
  ) {
    self.index = index
    self.name = name
    self.cpuModel = cpuModel
    self.cpuCount = cpuCount
    self.ramBytes = ramBytes
    self.ramBandwidthBytesPerSecond = ramBandwidthBytesPerSecond
    self.numaNodes = numaNodes
    self.nics = nics
    self.networkBandwidthBytesPerSecondPerGPU = networkBandwidthBytesPerSecondPerGPU
    self.networkLatencySeconds = networkLatencySeconds
    self.nvswitchCount = nvswitchCount
  }
}

/// A NUMA node of a host.
package struct NUMANode: Hashable, Sendable, Codable {
  /// The OS index (`numactl -H` numbering).
  package var index: Int
  /// Local memory in bytes, when known.
  package var memoryBytes: Int64?
  /// The CPUs of this node as a Linux cpulist (`0-27,56-83`), when known.
  package var cpus: String?

  package init(index: Int, memoryBytes: Int64? = nil, cpus: String? = nil) {
    self.index = index
    self.memoryBytes = memoryBytes
    self.cpus = cpus
  }
}

/// A network adapter and how close it sits to each GPU.
package struct NIC: Hashable, Sendable, Codable {
  /// Device name (`mlx5_0`, `rocep49s0`).
  package var name: String
  /// PCI address, when known.
  package var pciBusId: PCIBusID?
  /// NUMA node, when known.
  package var numaNode: Int?
  /// Port speed in bytes per second, when known.
  package var bandwidthBytesPerSecond: Int64?
  /// Path kind from each GPU (global index) to this NIC, when known (`topo -m`).
  package var pathToGPU: [Int: LinkKind]

  package init(
    name: String,
    pciBusId: PCIBusID? = nil,
    numaNode: Int? = nil,
    bandwidthBytesPerSecond: Int64? = nil,
    pathToGPU: [Int: LinkKind] = [:]
  ) {
    self.name = name
    self.pciBusId = pciBusId
    self.numaNode = numaNode
    self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
    self.pathToGPU = pathToGPU
  }

  /// The GPUs with the best path to this NIC.
  package var closestGPUs: [Int] {
    guard let best = pathToGPU.values.min() else { return [] }
    return pathToGPU.filter { $0.value == best }.map(\.key).sorted()
  }
}

/// One GPU as the planner sees it.
public struct GPU: Hashable, Sendable, Codable {
  /// Global index across hosts.
  public var index: Int
  /// Index of its host in ``DeviceGraph/hosts``.
  public var host: Int
  /// Index on its host (`nvidia-smi` index, CUDA index under `CUDA_DEVICE_ORDER=PCI_BUS_ID`).
  package var localIndex: Int
  /// Product name as reported (`NVIDIA H100 80GB HBM3`) or the catalog name.
  public var name: String
  /// Catalog identifier of the model, when recognised.
  public var model: String?
  /// Total memory in bytes.
  public var memoryBytes: Int64?
  /// Memory already in use by other processes, in bytes (reported or declared).
  package var memoryUsedBytes: Int64?
  /// Memory the driver and firmware keep for themselves, in bytes: nvidia-smi's
  /// `Reserved` (NVML's `reserved`), inside ``memoryBytes`` but never allocatable,
  /// so CUDA's total (`cudaMemGetInfo`, what vLLM's memory fraction multiplies) is
  /// ``memoryBytes`` less this. Nil when not reported.
  package var memoryReservedBytes: Int64?
  /// Peak memory bandwidth in bytes per second, from the catalog or the topology file.
  package var memoryBandwidthBytesPerSecond: Int64?
  /// Dense peak bf16 TFLOP/s, from the catalog or the topology file.
  package var bf16TFLOPS: Double?
  /// PCI address, when known.
  package var pciBusId: PCIBusID?
  /// NUMA node the GPU is attached to, when known.
  package var numaNode: Int?
  /// CPUs close to the GPU, as a Linux cpulist, when known.
  package var cpuAffinity: String?
  /// `GPU-…` UUID, when known.
  package var uuid: String?
  /// CUDA compute capability, when known.
  package var computeCapability: String?
  /// PCIe generation of the GPU's host link (maximum, not the idle current value).
  package var pcieGeneration: Int?
  /// PCIe lanes of the GPU's host link.
  package var pcieWidth: Int?
  /// NVLinks on this GPU (active links when `nvlink -s` was read).
  package var nvlinkCount: Int?
  /// Bytes per second per direction of each NVLink, when known.
  package var nvlinkBytesPerSecondPerLink: Int64?
  /// Whether MIG mode is on; nil when not reported.
  package var migEnabled: Bool?
  /// MIG instances, when MIG is on.
  package var migInstances: [MIGInstance]

  /// Memory not used by anyone else, in bytes: the card's memory less what the
  /// driver reserves and other processes use.
  public var memoryAvailableBytes: Int64? {
    allocatableBytes.map { $0 - (memoryUsedBytes ?? 0) }
  }

  /// The memory an engine can allocate on the card, as CUDA reports its total:
  /// ``memoryBytes`` less the driver's reserved memory, when that is known. Every
  /// budget is a share of this.
  package var allocatableBytes: Int64? {
    memoryBytes.map { $0 - (memoryReservedBytes ?? 0) }
  }

  package init(
    index: Int,
    host: Int,
    localIndex: Int,
    name: String,
    model: String? = nil,
    memoryBytes: Int64? = nil,
    memoryUsedBytes: Int64? = nil,
    memoryReservedBytes: Int64? = nil,
    memoryBandwidthBytesPerSecond: Int64? = nil,
    bf16TFLOPS: Double? = nil,
    pciBusId: PCIBusID? = nil,
    numaNode: Int? = nil,
    cpuAffinity: String? = nil,
    uuid: String? = nil,
    computeCapability: String? = nil,
    pcieGeneration: Int? = nil,
    pcieWidth: Int? = nil,
    nvlinkCount: Int? = nil,
    nvlinkBytesPerSecondPerLink: Int64? = nil,
    migEnabled: Bool? = nil,
    migInstances: [MIGInstance] = []
  ) {
    self.index = index
    self.host = host
    self.localIndex = localIndex
    self.name = name
    self.model = model
    self.memoryBytes = memoryBytes
    self.memoryUsedBytes = memoryUsedBytes
    self.memoryReservedBytes = memoryReservedBytes
    self.memoryBandwidthBytesPerSecond = memoryBandwidthBytesPerSecond
    self.bf16TFLOPS = bf16TFLOPS
    self.pciBusId = pciBusId
    self.numaNode = numaNode
    self.cpuAffinity = cpuAffinity
    self.uuid = uuid
    self.computeCapability = computeCapability
    self.pcieGeneration = pcieGeneration
    self.pcieWidth = pcieWidth
    self.nvlinkCount = nvlinkCount
    self.nvlinkBytesPerSecondPerLink = nvlinkBytesPerSecondPerLink
    self.migEnabled = migEnabled
    self.migInstances = migInstances
  }
}

/// A MIG slice of a GPU.
package struct MIGInstance: Hashable, Sendable, Codable {
  /// Device index inside the parent GPU.
  package var index: Int
  /// Profile name (`1g.10gb`), when known.
  package var profile: String?
  /// `MIG-…` UUID, when known.
  package var uuid: String?
  /// Memory of the slice in bytes, when known.
  package var memoryBytes: Int64?
  /// Streaming multiprocessors of the slice, when known.
  package var multiprocessors: Int?

  package init(
    index: Int,
    profile: String? = nil,
    uuid: String? = nil,
    memoryBytes: Int64? = nil,
    multiprocessors: Int? = nil
  ) {
    self.index = index
    self.profile = profile
    self.uuid = uuid
    self.memoryBytes = memoryBytes
    self.multiprocessors = multiprocessors
  }
}

/// The connection between two GPUs.
public struct Link: Hashable, Sendable, Codable {
  /// Lower global GPU index.
  public var from: Int
  /// Higher global GPU index.
  public var to: Int
  /// What kind of path joins them.
  public var kind: LinkKind
  /// NVLinks between the pair (`NV#`), for NVLink kinds.
  package var nvlinkCount: Int?
  /// NVLink generation, for NVLink kinds, when known.
  package var nvlinkGeneration: Int?
  /// Whether CUDA peer-to-peer works between the pair; nil when unknown.
  package var peerToPeer: Bool?
  /// Bytes per second per direction the pair can exchange.
  public var bandwidthBytesPerSecond: Int64
  /// One-way latency in seconds, when modelled.
  package var latencySeconds: Double?
  /// How the bandwidth was derived, for people and `--format json`.
  package var basis: String

  package init(
    from: Int,
    to: Int,
    kind: LinkKind,
    nvlinkCount: Int? = nil,
    nvlinkGeneration: Int? = nil,
    peerToPeer: Bool? = nil,
    bandwidthBytesPerSecond: Int64,
    latencySeconds: Double? = nil,
    basis: String
  ) {
    self.from = from
    self.to = to
    self.kind = kind
    self.nvlinkCount = nvlinkCount
    self.nvlinkGeneration = nvlinkGeneration
    self.peerToPeer = peerToPeer
    self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
    self.latencySeconds = latencySeconds
    self.basis = basis
  }
}

/// Two sources that said different things about the same fact.
package struct Conflict: Hashable, Sendable, Codable {
  /// What the fact is (`GPU 0 memory`).
  package var subject: String
  /// The value kept and where it came from.
  package var kept: String
  /// The value set aside and where it came from.
  package var ignored: String

  package init(subject: String, kept: String, ignored: String) {
    self.subject = subject
    self.kept = kept
    self.ignored = ignored
  }
}

extension GPU {
  /// Whether the card computes in bf16: compute capability 8.0 (Ampere) and newer;
  /// assumed so when the capability is unknown.
  package var hasBF16: Bool {
    guard let capability = computeCapability, let major = Int(capability.split(separator: ".").first ?? "") else {
      return true
    }
    return major >= 8
  }

  /// The compute capability as major and minor numbers, nil when unknown.
  package var capability: (major: Int, minor: Int)? {
    guard let text = computeCapability else { return nil }
    let parts = text.split(separator: ".").compactMap { Int($0) }
    guard let major = parts.first else { return nil }
    return (major, parts.count > 1 ? parts[1] : 0)
  }

  /// Whether the card multiplies in fp8 (W8A8): compute capability 8.9 and newer
  /// (Ada, Hopper, Blackwell); assumed so when the capability is unknown.
  package var hasFP8: Bool {
    guard let capability else { return true }
    return capability.major > 8 || (capability.major == 8 && capability.minor >= 9)
  }
}
