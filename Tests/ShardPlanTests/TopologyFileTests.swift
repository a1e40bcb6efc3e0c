import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

@Suite("Topology files and bundled topologies")
struct TopologyFileTests {
  static let requiredNames = [
    "2x-rtx-pro-6000-blackwell", "desktop-rtx-3060-12gb", "2x-rtx-3090-nvlink", "4x-rtx-4090", "8x-h100-sxm",
    "8x-h200", "8x-a100-sxm", "8x-b200", "2x8-h100-ib", "4x8-h100-ib",
  ]

  @Test(arguments: requiredNames)
  func bundledTopologyLoads(_ name: String) throws {
    let graph = try TopologyLoader().load([name])
    #expect(!graph.gpus.isEmpty)
    #expect(graph.links.count == graph.gpus.count * (graph.gpus.count - 1) / 2)
    #expect(graph.gpus.allSatisfy { $0.memoryBytes != nil && $0.model != nil })
  }

  @Test func embeddedCopiesMatchTheFiles() throws {
    for name in BundledTopologies.names {
      let onDisk = try Repository.text("Topologies/\(name).yaml")
      let embedded = try #require(BundledTopologies.text(named: name))
      #expect(
        embedded.trimmingWhitespace()
          == onDisk.textLines().map { $0.trimmingWhitespaceAtEnd() }.joined(separator: "\n")
          .trimmingWhitespace(),
        "\(name): run Scripts/embed-topologies.sh"
      )
    }
    #expect(Set(Self.requiredNames).isSubset(of: Set(BundledTopologies.names)))
  }

  @Test func workstationPairIsPCIeGen5() throws {
    let graph = try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"])
    let link = try #require(graph.link(0, 1))
    #expect(link.kind == .phb)
    #expect(link.bandwidthBytesPerSecond == PCIeRates.bytesPerSecond(generation: 5, lanes: 16))
    #expect(graph.gpus.allSatisfy { $0.memoryBytes == 97_887 * Units.mebibyte })
    #expect(graph.hosts[0].ramBandwidthBytesPerSecond == 332_800_000_000)
  }

  @Test func h100NodeIsOneNVSwitchIsland() throws {
    let graph = try TopologyLoader().load(["8x-h100-sxm"])
    #expect(graph.fastIslands() == [Array(0..<8)])
    #expect(graph.links.allSatisfy { $0.kind == .nvswitch && $0.bandwidthBytesPerSecond == 450_000_000_000 })
    #expect(graph.gpus(onHost: 0, numaNode: 1) == [4, 5, 6, 7])
  }

  @Test func multiNodeUsesTheNetworkBetweenHosts() throws {
    let graph = try TopologyLoader().load(["4x8-h100-ib"])
    #expect(graph.hosts.count == 4)
    #expect(graph.gpus.count == 32)
    let across = try #require(graph.link(0, 8))
    #expect(across.kind == .network)
    #expect(across.bandwidthBytesPerSecond == 50_000_000_000)  // 400 Gb/s
    #expect(across.latencySeconds == 2e-6)
    #expect(graph.link(8, 15)?.kind == .nvswitch)
    #expect(graph.fastIslands().count == 4)
  }

  @Test func geforceCardsWithoutP2PAreStaged() throws {
    let graph = try TopologyLoader().load(["4x-rtx-4090"])
    #expect(graph.links.allSatisfy { $0.peerToPeer == false })
    #expect(graph.link(0, 3)?.bandwidthBytesPerSecond == (PCIeRates.bytesPerSecond(generation: 4, lanes: 16) ?? 0) / 2)
  }

  @Test func typoInAKeyNamesTheLineAndSuggestsTheKey() throws {
    let yaml = """
      name: t
      hosts:
        - name: a
          gpus:
            - modle: h100-sxm
      """
    #expect {
      _ = try TopologyFile.read(yaml, source: "t.yaml")
    } throws: { error in
      guard let error = error as? InputError else { return false }
      return error.line == 5 && error.description.contains("unknown key 'modle'")
        && error.description.contains("Did you mean 'model'?")
    }
  }

  @Test func unknownModelAndBadSizes() throws {
    #expect(throws: InputError.self) {
      _ = try TopologyFile.read("hosts:\n  - gpus:\n      - model: h900\n", source: "t.yaml")
    }
    #expect(throws: InputError.self) {
      _ = try TopologyFile.read("hosts:\n  - gpus:\n      - memory: lots\n", source: "t.yaml")
    }
    #expect(throws: InputError.self) {
      _ = try TopologyFile.read("hosts:\n  - gpus:\n      - {model: l4, memoryUsed: 30 GiB}\n", source: "t.yaml")
    }
  }

  @Test func explicitCardsMatricesAndUsedMemory() throws {
    let yaml = """
      name: custom
      hosts:
        - name: box
          ram: 64 GiB
          gpus:
            - {name: Custom 48, memory: 48 GiB, memoryBandwidth: 960 GB/s, bf16TFLOPS: 364, pcieGeneration: 4}
            - {model: rtx-a6000, memoryUsed: 2 GiB}
          links:
            matrix: |
              GPU0 GPU1
              GPU0 X NV4
              GPU1 NV4 X
      """
    let contents = try TopologyFile.read(yaml, source: "t.yaml")
    let graph = DeviceGraphBuilder.build(name: contents.name, hosts: contents.hosts)
    #expect(graph.gpus[0].memoryBytes == 48 << 30)
    #expect(graph.gpus[0].bf16TFLOPS == 364)
    // The catalog A6000's 49140 MiB, less the 2 GiB in use.
    #expect(graph.gpus[1].memoryAvailableBytes == Int64(49_140 << 20) - Int64(2 << 30))
    #expect(graph.link(0, 1)?.nvlinkCount == 4)
  }

  @Test func yamlOutputReadsBack() throws {
    for name in ["2x-rtx-3090-nvlink", "8x-h100-sxm", "2x8-h100-ib"] {
      let graph = try TopologyLoader().load([name])
      let again = try TopologyFile.read(graph.topologyYAMLText(), source: "\(name).yaml")
      let rebuilt = DeviceGraphBuilder.build(name: again.name, hosts: again.hosts)
      #expect(rebuilt.gpus.map(\.memoryBytes) == graph.gpus.map(\.memoryBytes))
      #expect(rebuilt.links.map(\.kind) == graph.links.map(\.kind))
      #expect(rebuilt.links.map(\.bandwidthBytesPerSecond) == graph.links.map(\.bandwidthBytesPerSecond))
    }
  }

  @Test func catalogNamesMatchNvidiaSmiProductNames() {
    let cases = [
      ("NVIDIA H100 80GB HBM3", "h100-sxm"), ("NVIDIA A100-SXM4-80GB", "a100-sxm-80gb"),
      ("NVIDIA A100-SXM4-40GB", "a100-sxm-40gb"), ("NVIDIA GeForce RTX 3090", "rtx-3090"), ("NVIDIA L4", "l4"),
      ("NVIDIA L40S", "l40s"), ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "rtx-pro-6000-blackwell"),
      ("NVIDIA RTX 6000 Ada Generation", "rtx-6000-ada"), ("Tesla V100-SXM3-32GB-H", "v100-32gb"),
      ("NVIDIA H100 PCIe", "h100-pcie"), ("NVIDIA GeForce RTX 5080", "rtx-5080"),
    ]
    for (name, id) in cases {
      #expect(GPUCatalog.spec(matchingProductName: name)?.id == id, "\(name)")
    }
    #expect(GPUCatalog.spec(matchingProductName: "Matrox G200") == nil)
    #expect(GPUCatalog.all.allSatisfy { !$0.source.isEmpty && $0.memoryBytes > 0 })
    #expect(Set(GPUCatalog.all.map(\.id)).count == GPUCatalog.all.count)
  }
}
