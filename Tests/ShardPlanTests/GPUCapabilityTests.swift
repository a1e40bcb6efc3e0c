import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// GPU capabilities constrain plans and launch files (issue 12, item 7): a card
/// without bf16 (compute capability below 8.0) gets fp16, priced at its fp16 figure.
@Suite("GPU capabilities")
struct GPUCapabilityTests {
  static let yaml = """
    name: 2x-t4
    hosts:
      - name: box
        ram: 64 GiB
        gpus:
          - model: t4
          - model: t4
    """

  @Test func t4PlansInFP16() throws {
    let graph = try TopologyLoader().graph(fromTopologyFile: Self.yaml, source: "2x-t4.yaml")
    #expect(graph.gpus.allSatisfy { !$0.hasBF16 })
    let model = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.2-1B")
    let planner = try Planner(graph: graph)  // priced at the T4's 65 fp16 TFLOPS, not refused
    let plan = planner.plan(InferenceRequest(model: model, weights: .asStored(model), context: 4096))
    let workload = try #require(plan.workloads.first)
    #expect(workload.weights == .converted(.float(.f16)) && workload.kvCache == .f16)
    #expect(plan.assumptions.contains { $0.contains("has no bf16") })
    let files = try Emitter(plan: plan, graph: graph, models: ["default": model], origin: "test").emit([.vllm])
    let script = try #require(files.first).contents
    #expect(script.contains("--dtype float16") && script.contains("--kv-cache-dtype float16"))
    #expect(!script.contains("bfloat16"))
    // Same bytes: fp16 is bf16's size.
    #expect(workload.gpuShares.map(\.weightBytes).reduce(0, +) >= model.weightBytes)
  }

  @Test func validateRefusesBF16OnAT4() throws {
    let folder = try SyntheticFiles.folder("t4-layout")
    defer { try? FileManager.default.removeItem(at: folder) }
    let topology = folder.appendingPathComponent("2x-t4.yaml")
    try Self.yaml.write(to: topology, atomically: true, encoding: .utf8)
    let layout = """
      topology: \(topology.path)
      workloads:
        - role: chat
          model: meta-llama/Llama-3.2-1B
          engine: vllm
          kvCache: bf16
          context: 4096
          stages:
            - devices: [0]
              layers: 0-15
      """
    let report = LayoutValidator(models: ModelLoader(environment: [:]), topologies: TopologyLoader())
      .validate(layout, source: "l.yaml")
    #expect(report.findings.contains { $0.message.contains("has no bf16") })
  }
}
