/// What one source said about one machine, before the graph is built.
///
/// Every reader (nvidia-smi outputs, hwloc, NCCL XML) produces facts with
/// optional fields; ``merge(_:)`` joins facts about the same machine from
/// several sources, and ``DeviceGraphBuilder`` turns them into a ``DeviceGraph``.
public struct MachineFacts: Hashable, Sendable {
  /// Host name, when a source names it.
  public var hostName: String?
  /// GPUs in `nvidia-smi` order.
  public var gpus: [GPUFacts]
  /// `topo -m` cells between GPU positions (lower position first).
  public var pairs: [GPUPair: TopoCell]
  /// `topo -p2p` results between GPU positions.
  public var peerToPeer: [GPUPair: PeerToPeerStatus]
  /// NVLink bandwidth between GPU positions in bytes per second per direction,
  /// from hwloc's `NVLinkBandwidth` distances after merging switch ports.
  public var nvlinkBandwidth: [GPUPair: Int64]
  /// Link bandwidths given explicitly (topology file), bytes per second per direction.
  public var linkBandwidthOverrides: [GPUPair: Int64] = [:]
  /// Network adapters.
  public var nics: [NICFacts]
  /// NUMA nodes.
  public var numaNodes: [NUMANode]
  /// CPU model.
  public var cpuModel: String?
  /// Logical processors.
  public var cpuCount: Int?
  /// System memory in bytes.
  public var ramBytes: Int64?
  /// PCI addresses of NVSwitch chips seen.
  public var nvswitches: Set<PCIBusID>
  /// Things the reader wants a person to know.
  public var notes: [String]
  /// Where these facts came from.
  public var sources: [String]
  /// Disagreements found while merging.
  public var conflicts: [Conflict]

  public init(
    hostName: String? = nil,
    gpus: [GPUFacts] = [],
    pairs: [GPUPair: TopoCell] = [:],
    peerToPeer: [GPUPair: PeerToPeerStatus] = [:],
    nvlinkBandwidth: [GPUPair: Int64] = [:],
    nics: [NICFacts] = [],
    numaNodes: [NUMANode] = [],
    cpuModel: String? = nil,
    cpuCount: Int? = nil,
    ramBytes: Int64? = nil,
    nvswitches: Set<PCIBusID> = [],
    notes: [String] = [],
    sources: [String] = [],
    conflicts: [Conflict] = []
  ) {
    self.hostName = hostName
    self.gpus = gpus
    self.pairs = pairs
    self.peerToPeer = peerToPeer
    self.nvlinkBandwidth = nvlinkBandwidth
    self.nics = nics
    self.numaNodes = numaNodes
    self.cpuModel = cpuModel
    self.cpuCount = cpuCount
    self.ramBytes = ramBytes
    self.nvswitches = nvswitches
    self.notes = notes
    self.sources = sources
    self.conflicts = conflicts
  }

  /// True when no reader found anything about GPUs, NUMA or CPUs.
  public var isEmpty: Bool {
    gpus.isEmpty && numaNodes.isEmpty && cpuModel == nil && nics.isEmpty && pairs.isEmpty
  }
}

/// An unordered pair of GPU positions, stored low first.
public struct GPUPair: Hashable, Sendable, Comparable {
  /// The lower position.
  public let low: Int
  /// The higher position.
  public let high: Int

  /// Creates the pair of `a` and `b` (a ≠ b), in either order.
  public init(_ a: Int, _ b: Int) {
    low = min(a, b)
    high = max(a, b)
  }

  public static func < (lhs: GPUPair, rhs: GPUPair) -> Bool { (lhs.low, lhs.high) < (rhs.low, rhs.high) }
}

/// One cell of `nvidia-smi topo -m` between two GPUs.
public enum TopoCell: Hashable, Sendable, CustomStringConvertible {
  /// `NV#`: a bonded set of # NVLinks.
  case nvlink(Int)
  /// `PIX`, `PXB`, `PHB`, `NODE`, `SYS` (and the old `SOC`, read as SYS).
  case pcie(LinkKind)

