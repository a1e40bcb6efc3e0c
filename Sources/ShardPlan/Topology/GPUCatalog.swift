/// The GPU models shardplan knows, compiled into the binary.
///
/// Each entry's `source` names where its numbers come from. "aiconfigurator"
/// is NVIDIA's aiconfigurator system specs (`systems/*.yaml`, Apache-2.0),
/// copied in `shared/reference/gpus`; whitepapers are NVIDIA's architecture
/// whitepapers and product datasheets. Memory is what `nvidia-smi` reports when a
/// captured output in `Topologies/captured` shows it.
package enum GPUCatalog {
  private static let MiB = Units.mebibyte
  private static let GiB = Units.gibibyte

  /// NVLink of a card; `rate` defaults to the generation's nominal per-link rate.
  private static func nvlink(
    _ generation: Int,
    links: Int,
    bridge: Bool = false,
    rate: Int64? = nil
  )
    -> GPUSpec.NVLinkSpec
  {
    .init(
      generation: generation,
      links: links,
      bytesPerSecondPerLink: rate ?? NVLinkRates.bytesPerSecond(generation: generation) ?? 0,
      bridgeOnly: bridge
    )
  }

  /// Every known model, most specific product-name patterns first.
  package static let all: [GPUSpec] = [
    // MARK: Blackwell
    GPUSpec(
      id: "gb200",
      name: "NVIDIA GB200 (per GPU)",
      productNamePatterns: [["gb200"]],
      memoryBytes: 189_471 * MiB,
      memorySource: "189471 MiB reported by nvidia-smi (aiconfigurator gb200.yaml)",
      memoryBandwidthBytesPerSecond: 8_000_000_000_000,
      tflops: .init(fp32: 80, tf32: 1250, fp16: 2500, bf16: 2500, fp8: 5000, int8: 5000, fp4: 10000),
      nvlink: nvlink(5, links: 18),
      pcieGeneration: 5,
      pcieLanes: 16,
      computeCapability: "10.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "aiconfigurator gb200.yaml (bandwidth, bf16/fp8/int8/fp4); GB200 NVL72 datasheet (fp32, tf32)"
    ),
    GPUSpec(
      id: "b200",
      name: "NVIDIA B200 SXM",
      productNamePatterns: [["b200"]],
      pciDeviceIDs: [0x2901],
      memoryBytes: 183_359 * MiB,
      memorySource: "183359 MiB, as nvidia-smi reports a B200 (public nvidia-smi outputs, driver 570; 180 GB marketed)",
      memoryBandwidthBytesPerSecond: 7_700_000_000_000,
      tflops: .init(fp32: 75, tf32: 1100, fp16: 2250, bf16: 2250, fp8: 4500, int8: 4500, fp4: 9000),
      nvlink: nvlink(5, links: 18),
      pcieGeneration: 6,
      pcieLanes: 16,
      computeCapability: "10.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source:
        "aiconfigurator b200_sxm.yaml (7.7 TB/s, bf16 2250, fp8 4500, fp4 9000, PCIe 6); DGX B200 datasheet (fp32, tf32 per GPU)"
    ),
    GPUSpec(
      id: "rtx-pro-6000-blackwell",
      name: "NVIDIA RTX PRO 6000 Blackwell 96 GB",
      productNamePatterns: [["rtx", "pro", "6000"]],
      pciDeviceIDs: [0x2bb1],
      memoryBytes: 97_887 * MiB,
      memorySource: "97887 MiB reported by nvidia-smi (aiconfigurator rtx_pro_6000_server.yaml)",
      memoryBandwidthBytesPerSecond: 1_792_000_000_000,
      tflops: .init(fp32: 125, tf32: 233.9, fp16: 467.8, bf16: 467.8, fp8: 935.6, int8: 935.6, fp4: 1871.2),
      nvlink: nil,
      pcieGeneration: 5,
      pcieLanes: 16,
      computeCapability: "12.0",
      segment: .workstation,
      peerToPeerOverPCIe: true,
      source:
        "aiconfigurator rtx_pro_6000_server.yaml (GDDR7 1.792 TB/s; dense bf16/fp8/fp4 at 2430 MHz); RTX PRO 6000 Blackwell datasheet (fp32 125 TFLOPS); tf32 = bf16/2"
    ),
    GPUSpec(
      id: "rtx-5090",
      name: "NVIDIA GeForce RTX 5090",
      productNamePatterns: [["rtx", "5090"]],
      pciDeviceIDs: [0x2b85],
      memoryBytes: 32_607 * MiB,
      memorySource: "32607 MiB, as nvidia-smi reports an RTX 5090 (public nvidia-smi outputs; 32 GB GDDR7 marketed)",
      memoryBandwidthBytesPerSecond: 1_792_000_000_000,
      tflops: .init(fp32: 104.8, tf32: 104.8, fp16: 209.5, bf16: 209.5, fp8: 419, int8: 838, fp4: 1676),
      nvlink: nil,
      pcieGeneration: 5,
      pcieLanes: 16,
      computeCapability: "12.0",
      segment: .consumer,
      peerToPeerOverPCIe: false,
      source:
        "NVIDIA RTX Blackwell GPU architecture whitepaper, RTX 5090 column (fp16/bf16 and fp8 with FP32 accumulate, dense); P2P GNS per Topologies/captured 2x RTX 5090"
    ),
    GPUSpec(
      id: "rtx-5080",
      name: "NVIDIA GeForce RTX 5080",
      productNamePatterns: [["rtx", "5080"]],
      pciDeviceIDs: [0x2c02],
      memoryBytes: 16_303 * MiB,
      memorySource: "16303 MiB reported by nvidia-smi (Topologies/captured RTX 5080 query)",
      memoryBandwidthBytesPerSecond: 960_000_000_000,
      tflops: .init(fp32: 56.3, tf32: 56.3, fp16: 112.6, bf16: 112.6, fp8: 225.1, int8: 450.2, fp4: 900.4),
      nvlink: nil,
      pcieGeneration: 5,
      pcieLanes: 16,
      computeCapability: "12.0",
      segment: .consumer,
      peerToPeerOverPCIe: false,
      source: "NVIDIA RTX Blackwell GPU architecture whitepaper, RTX 5080 column (dense, FP32 accumulate)"
    ),

    // MARK: Hopper
    GPUSpec(
      id: "h200",
      name: "NVIDIA H200 SXM 141 GB",
      productNamePatterns: [["h200"]],
      pciDeviceIDs: [0x2335],
      memoryBytes: 143_771 * MiB,
      memorySource: "143771 MiB, as nvidia-smi reports an H200 (public nvidia-smi outputs; 141 GB marketed)",
      memoryBandwidthBytesPerSecond: 4_800_000_000_000,
      tflops: .init(fp32: 66.9, tf32: 494.7, fp16: 989, bf16: 989, fp8: 1978, int8: 1978, fp4: nil),
      nvlink: nvlink(4, links: 18),
      pcieGeneration: 5,
      pcieLanes: 16,
      computeCapability: "9.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "aiconfigurator h200_sxm.yaml (4.8 TB/s, bf16 989, fp8 1978); H200 datasheet (fp32, tf32)"
    ),
    GPUSpec(
      id: "h100-pcie",
      name: "NVIDIA H100 PCIe 80 GB",
      productNamePatterns: [["h100", "pcie"]],
      pciDeviceIDs: [0x2331],
      memoryBytes: 81_559 * MiB,
      memorySource: "81559 MiB, as nvidia-smi reports an H100 PCIe (public nvidia-smi outputs; 80 GB marketed)",
      memoryBandwidthBytesPerSecond: 2_000_000_000_000,
      tflops: .init(fp32: 51.2, tf32: 378, fp16: 756.5, bf16: 756.5, fp8: 1513, int8: 1513, fp4: nil),
      nvlink: nvlink(4, links: 12, bridge: true),
      pcieGeneration: 5,
      pcieLanes: 16,
      computeCapability: "9.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source:
        "aiconfigurator h100_pcie.yaml (2.0 TB/s, dense bf16/fp8/int8); H100 datasheet (fp32, tf32; NVLink bridge 600 GB/s bidirectional)"
    ),
    GPUSpec(
      id: "h100-sxm",
      name: "NVIDIA H100 SXM 80 GB",
      productNamePatterns: [["h100", "hbm3"], ["h100", "sxm"], ["h100", "sxm5"], ["h100"]],
      pciDeviceIDs: [0x2330],
      memoryBytes: 81_559 * MiB,
      memorySource: "81559 MiB reported by nvidia-smi -q (Topologies/captured 8x H100 -q)",
      memoryBandwidthBytesPerSecond: 3_350_000_000_000,
      tflops: .init(fp32: 66.9, tf32: 494.7, fp16: 989, bf16: 989, fp8: 1978, int8: 1978, fp4: nil),
      nvlink: nvlink(4, links: 18),
      pcieGeneration: 5,
      pcieLanes: 16,
      computeCapability: "9.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source:
        "aiconfigurator h100_sxm.yaml (3.35 TB/s, bf16 989, fp8 1978, NVLink 450 GB/s per direction); H100 whitepaper (fp32, tf32)"
    ),

    // MARK: Ada Lovelace
    GPUSpec(
      id: "l40s",
      name: "NVIDIA L40S",
      productNamePatterns: [["l40s"]],
      pciDeviceIDs: [0x26b9],
      memoryBytes: 46_068 * MiB,
      memorySource: "46068 MiB reported by nvidia-smi (aiconfigurator l40s.yaml)",
      memoryBandwidthBytesPerSecond: 864_000_000_000,
      tflops: .init(fp32: 91.6, tf32: 183, fp16: 362.05, bf16: 362.05, fp8: 733, int8: 733, fp4: nil),
      nvlink: nil,
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.9",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "aiconfigurator l40s.yaml (864 GB/s, bf16 362.05, fp8 733); L40S datasheet (fp32, tf32)"
    ),
    GPUSpec(
      id: "l4",
      name: "NVIDIA L4",
      productNamePatterns: [["l4"]],
      pciDeviceIDs: [0x27b8],
      memoryBytes: 23_034 * MiB,
      memorySource: "23034 MiB, as nvidia-smi reports an L4 (public nvidia-smi outputs; 24 GB marketed)",
      memoryBandwidthBytesPerSecond: 300_000_000_000,
      tflops: .init(fp32: 30.3, tf32: 60, fp16: 121, bf16: 121, fp8: 242, int8: 242, fp4: nil),
      nvlink: nil,
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.9",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "aiconfigurator l4.yaml (300 GB/s, dense bf16 121, fp8 242); L4 datasheet (fp32, tf32)"
    ),
    GPUSpec(
      id: "rtx-6000-ada",
      name: "NVIDIA RTX 6000 Ada Generation",
      productNamePatterns: [["rtx", "6000", "ada"]],
      pciDeviceIDs: [0x26b1],
      memoryBytes: 49_140 * MiB,
      memorySource: "49140 MiB, as nvidia-smi reports an RTX 6000 Ada (public nvidia-smi outputs; 48 GB marketed)",
      memoryBandwidthBytesPerSecond: 960_000_000_000,
      tflops: .init(fp32: 91.1, tf32: 182.1, fp16: 364.2, bf16: 364.2, fp8: 728.5, int8: 728.5, fp4: nil),
      nvlink: nil,
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.9",
      segment: .workstation,
      peerToPeerOverPCIe: true,
      source: "RTX 6000 Ada datasheet (1457 TFLOPS fp8 sparse, halved for dense; 960 GB/s)"
    ),
    GPUSpec(
      id: "rtx-4090",
      name: "NVIDIA GeForce RTX 4090",
      productNamePatterns: [["rtx", "4090"]],
      pciDeviceIDs: [0x2684],
      memoryBytes: 24_564 * MiB,
      memorySource: "24564 MiB, as nvidia-smi reports an RTX 4090 (public nvidia-smi outputs; 24 GB marketed)",
      memoryBandwidthBytesPerSecond: 1_008_000_000_000,
      tflops: .init(fp32: 82.6, tf32: 82.6, fp16: 165.2, bf16: 165.2, fp8: 330.3, int8: 660.6, fp4: nil),
      nvlink: nil,
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.9",
      segment: .consumer,
      peerToPeerOverPCIe: false,
      source:
        "NVIDIA Ada Lovelace architecture whitepaper, RTX 4090 column (dense, FP32 accumulate); P2P GNS on the stock driver"
    ),

    // MARK: Ampere
    GPUSpec(
      id: "a100-sxm-80gb",
      name: "NVIDIA A100 SXM4 80 GB",
      productNamePatterns: [["a100", "sxm4", "80gb"], ["a100", "80gb", "sxm"]],
      pciDeviceIDs: [0x20b2],
      memoryBytes: 81_920 * MiB,
      memorySource: "81920 MiB reported by nvidia-smi (Topologies/captured 4x A100-SXM4-80GB query)",
      memoryBandwidthBytesPerSecond: 2_039_000_000_000,
      tflops: .init(fp32: 19.5, tf32: 156, fp16: 312, bf16: 312, fp8: nil, int8: 624, fp4: nil),
      nvlink: nvlink(3, links: 12),
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "aiconfigurator a100_sxm.yaml (2.039 TB/s, bf16 312, int8 624); A100 whitepaper (fp32, tf32, 12 NVLinks)"
    ),
    GPUSpec(
      id: "a100-sxm-40gb",
      name: "NVIDIA A100 SXM4 40 GB",
      productNamePatterns: [["a100", "sxm4", "40gb"], ["a100", "sxm4"]],
      pciDeviceIDs: [0x20b0],
      memoryBytes: 40_960 * MiB,
      memorySource: "40960 MiB reported by nvidia-smi -q -x (Topologies/captured A100-SXM4-40GB)",
      memoryBandwidthBytesPerSecond: 1_555_000_000_000,
      tflops: .init(fp32: 19.5, tf32: 156, fp16: 312, bf16: 312, fp8: nil, int8: 624, fp4: nil),
      nvlink: nvlink(3, links: 12),
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "A100 datasheet (40 GB: 1555 GB/s) and whitepaper"
    ),
    GPUSpec(
      id: "a100-pcie-80gb",
      name: "NVIDIA A100 PCIe 80 GB",
      productNamePatterns: [["a100", "80gb", "pcie"], ["a100", "pcie", "80gb"]],
      pciDeviceIDs: [0x20b5],
      memoryBytes: 81_920 * MiB,
      memorySource: "81920 MiB, as nvidia-smi reports an A100 80GB PCIe (public nvidia-smi outputs)",
      memoryBandwidthBytesPerSecond: 1_935_000_000_000,
      tflops: .init(fp32: 19.5, tf32: 156, fp16: 312, bf16: 312, fp8: nil, int8: 624, fp4: nil),
      nvlink: nvlink(3, links: 12, bridge: true),
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source:
        "A100 datasheet (PCIe 80 GB: 1935 GB/s; NVLink bridge for 2 GPUs: 600 GB/s bidirectional = 12 links × 25 GB/s)"
    ),
    GPUSpec(
      id: "a100-pcie-40gb",
      name: "NVIDIA A100 PCIe 40 GB",
      productNamePatterns: [["a100", "pcie"], ["a100"]],
      pciDeviceIDs: [0x20f1],
      memoryBytes: 40_960 * MiB,
      memorySource: "40960 MiB, as nvidia-smi reports an A100-PCIE-40GB (public outputs; older drivers: 40536)",
      memoryBandwidthBytesPerSecond: 1_555_000_000_000,
      tflops: .init(fp32: 19.5, tf32: 156, fp16: 312, bf16: 312, fp8: nil, int8: 624, fp4: nil),
      nvlink: nvlink(3, links: 12, bridge: true),
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "A100 datasheet (PCIe 40 GB: 1555 GB/s; NVLink bridge 600 GB/s bidirectional)"
    ),
    GPUSpec(
      id: "rtx-a6000",
      name: "NVIDIA RTX A6000",
      productNamePatterns: [["rtx", "a6000"]],
      pciDeviceIDs: [0x2230],
      memoryBytes: 49_140 * MiB,
      memorySource: "49140 MiB, as nvidia-smi reports an RTX A6000 (public nvidia-smi outputs; 48 GB marketed)",
      memoryBandwidthBytesPerSecond: 768_000_000_000,
      tflops: .init(fp32: 38.7, tf32: 77.4, fp16: 154.8, bf16: 154.8, fp8: nil, int8: 309.7, fp4: nil),
      nvlink: nvlink(3, links: 4, bridge: true, rate: NVLinkRates.generation3Bridge),
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.6",
      segment: .workstation,
      peerToPeerOverPCIe: true,
      source:
        "RTX A6000 datasheet (768 GB/s; tensor 309.7 TFLOPS sparse, halved; NVLink bridge 112.5 GB/s bidirectional)"
    ),
    GPUSpec(
      id: "rtx-3090",
      name: "NVIDIA GeForce RTX 3090",
      productNamePatterns: [["rtx", "3090"]],
      pciDeviceIDs: [0x2204],
      memoryBytes: 24_576 * MiB,
      memorySource: "24576 MiB reported by nvidia-smi (Topologies/captured 2x RTX 3090)",
      memoryBandwidthBytesPerSecond: 936_000_000_000,
      tflops: .init(fp32: 35.6, tf32: 35.6, fp16: 71, bf16: 71, fp8: nil, int8: 284, fp4: nil),
      nvlink: nvlink(3, links: 4, bridge: true, rate: NVLinkRates.generation3Bridge),
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.6",
      segment: .consumer,
      peerToPeerOverPCIe: false,
      source:
        "NVIDIA Ampere GA102 whitepaper, RTX 3090 column (dense, FP32 accumulate); NVLink bridge 4 × 14.062 GB/s per nvidia-smi nvlink -s"
    ),
    GPUSpec(
      id: "rtx-3060-12gb",
      name: "NVIDIA GeForce RTX 3060 12 GB",
      productNamePatterns: [["rtx", "3060"]],
      pciDeviceIDs: [0x2503, 0x2504],
      memoryBytes: 12_288 * MiB,
      memorySource: "12288 MiB, as nvidia-smi reports an RTX 3060 12 GB (public nvidia-smi outputs)",
      memoryBandwidthBytesPerSecond: 360_000_000_000,
      tflops: .init(fp32: 12.7, tf32: 12.7, fp16: 25.6, bf16: 25.6, fp8: nil, int8: 102, fp4: nil),
      nvlink: nil,
      pcieGeneration: 4,
      pcieLanes: 16,
      computeCapability: "8.6",
      segment: .consumer,
      peerToPeerOverPCIe: false,
      source: "NVIDIA Ampere GA102 whitepaper appendix, RTX 3060 column (dense, FP32 accumulate); 360 GB/s"
    ),

    // MARK: Turing, Volta, Pascal (seen in the captured samples)
    GPUSpec(
      id: "t4",
      name: "NVIDIA T4",
      productNamePatterns: [["t4"]],
      pciDeviceIDs: [0x1eb8],
      memoryBytes: 15_472_384 * 1024,
      memorySource: "15472384 KiB CUDA global memory (Topologies/captured AWS g4dn.metal hwloc XML)",
      memoryBandwidthBytesPerSecond: 320_000_000_000,
      tflops: .init(fp32: 8.1, tf32: nil, fp16: 65, bf16: nil, fp8: nil, int8: 130, fp4: nil),
      nvlink: nil,
      pcieGeneration: 3,
      pcieLanes: 16,
      computeCapability: "7.5",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "T4 datasheet (320 GB/s, fp16 65, int8 130)"
    ),
    GPUSpec(
      id: "v100-32gb",
      name: "NVIDIA V100 SXM 32 GB",
      productNamePatterns: [["v100", "32gb"]],
      pciDeviceIDs: [0x1db5, 0x1db8],
      memoryBytes: 32_510 * MiB,
      memorySource: "32510 MiB, as nvidia-smi reports a V100 32 GB, SXM2 and PCIe (public nvidia-smi outputs)",
      memoryBandwidthBytesPerSecond: 900_000_000_000,
      tflops: .init(fp32: 15.7, tf32: nil, fp16: 125, bf16: nil, fp8: nil, int8: nil, fp4: nil),
      nvlink: nvlink(2, links: 6),
      pcieGeneration: 3,
      pcieLanes: 16,
      computeCapability: "7.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "V100 datasheet and whitepaper (SXM2; the DGX-2H SXM3 part runs at higher clocks, not modelled)"
    ),
    GPUSpec(
      id: "v100-16gb",
      name: "NVIDIA V100 SXM 16 GB",
      productNamePatterns: [["v100"]],
      pciDeviceIDs: [0x1db1],
      memoryBytes: 16_160 * MiB,
      memorySource: "16160 MiB, as nvidia-smi reports a V100 16 GB, SXM2 and PCIe (public nvidia-smi outputs)",
      memoryBandwidthBytesPerSecond: 900_000_000_000,
      tflops: .init(fp32: 15.7, tf32: nil, fp16: 125, bf16: nil, fp8: nil, int8: nil, fp4: nil),
      nvlink: nvlink(2, links: 6),
      pcieGeneration: 3,
      pcieLanes: 16,
      computeCapability: "7.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "V100 datasheet and whitepaper"
    ),
    GPUSpec(
      id: "p100",
      name: "NVIDIA P100 SXM2 16 GB",
      productNamePatterns: [["p100"]],
      pciDeviceIDs: [0x15f9],
      memoryBytes: 16_671_616 * 1024,
      memorySource: "16671616 KiB CUDA global memory (Topologies/captured POWER8 hwloc XML)",
      memoryBandwidthBytesPerSecond: 732_000_000_000,
      tflops: .init(fp32: 10.6, tf32: nil, fp16: 21.2, bf16: nil, fp8: nil, int8: nil, fp4: nil),
      nvlink: nvlink(1, links: 4),
      pcieGeneration: 3,
      pcieLanes: 16,
      computeCapability: "6.0",
      segment: .datacenter,
      peerToPeerOverPCIe: true,
      source: "Pascal P100 whitepaper (732 GB/s, fp16 21.2, 4 NVLinks × 40 GB/s bidirectional)"
    ),
  ]

  /// The model with this identifier (`h100-sxm`) or, failing that, whose product
  /// name patterns match `name` (`NVIDIA H100 80GB HBM3`).
  package static func spec(named name: String) -> GPUSpec? {
    let key = name.lowercased().trimmingWhitespace()
    if let exact = all.first(where: { $0.id == key }) { return exact }
    return spec(matchingProductName: name)
  }

  /// The model with this PCI device id (vendor 0x10de), or nil.
  package static func spec(pciDeviceID: UInt16) -> GPUSpec? {
    all.first { $0.pciDeviceIDs.contains(pciDeviceID) }
  }

  /// The first model one of whose word patterns all appear among the words of
  /// `productName`, after lower-casing and splitting on spaces, `-` and `_`.
  /// Entries are ordered so that more specific patterns are tried first.
  package static func spec(matchingProductName productName: String) -> GPUSpec? {
    let words = Set(
      productName.lowercased().split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "_" || $0 == "\t" })
        .map(String.init)
    )
    for spec in all {
      for pattern in spec.productNamePatterns where pattern.allSatisfy(words.contains) {
        return spec
      }
    }
    return nil
  }
}
