import ShardPlan
import ShardPlanHwloc
import Testing
import _ShardPlanTestSupport

@Suite("hwloc on this machine")
struct LiveHwlocTests {
  @Test func discoversThisMachine() throws {
    let facts = try HwlocTopology.discoverLocal()
    // This machine has at least one CPU and one NUMA node with memory.
    #expect((facts.cpuCount ?? 0) >= 1)
    #expect(!facts.numaNodes.isEmpty)
    #expect(facts.numaNodes.allSatisfy { ($0.memoryBytes ?? 0) > 0 })
    #expect(HwlocTopology.runtimeAPIVersion.hasPrefix("2."))
  }

  @Test func localGraphStatesPlainlyWhenThereIsNoGPU() throws {
    // No nvidia-smi on the test machines: the executable path points nowhere.
    let loader = TopologyLoader(
      hwloc: .libhwloc,
      queryFields: nil,
      assumedGPUModel: nil,
      nvidiaSmi: NvidiaSmiRunner(executable: "/nonexistent/nvidia-smi")
    )
    let graph = try loader.load(["local"])
    #expect(graph.hosts.count == 1)
    if graph.gpus.isEmpty {
      #expect(graph.tableText().contains("No NVIDIA GPU found"))
    }
  }
}
