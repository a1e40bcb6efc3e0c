/// What one source said about one machine, before the graph is built.
///
/// Every reader (nvidia-smi outputs, hwloc, NCCL XML) produces facts with
/// optional fields; ``merge(_:)`` joins facts about the same machine from
/// several sources, and ``DeviceGraphBuilder`` turns them into a ``DeviceGraph``.
package struct MachineFacts: Hashable, Sendable {
  /// Host name, when a source names it.
  package var hostName: String?
  /// GPUs in `nvidia-smi` order.
  package var gpus: [GPUFacts]
  /// `topo -m` cells between GPU positions (lower position first).
  package var pairs: [GPUPair: TopoCell]
  /// `topo -p2p` results between GPU positions.
  package var peerToPeer: [GPUPair: PeerToPeerStatus]
  /// NVLink bandwidth between GPU positions in bytes per second per direction,
  /// from hwloc's `NVLinkBandwidth` distances after merging switch ports.
  package var nvlinkBandwidth: [GPUPair: Int64]
  /// Link bandwidths given explicitly (topology file), bytes per second per direction.
  package var linkBandwidthOverrides: [GPUPair: Int64] = [:]
  /// Network adapters.
  package var nics: [NICFacts]
  /// NUMA nodes.
  package var numaNodes: [NUMANode]
  /// CPU model.
  package var cpuModel: String?
  /// Logical processors.
  package var cpuCount: Int?
  /// System memory in bytes.
  package var ramBytes: Int64?
  /// PCI addresses of NVSwitch chips seen.
  package var nvswitches: Set<PCIBusID>
  /// Things the reader wants a person to know.
  package var notes: [String]
  /// Where these facts came from.
  package var sources: [String]
  /// Disagreements found while merging.
  package var conflicts: [Conflict]

  package init(
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
  package var isEmpty: Bool {
    gpus.isEmpty && numaNodes.isEmpty && cpuModel == nil && nics.isEmpty && pairs.isEmpty
  }
}

/// An unordered pair of GPU positions, stored low first.
package struct GPUPair: Hashable, Sendable, Comparable {
  /// The lower position.
  package let low: Int
  /// The higher position.
  package let high: Int

  /// Creates the pair of `a` and `b` (a ≠ b), in either order.
  package init(_ a: Int, _ b: Int) {
    low = min(a, b)
    high = max(a, b)
  }

  package static func < (lhs: GPUPair, rhs: GPUPair) -> Bool { (lhs.low, lhs.high) < (rhs.low, rhs.high) }
}

/// One cell of `nvidia-smi topo -m` between two GPUs.
package enum TopoCell: Hashable, Sendable, CustomStringConvertible {
  /// `NV#`: a bonded set of # NVLinks.
  case nvlink(Int)
  /// `PIX`, `PXB`, `PHB`, `NODE`, `SYS` (and the old `SOC`, read as SYS).
  case pcie(LinkKind)

  /// Parses a cell; nil for anything not in nvidia-smi's legend.
  package init?(code: String) {
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

  package var description: String {
    switch self {
    case .nvlink(let count): "NV\(count)"
    case .pcie(let kind): kind.rawValue.uppercased()
    }
  }
}

/// A result of `nvidia-smi topo -p2p`.
package enum PeerToPeerStatus: String, Hashable, Sendable, Codable {
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
  package var isSupported: Bool { self == .ok }
}

/// What sources said about one GPU. All fields are optional.
package struct GPUFacts: Hashable, Sendable {
  package var index: Int?
  package var name: String?
  package var uuid: String?
  package var pciBusId: PCIBusID?
  package var memoryTotalBytes: Int64?
  package var memoryUsedBytes: Int64?
  package var memoryFreeBytes: Int64?
  package var memoryReservedBytes: Int64?
  package var computeCapability: String?
  package var pcieGeneration: Int?
  package var pcieWidth: Int?
  package var numaNode: Int?
  package var cpuAffinity: String?
  package var migEnabled: Bool?
  package var migInstances: [MIGInstance]
  /// Active NVLinks' rates per direction in bytes per second (`nvlink -s`).
  package var nvlinkRates: [Int64]
  /// NVLink peers by PCI address with link counts and the peer's PCI class (NCCL XML).
  package var nvlinkTargets: [NVLinkTarget]
  /// `GPU … NUMA ID` (coherent-memory systems), when reported.
  package var memoryNUMANode: Int?
  /// Catalog id set by a topology file or `--gpu`, overriding name matching.
  package var model: String?
  /// PCI device id (vendor 0x10de), when a PCI-level source (hwloc, NCCL) gave it.
  package var pciDeviceID: UInt16?
  /// Memory bandwidth given explicitly (topology file), bytes per second.
  package var memoryBandwidthBytesPerSecond: Int64?
  /// Dense bf16 TFLOP/s given explicitly (topology file).
  package var bf16TFLOPS: Double?

  package init(index: Int? = nil) {
    self.index = index
    self.migInstances = []
    self.nvlinkRates = []
    self.nvlinkTargets = []
  }
}

/// An NVLink peer of a GPU as NCCL records it.
package struct NVLinkTarget: Hashable, Sendable {
  /// The peer's PCI address; nil when NVML hid it (VMs).
  package var target: PCIBusID?
  /// Links to that peer.
  package var count: Int
  /// True when the peer's PCI class is a bridge/switch (`0x068000`): an NVSwitch.
  package var isSwitch: Bool
}

/// What sources said about one network adapter.
package struct NICFacts: Hashable, Sendable {
  package var name: String
  package var pciBusId: PCIBusID?
  package var numaNode: Int?
  package var bandwidthBytesPerSecond: Int64?
  /// Path kind from each GPU position, from `topo -m`.
  package var pathToGPU: [Int: LinkKind]

  package init(name: String) {
    self.name = name
    self.pathToGPU = [:]
  }
}
