import Foundation
import ShardPlan
import ShardPlanHwloc
import Testing
import _ShardPlanTestSupport

/// Every file in Topologies/captured parses to the GPU count, names, memory and
/// pair kinds that the file itself shows (values read off each file by hand).
@Suite("Captured topologies")
struct CapturedTopologiesTests {
  static let loader = TopologyLoader(hwloc: .libhwloc)

  static func graph(_ file: String) throws -> DeviceGraph {
    try loader.load([Repository.path("Topologies/captured/" + file)])
  }

  struct Expectation: Sendable, CustomStringConvertible {
    var file: String
    var gpuCount: Int
    var name: String?
    var memoryBytes: Int64?
    /// (a, b, kind, nvlink count or nil)
    var pairs: [(Int, Int, LinkKind, Int?)]
    var numaNodes: [Int]?
    var description: String { file }
  }

  static let expectations: [Expectation] = [
    .init(
      file: "nvsmi-L_8xH100-80GB-HBM3_MIG-7x1g.10gb-each.txt",
      gpuCount: 8,
      name: "NVIDIA H100 80GB HBM3",
      memoryBytes: 81_559 * Units.mebibyte,
      pairs: [(0, 7, .nvswitch, 18)]
    ),
    .init(
      file: "nvsmi-q_8xH100-SXM-80GB_drv565.txt",
      gpuCount: 8,
      name: "NVIDIA H100 80GB HBM3",
      memoryBytes: 81_559 * Units.mebibyte,
      pairs: [(0, 1, .nvswitch, 18)]
    ),
    .init(
      file: "nvsmi-query-gpu_1xRTX5080-in-VM_drv580.txt",
      gpuCount: 1,
      name: "NVIDIA GeForce RTX 5080",
      memoryBytes: 16_303 * Units.mebibyte,
      pairs: []
    ),
    .init(
      file: "nvsmi-topo_2xRTX3090-NVLinkBridge-NV4_drv610_with-nvlink-status-and-p2p.txt",
      gpuCount: 2,
      name: "NVIDIA GeForce RTX 3090",
      memoryBytes: 24_576 * Units.mebibyte,
      pairs: [(0, 1, .nvlink, 4)],
      numaNodes: [0, 0]
    ),
    .init(
      file: "nvsmi-topo_2xRTX5090-PCIe-PHB_with-p2p-GNS.txt",
      gpuCount: 2,
      name: nil,
      memoryBytes: nil,
      pairs: [(0, 1, .phb, nil)],
      numaNodes: [0, 0]
    ),
    .init(
      file: "nvsmi-topo_4xA100-PCIe-two-NVLink-bridged-pairs-NV12_old-format.txt",
      gpuCount: 4,
      name: nil,
      memoryBytes: nil,
      pairs: [(0, 1, .nvlink, 12), (2, 3, .node, nil), (0, 2, .sys, nil), (1, 3, .sys, nil)],
      numaNodes: [0, 0, 1, 1]
    ),
    .init(
      file: "nvsmi-topo_4xL40S-AWS-g6e.12xlarge-NODE.txt",
      gpuCount: 4,
      name: nil,
      memoryBytes: nil,
      pairs: [(0, 1, .node, nil), (2, 3, .node, nil)],
      numaNodes: [0, 0, 0, 0]
    ),
    .init(
      file: "nvsmi-topo_8xA100-AWS-p4d.24xlarge-NV12.txt",
      gpuCount: 8,
      name: nil,
      memoryBytes: nil,
      pairs: [(0, 7, .nvswitch, 12)],
      numaNodes: [0, 0, 0, 0, 1, 1, 1, 1]
    ),
    .init(
      file: "nvsmi-topo_8xA100-HGX-NV12_EPYC7763-NPS4_drv495_old-NIC-column.txt",
      gpuCount: 8,
      name: nil,
      memoryBytes: nil,
      pairs: [(0, 1, .nvswitch, 12), (3, 6, .nvswitch, 12)],
      numaNodes: [3, 3, 1, 1, 7, 7, 5, 5]
    ),
    .init(
      file: "nvsmi-topo_8xH100-SXM-NV18_with-nvlink-status-caps.txt",
      gpuCount: 8,
      name: nil,
      memoryBytes: 81_559 * Units.mebibyte,
      pairs: [(0, 1, .nvswitch, 18), (6, 7, .nvswitch, 18)],
      numaNodes: [0, 0, 0, 0, 1, 1, 1, 1]
    ),
    .init(
      file: "nvsmi-topo_8xH200-NV18_noNIC.txt",
      gpuCount: 8,
      name: nil,
      memoryBytes: nil,
      pairs: [(0, 1, .nvswitch, 18)],
      numaNodes: [0, 0, 0, 0, 1, 1, 1, 1]
    ),
    .init(
      file: "nvsmi-topo_8xP100-DGX1-NV1_very-old-SOC-legend.txt",
      gpuCount: 8,
      name: nil,
      memoryBytes: nil,
      pairs: [(0, 1, .nvlink, 1), (0, 4, .nvlink, 1), (0, 5, .sys, nil), (3, 7, .nvlink, 1), (2, 5, .sys, nil)]
    ),
    .init(
      file: "nvsmi-topo_8xRTX4090-PCIe-allSYS_2NIC.txt",
      gpuCount: 8,
      name: nil,
      memoryBytes: nil,
      pairs: [(0, 1, .sys, nil), (6, 7, .sys, nil)],
      numaNodes: [0, 0, 0, 0, 1, 1, 1, 1]
    ),
    .init(
      file: "nvsmi_4xA100-SXM4-80GB_query-topo-nvlink_drv580.txt",
      gpuCount: 4,
      name: "NVIDIA A100-SXM4-80GB",
      memoryBytes: 81_920 * Units.mebibyte,
      pairs: [(0, 3, .nvswitch, 12)],
      numaNodes: [1, 1, 1, 1]
    ),
    .init(
      file: "nvsmi-q-x_1xA100-SXM4-40GB_MIG-2x3g_passthrough_drv510.xml",
      gpuCount: 1,
      name: "NVIDIA A100-SXM4-40GB",
      memoryBytes: 40_960 * Units.mebibyte,
      pairs: []
    ),
    .init(
      file: "nccl-topo_ibmcloud-gx3d-8xH100-vsi_4nvswitch.xml",
      gpuCount: 8,
      name: "NVIDIA H100 SXM 80 GB",
      memoryBytes: 81_559 * Units.mebibyte,
      pairs: [(0, 7, .nvswitch, 18)],
      numaNodes: [0, 0, 0, 0, 1, 1, 1, 1]
    ),
    .init(
      file: "hwloc-xml_aws-g4dn.metal-8xT4-pcie_v2.0.xml",
      gpuCount: 8,
      name: "Tesla T4",
      memoryBytes: 15_472_384 * 1024,
      pairs: [(0, 4, .sys, nil)],
      numaNodes: [0, 0, 0, 0, 1, 1, 1, 1]
    ),
    .init(
      file: "hwloc-xml_jureca-dc-4xA100-no-nvml_v2.0.xml",
      gpuCount: 4,
      name: "NVIDIA A100 SXM4 40 GB",
      memoryBytes: 40_960 * Units.mebibyte,
      pairs: [(0, 1, .sys, nil)],
      numaNodes: [3, 1, 7, 5]
    ),
    .init(
      file: "hwloc-xml_nvidia-dgx2-16xV100-nvswitch_v2.0-converted.xml",
      gpuCount: 16,
      name: "Tesla V100-SXM3-32GB-H",
      memoryBytes: 32_510 * Units.mebibyte,  // the catalog V100 32 GB (the XML has no memory size)
      pairs: [(0, 15, .nvswitch, 6), (0, 1, .nvswitch, 6)]
    ),
    .init(
      file: "hwloc-xml_power8-4xP100-nvlink_v2.0.xml",
      gpuCount: 4,
      name: "Tesla P100-SXM2-16GB",
      memoryBytes: 16_671_616 * 1024,
      pairs: [(0, 1, .nvlink, 2), (2, 3, .nvlink, 2), (0, 2, .sys, nil)],
      numaNodes: [0, 0, 1, 1]
    ),
  ]

