import Foundation
import ShardPlan
import ShardPlanHwloc
import Testing
import _ShardPlanTestSupport

@Suite("Live sources and captures listed in topology files")
struct LiveSourcesTests {
  /// A stand-in `nvidia-smi` (a shell script) that prints captured outputs, so the
  /// live path — finding the executable, running it, reading its output — runs for real.
  static func fakeNvidiaSmi() throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "shardplan-fake-smi-\(getpid())-\(UUID().uuidString)"
    )
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let captured = Repository.path("Topologies/captured")
    let script = """
      #!/bin/sh
      case "$1" in
        --query-gpu=*) echo "index, name, uuid, pci.bus_id, memory.total [MiB], memory.used [MiB], memory.free [MiB], compute_cap"
                       echo "0, NVIDIA GeForce RTX 3090, GPU-1aff65f8-8897-eaee-29e4-6871ef7491a0, 00000000:17:00.0, 24576 MiB, 23074 MiB, 1502 MiB, 8.6"
                       echo "1, NVIDIA GeForce RTX 3090, GPU-fef3f583-99bd-ac7f-c761-eddb679067e0, 00000000:65:00.0, 24576 MiB, 23106 MiB, 1470 MiB, 8.6" ;;
        topo) sed -n '12,24p' "\(captured)/nvsmi-topo_2xRTX3090-NVLinkBridge-NV4_drv610_with-nvlink-status-and-p2p.txt" ;;
        nvlink) sed -n '1,10p' "\(captured)/nvsmi-topo_2xRTX3090-NVLinkBridge-NV4_drv610_with-nvlink-status-and-p2p.txt" ;;
        *) exit 9 ;;
      esac
      """
    let path = folder.appendingPathComponent("nvidia-smi").path
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    return path
  }

  @Test func localRunsNvidiaSmiAndJoinsItWithHwloc() throws {
    let loader = TopologyLoader(
      hwloc: .libhwloc,
      queryFields: nil,
      assumedGPUModel: nil,
      nvidiaSmi: NvidiaSmiRunner(executable: try Self.fakeNvidiaSmi())
    )
    let graph = try loader.load(["local"])
    #expect(graph.gpus.count == 2)
    #expect(graph.gpus.map(\.name) == ["NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 3090"])
    #expect(graph.gpus[1].memoryUsedBytes == 23_106 * Units.mebibyte)
    #expect(graph.link(0, 1)?.kind == .nvlink)
    #expect(graph.link(0, 1)?.bandwidthBytesPerSecond == Int64(4) * 14_062_000_000)
    // hwloc contributed this machine's CPUs and NUMA nodes.
    #expect((graph.hosts[0].cpuCount ?? 0) >= 1)
    #expect(graph.sources.contains("hwloc (this machine)"))
  }

  @Test func aHungNvidiaSmiIsStopped() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shardplan-hung-smi-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let path = folder.appendingPathComponent("nvidia-smi").path
    try "#!/bin/sh\nexec sleep 30\n".write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    let start = Date()
    // Waited for on a thread of its own, so that the test's sleeping child holds
    // no thread of the pool the other tests run on.
    let outputs = await withCheckedContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(returning: NvidiaSmiRunner(timeoutSeconds: 0.5, executable: path).capture())
      }
    }
    #expect(outputs.isEmpty)
    // Without the timeout the three calls would take the sleep's 30 s each (90 s);
    // the bound leaves room for a loaded machine (runs took 11 s, then 27 s once the
    // hostile corpus ran 143 binaries beside it on two cores).
    #expect(Date().timeIntervalSince(start) < 60)
  }

  @Test func thisMachinesNetworkDevicesAreSeenThroughIODiscovery() throws {
    let facts = try HwlocTopology.discoverLocal()
    // Every network interface backed by a PCI device in sysfs must be among hwloc's NICs.
    let interfaces = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []
    let pciBacked = interfaces.filter { name in
      let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/sys/class/net/\(name)/device")) ?? ""
      return target.contains("0000:")
    }
    for name in pciBacked {
      #expect(facts.nics.contains { $0.name == name }, "\(name) missing from \(facts.nics.map(\.name))")
    }
  }

  @Test func topologyFileHostsFromCaptures() throws {
    let graph = try TopologyLoader(hwloc: .libhwloc).load([Repository.path("Examples/two-captured-nodes.yaml")])
    #expect(graph.hosts.map(\.name) == ["node0", "node1"])
    #expect(graph.gpus.count == 8)
    #expect(graph.gpus.allSatisfy { $0.memoryBytes == 81_920 * Units.mebibyte })
    #expect(graph.link(0, 4)?.kind == .network)
    #expect(graph.link(0, 4)?.bandwidthBytesPerSecond == 25_000_000_000)
    #expect(graph.link(4, 7)?.bandwidthBytesPerSecond == 300_000_000_000)
    #expect(graph.closestNICs(toGPU: 5).first?.name == "rocep49s0")
    #expect(graph.conflicts.isEmpty)
  }

  @Test func capturesOfTwoDifferentMachinesConflict() throws {
    let graph = try TopologyLoader(hwloc: .libhwloc).load([
      Repository.path("Topologies/captured/nvsmi-topo_8xH100-SXM-NV18_with-nvlink-status-caps.txt"),
      Repository.path("Topologies/captured/nvsmi-q_8xH100-SXM-80GB_drv565.txt"),
    ])
    let conflict = try #require(graph.conflicts.first)
    #expect(conflict.subject == "GPU 0 UUID")
    #expect(conflict.kept.contains("GPU-5a10e6e5") && conflict.ignored.contains("GPU-b42dd28e"))
  }
}