  /// Parses a cell; nil for anything not in nvidia-smi's legend.
  public init?(code: String) {
    switch code {
    case "PIX": self = .pcie(.pix)
    case "PXB": self = .pcie(.pxb)
    case "PHB": self = .pcie(.phb)
    case "NODE": self = .pcie(.node)
    case "SYS", "SOC": self = .pcie(.sys)
    default:
      guard code.hasPrefix("NV"), let count = Int(code.dropFirst(2)), count > 0, count <= 64 else { return nil }
      self = .nvlink(count)
    }
  }

  public var description: String {
    switch self {
    case .nvlink(let count): "NV\(count)"
    case .pcie(let kind): kind.rawValue.uppercased()
    }
  }
}

/// A result of `nvidia-smi topo -p2p`.
public enum PeerToPeerStatus: String, Hashable, Sendable, Codable {
  /// `OK`.
  case ok = "OK"
  /// `CNS`: chipset not supported.
  case chipsetNotSupported = "CNS"
  /// `GNS`: GPU not supported (GeForce 40/50 series on the stock driver).
  case gpuNotSupported = "GNS"
  /// `TNS`: topology not supported.
  case topologyNotSupported = "TNS"
  /// `NS`: not supported.
  case notSupported = "NS"
  /// `DR`: disabled by regkey.
  case disabledByRegkey = "DR"
  /// `U`: unknown.
  case unknown = "U"

  /// Whether this status means peer-to-peer works.
  public var isSupported: Bool { self == .ok }
}

/// What sources said about one GPU. All fields are optional.
public struct GPUFacts: Hashable, Sendable {
  public var index: Int?
  public var name: String?
  public var uuid: String?
  public var pciBusId: PCIBusID?
  public var memoryTotalBytes: Int64?
  public var memoryUsedBytes: Int64?
  public var memoryFreeBytes: Int64?
  public var memoryReservedBytes: Int64?
  public var computeCapability: String?
  public var pcieGeneration: Int?
  public var pcieWidth: Int?
  public var numaNode: Int?
  public var cpuAffinity: String?
  public var migEnabled: Bool?
  public var migInstances: [MIGInstance]
  /// Active NVLinks' rates per direction in bytes per second (`nvlink -s`).
  public var nvlinkRates: [Int64]
  /// NVLink peers by PCI address with link counts and the peer's PCI class (NCCL XML).
  public var nvlinkTargets: [NVLinkTarget]
  /// `GPU … NUMA ID` (coherent-memory systems), when reported.
  public var memoryNUMANode: Int?
  /// Catalog id set by a topology file or `--gpu`, overriding name matching.
  public var model: String?
  /// PCI device id (vendor 0x10de), when a PCI-level source (hwloc, NCCL) gave it.
  public var pciDeviceID: UInt16?
  /// Memory bandwidth given explicitly (topology file), bytes per second.
  public var memoryBandwidthBytesPerSecond: Int64?
  /// Dense bf16 TFLOP/s given explicitly (topology file).
  public var bf16TFLOPS: Double?

  public init(index: Int? = nil) {
    self.index = index
    self.migInstances = []
    self.nvlinkRates = []
    self.nvlinkTargets = []
  }
}

/// An NVLink peer of a GPU as NCCL records it.
public struct NVLinkTarget: Hashable, Sendable {
  /// The peer's PCI address; nil when NVML hid it (VMs).
  public var target: PCIBusID?
  /// Links to that peer.
  public var count: Int
  /// True when the peer's PCI class is a bridge/switch (`0x068000`): an NVSwitch.
  public var isSwitch: Bool
}

/// What sources said about one network adapter.
public struct NICFacts: Hashable, Sendable {
  public var name: String
  public var pciBusId: PCIBusID?
  public var numaNode: Int?
  public var bandwidthBytesPerSecond: Int64?
  /// Path kind from each GPU position, from `topo -m`.
  public var pathToGPU: [Int: LinkKind]

  public init(name: String) {
    self.name = name
    self.pathToGPU = [:]
  }
}
