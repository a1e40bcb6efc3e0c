/// Published facts about one GPU model, for planning before a card is seen.
///
/// Values are the vendor's dense (non-sparse) peak rates; the planner applies
/// efficiency factors separately. Memory is the capacity as `nvidia-smi`
/// reports it where a captured output shows it, otherwise the datasheet
/// capacity; ``memorySource`` says which. Rates are per direction.
package struct GPUSpec: Hashable, Sendable, Codable {
  /// Where a card sits in NVIDIA's line-up; decides default PCIe peer-to-peer.
  package enum Segment: String, Hashable, Sendable, Codable {
    case datacenter, workstation, consumer
  }

  /// NVLink as the card has it.
  package struct NVLinkSpec: Hashable, Sendable, Codable {
    /// NVLink generation (1–5). GA102 bridges (RTX 3090, RTX A6000) are generation 3
    /// links at a lower per-link rate.
    package var generation: Int
    /// Links per GPU.
    package var links: Int
    /// Bytes per second per link per direction.
    package var bytesPerSecondPerLink: Int64
    /// True when the links exist only through a bridge between a pair of cards
    /// (PCIe cards); false on SXM boards, where they reach every GPU through NVSwitch
    /// or a direct mesh.
    package var bridgeOnly: Bool

    /// Bytes per second per direction with all links used.
    package var totalBytesPerSecond: Int64 { Int64(links) * bytesPerSecondPerLink }
  }

  /// Dense peak throughput in TFLOP/s (TOP/s for int8) per data type; nil where
  /// the card has no tensor-core path for that type.
  package struct Throughput: Hashable, Sendable, Codable {
    /// Dense fp32 TFLOPS.
    package var fp32: Double
    /// Dense tf32 TFLOPS.
    package var tf32: Double?
    /// Dense fp16 TFLOPS.
    package var fp16: Double?
    /// Dense bf16 TFLOPS.
    package var bf16: Double?
    /// Dense fp8 TFLOPS.
    package var fp8: Double?
    /// Dense int8 TOPS.
    package var int8: Double?
    /// Dense fp4 TFLOPS.
    package var fp4: Double?
  }

  /// Short identifier used in topology files and on the command line (`h100-sxm`).
  package var id: String
  /// Full marketing name.
  package var name: String
  /// Word patterns matched against `nvidia-smi` product names: a name matches when
  /// all words of one pattern appear in it (see ``GPUCatalog/spec(matchingProductName:)``).
  package var productNamePatterns: [[String]]
  /// PCI device ids (vendor 0x10de) of this model, so a GPU that hwloc or NCCL
  /// shows only as a PCI device can be named. Source: the PCI ID repository
  /// (pci.ids); the ids seen in Topologies/captured agree.
  package var pciDeviceIDs: [UInt16] = []
  /// Memory capacity in bytes.
  package var memoryBytes: Int64
  /// Where ``memoryBytes`` comes from.
  package var memorySource: String
  /// Peak memory bandwidth in bytes per second.
  package var memoryBandwidthBytesPerSecond: Int64
  /// Dense peak compute.
  package var tflops: Throughput
  /// NVLink, or nil for cards without it.
  package var nvlink: NVLinkSpec?
  /// PCIe generation of the card's host link.
  package var pcieGeneration: Int
  /// PCIe lanes of the card's host link.
  package var pcieLanes: Int
  /// CUDA compute capability, `major.minor`.
  package var computeCapability: String
  /// Market segment.
  package var segment: Segment
  /// Whether the stock driver allows CUDA peer-to-peer over PCIe between two of
  /// these cards. GeForce cards report `NS`/`GNS` in `nvidia-smi topo -p2p`.
  package var peerToPeerOverPCIe: Bool
  /// Where the numbers come from.
  package var source: String
}

/// NVLink per-link rates per direction, by generation, in bytes per second.
///
/// Sources: NVIDIA's architecture whitepapers (P100: 4 links, 160 GB/s
/// bidirectional in total; V100: 6 links, 300 GB/s; A100: 12 links, 600 GB/s;
/// H100: 18 links, 900 GB/s; B200: 18 links, 1.8 TB/s) and `nvidia-smi nvlink -s`
/// on GA102 bridges (`14.062 GB/s` per link). `nvidia-smi nvlink -s` prints
/// 26.562 GB/s per H100 link, the signalling rate; when that output is among the
/// sources its figure is used instead of these.
package enum NVLinkRates {
  /// NVLink 1 (P100): 20 GB/s per link per direction.
  package static let generation1: Int64 = 20_000_000_000
  /// NVLink 2 (V100): 25 GB/s.
  package static let generation2: Int64 = 25_000_000_000
  /// NVLink 3 (A100): 25 GB/s.
  package static let generation3: Int64 = 25_000_000_000
  /// NVLink 3 on GA102 bridges (RTX 3090, RTX A6000, A40): 14.0625 GB/s.
  package static let generation3Bridge: Int64 = 14_062_500_000
  /// NVLink 4 (H100, H200): 25 GB/s.
  package static let generation4: Int64 = 25_000_000_000
  /// NVLink 5 (B200, GB200): 50 GB/s.
  package static let generation5: Int64 = 50_000_000_000

  /// The nominal per-link rate of a generation; nil for an unknown generation.
  package static func bytesPerSecond(generation: Int) -> Int64? {
    switch generation {
    case 1: generation1
    case 2: generation2
    case 3: generation3
    case 4: generation4
    case 5: generation5
    default: nil
    }
  }
}

/// PCIe link rates.
package enum PCIeRates {
  /// Bytes per second per direction of one lane, by generation, after line
  /// encoding: Gen1/2 use 8b/10b, Gen3–5 128b/130b, Gen6 FLIT mode (242/256).
  /// Gen3 x16 is 15.75 GB/s, hwloc's `15.753846`; Gen4 x16 31.5 GB/s.
  package static func bytesPerSecondPerLane(generation: Int) -> Int64? {
    switch generation {
    case 1: 250_000_000
    case 2: 500_000_000
    case 3: 984_615_385  // 8 GT/s × 128/130 / 8
    case 4: 1_969_230_769  // 16 GT/s
    case 5: 3_938_461_538  // 32 GT/s
    case 6: 7_562_500_000  // 64 GT/s × 242/256 / 8
    default: nil
    }
  }

  /// Bytes per second per direction of a link of this generation and width.
  package static func bytesPerSecond(generation: Int, lanes: Int) -> Int64? {
    guard let perLane = bytesPerSecondPerLane(generation: generation), lanes > 0 else { return nil }
    return perLane * Int64(lanes)
  }
}