  @Test(arguments: expectations)
  func parses(_ expected: Expectation) throws {
    let graph = try Self.graph(expected.file)
    #expect(graph.gpus.count == expected.gpuCount)
    #expect(graph.links.count == expected.gpuCount * (expected.gpuCount - 1) / 2)
    if let name = expected.name {
      #expect(graph.gpus.allSatisfy { $0.name == name }, "names: \(graph.gpus.map(\.name))")
    }
    if let memory = expected.memoryBytes {
      #expect(graph.gpus.allSatisfy { $0.memoryBytes == memory }, "\(graph.gpus.map(\.memoryBytes))")
    }
    for (a, b, kind, count) in expected.pairs {
      let link = try #require(graph.link(a, b))
      #expect(link.kind == kind, "GPU\(a)–GPU\(b)")
      #expect(link.nvlinkCount == count, "GPU\(a)–GPU\(b)")
      #expect(link.bandwidthBytesPerSecond > 0)
    }
    if let numa = expected.numaNodes {
      #expect(graph.gpus.map(\.numaNode) == numa.map { Optional($0) })
    }
  }

  @Test func everyCapturedFileIsCovered() throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: Repository.path("Topologies/captured"))
      .filter { $0.hasSuffix(".txt") || $0.hasSuffix(".xml") }
    let covered = Set(Self.expectations.map(\.file) + ["hwloc-xml_nvidia-dgx2-16xV100-nvswitch_v3.0.xml"])
    #expect(Set(files) == covered)
  }

  @Test func hwloc3XMLGetsAClearError() throws {
    #expect {
      _ = try Self.graph("hwloc-xml_nvidia-dgx2-16xV100-nvswitch_v3.0.xml")
    } throws: { error in
      guard let error = error as? InputError else { return false }
      return error.code == .unsupportedVersion && error.line == 3 && error.description.contains("3.0")
        && error.description.contains("--export-xml-flags v2")
    }
  }

  /// A broken hwloc XML gets the line and the cause from the project's XML
  /// reader, not libhwloc's bare "hwloc_topology_set_xml failed (errno 22)".
  @Test func brokenHwlocXMLNamesTheLine() throws {
    let folder = try SyntheticFiles.folder("hwloc-broken")
    let cases = [
      (
        "mismatched.xml",
        "<?xml version=\"1.0\"?>\n<topology version=\"2.0\">\n  <object type=\"Machine\">\n  </objekt>\n</topology>\n",
        4, "closes <object>"
      ),
      ("cut.xml", "<?xml version=\"1.0\"?>\n<topology version=\"2.0\">\n  <object type=\"Machine\">\n", nil, "object"),
    ]
    for (name, text, line, cause) in cases {
      let url = folder.appendingPathComponent(name)
      try text.write(to: url, atomically: true, encoding: .utf8)
      #expect {
        _ = try TopologyLoader(hwloc: .libhwloc).load([url.path])
      } throws: { error in
        guard let error = error as? InputError else { return false }
        return error.code == .malformed && (line == nil || error.line == line) && error.description.contains(cause)
          && !error.description.contains("errno")
      }
    }
  }

  @Test func rtx3090BridgeBandwidthIsFourLinksAtTheMeasuredRate() throws {
    let graph = try Self.graph("nvsmi-topo_2xRTX3090-NVLinkBridge-NV4_drv610_with-nvlink-status-and-p2p.txt")
    let link = try #require(graph.link(0, 1))
    // nvidia-smi nvlink -s: 4 links × 14.062 GB/s.
    #expect(link.bandwidthBytesPerSecond == 4 * 14_062_000_000)
    #expect(link.peerToPeer == true)
    #expect(graph.gpus[0].pciBusId?.description == "0000:17:00.0")
    #expect(graph.gpus[1].memoryUsedBytes == 23_106 * Units.mebibyte)
    #expect(graph.gpus[0].cpuAffinity == "4,6,9,15,17")
    #expect(graph.fastIslands() == [[0, 1]])
  }

  @Test func h100MeasuredRateAppliesToTheWholeNVSwitchFabric() throws {
    let graph = try Self.graph("nvsmi-topo_8xH100-SXM-NV18_with-nvlink-status-caps.txt")
    // GPU0's nvlink -s: 18 links × 26.562 GB/s; the other GPUs are the same model.
    let link = try #require(graph.link(3, 5))
    let expected: Int64 = 18 * 26_562_000_000
    #expect(link.bandwidthBytesPerSecond == expected)
    #expect(graph.fastIslands() == [Array(0...7)])
  }

  @Test func geforceWithoutPeerToPeerIsStagedThroughHostMemory() throws {
    let graph = try Self.graph("nvsmi-topo_2xRTX5090-PCIe-PHB_with-p2p-GNS.txt")
    let link = try #require(graph.link(0, 1))
    #expect(link.peerToPeer == false)
    // Model unknown: Gen4 x16 assumed (31.5 GB/s), halved for host staging.
    #expect(link.bandwidthBytesPerSecond == (PCIeRates.bytesPerSecond(generation: 4, lanes: 16) ?? 0) / 2)
  }

  @Test func a100PCIeBridgedPairsAreDirectNVLinkNotNVSwitch() throws {
    let graph = try Self.graph("nvsmi-topo_4xA100-PCIe-two-NVLink-bridged-pairs-NV12_old-format.txt")
    #expect(graph.fastIslands() == [[0, 1]])
    #expect(graph.hosts[0].nics.map(\.name) == ["mlx5_0", "mlx5_1"])
    #expect(graph.hosts[0].nics[0].closestGPUs == [0, 1])
  }

  @Test func nicLegendNamesNumberedColumns() throws {
    let graph = try Self.graph("nvsmi_4xA100-SXM4-80GB_query-topo-nvlink_drv580.txt")
    #expect(graph.hosts[0].nics.map(\.name) == ["rocep49s0"])
    #expect(graph.gpus.allSatisfy { $0.computeCapability == "8.0" && $0.nvlinkCount == 12 })
    // 12 links × 25 GB/s (nvidia-smi nvlink -s).
    #expect(graph.link(0, 1)?.bandwidthBytesPerSecond == 300_000_000_000)
  }

  @Test func migInstancesAreRead() throws {
    let list = try Self.graph("nvsmi-L_8xH100-80GB-HBM3_MIG-7x1g.10gb-each.txt")
    #expect(list.gpus.allSatisfy { $0.migEnabled == true && $0.migInstances.count == 7 })
    #expect(list.gpus[0].uuid == "GPU-63d1e50a-b952-d15c-0740-12bc14859142")
    #expect(list.gpus[0].migInstances[0].uuid == "MIG-4d0efb7d-0970-51d9-b761-0686be6b8af3")
    #expect(list.gpus[0].migInstances[0].profile == "1g.10gb")
    let xml = try Self.graph("nvsmi-q-x_1xA100-SXM4-40GB_MIG-2x3g_passthrough_drv510.xml")
    let gpu = xml.gpus[0]
    #expect(gpu.migEnabled == true)
    #expect(gpu.migInstances.map(\.memoryBytes) == [19_968 * Units.mebibyte, 19_968 * Units.mebibyte])
    #expect(gpu.migInstances.map(\.multiprocessors) == [42, 42])
    #expect(gpu.memoryUsedBytes == 38 * Units.mebibyte)
    #expect(gpu.pcieGeneration == 4 && gpu.pcieWidth == 16)
    #expect(gpu.pciBusId?.description == "0000:00:04.0")
  }

  @Test func queryTextGivesBusIdsInPCIOrder() throws {
    let graph = try Self.graph("nvsmi-q_8xH100-SXM-80GB_drv565.txt")
    #expect(
      graph.gpus.map { $0.pciBusId?.description ?? "" } == [
        "0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0", "0000:5d:00.0", "0000:9a:00.0", "0000:ab:00.0",
        "0000:ba:00.0", "0000:db:00.0",
      ]
    )
    #expect(graph.gpus.allSatisfy { $0.pcieGeneration == 5 && $0.memoryUsedBytes == Units.mebibyte })
  }

  @Test func ncclNVSwitchTargetsAndNICs() throws {
    let graph = try Self.graph("nccl-topo_ibmcloud-gx3d-8xH100-vsi_4nvswitch.xml")
    #expect(graph.hosts[0].nvswitchCount == 4)
    #expect(graph.gpus.allSatisfy { $0.nvlinkCount == 18 && $0.computeCapability == "9.0" })
    #expect(graph.hosts[0].nics.count == 8)
    // 200000 Mb/s per port.
    #expect(graph.hosts[0].nics.allSatisfy { $0.bandwidthBytesPerSecond == 25_000_000_000 })
    #expect(graph.link(0, 1)?.bandwidthBytesPerSecond == 450_000_000_000)
  }

  @Test func dgx2NVSwitchBandwidthFromHwlocDistances() throws {
    let graph = try Self.graph("hwloc-xml_nvidia-dgx2-16xV100-nvswitch_v2.0-converted.xml")
    #expect(graph.hosts[0].nvswitchCount == 12)
    // 6 links × 25000 MB/s after merging switch ports.
    #expect(graph.links.allSatisfy { $0.bandwidthBytesPerSecond == 150_000_000_000 })
    #expect(graph.fastIslands() == [Array(0..<16)])
  }
}
